import type { CallToolResult, StandardSchemaV1 } from '@modelcontextprotocol/client';
import { isObject } from '../connectors/is-object.js';

/**
 * The check the gateway applies to a server's `tools/call` result before passing it on, as the
 * result schema of the upstream request (a Standard Schema, which the SDK's `request` accepts).
 *
 * It checks the shape the gateway relies on: an object whose `content` (default `[]`, as in the
 * SDK's `CallToolResultSchema`) is a list of objects each with a string `type`, whose `isError` is
 * a boolean and whose `_meta` is an object when present. It does not re-validate every content block
 * against the specification's schemas: the gateway relays results without reading them, and the
 * calling client validates them against its own protocol version. The SDK's default validator
 * (the full zod schema, plus a failing probe parse on every request) cost more than any other step
 * of a relayed call.
 */
export const CallToolResultShape: StandardSchemaV1<unknown, CallToolResult> = {
  '~standard': {
    version: 1,
    vendor: 'mcp-gateway',
    validate(value) {
      const problem = problemOf(value);
      if (problem !== undefined) return { issues: [{ message: problem }] };
      const result = value as CallToolResult;
      return { value: result.content === undefined ? { ...result, content: [] } : result };
    }
  }
};

function problemOf(value: unknown): string | undefined {
  if (!isObject(value)) return 'the result is not an object';
  const { content, isError, _meta } = value;
  if (content !== undefined) {
    if (!Array.isArray(content)) return '`content` is not a list';
    for (let i = 0; i < content.length; i++) {
      const block: unknown = content[i];
      if (!isObject(block) || typeof block.type !== 'string') return `content[${i}] has no string \`type\``;
    }
  }
  if (isError !== undefined && typeof isError !== 'boolean') return '`isError` is not a boolean';
  if (_meta !== undefined && !isObject(_meta)) return '`_meta` is not an object';
  return undefined;
}
