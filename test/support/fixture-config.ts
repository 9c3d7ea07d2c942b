import { FIXTURE_SERVER } from './gateway-process.js';

/**
 * A servers.yaml with the fixture server as `fixture` (a local process), and the `gateway` settings
 * given, one YAML line each (`'auth: { mode: token }'`); none leaves every default.
 */
export function fixtureConfig(...gatewayLines: string[]): string {
  return `${gatewayLines.length > 0 ? `gateway:\n${gatewayLines.map(line => `  ${line}`).join('\n')}\n` : ''}servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`;
}
