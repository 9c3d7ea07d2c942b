import { FIXTURE_SERVER } from './gateway-process.js';

/**
 * A servers.yaml with the fixture server as `fixture` (a local process), and `gateway` settings
 * given as YAML lines indented by two spaces (none: the defaults).
 */
export function fixtureConfig(...gatewayLines: string[]): string {
  return `${gatewayLines.length > 0 ? `gateway:\n${gatewayLines.map(line => `  ${line}`).join('\n')}\n` : ''}servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`;
}
