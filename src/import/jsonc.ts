/** A string literal, a line comment, or a block comment. */
const STRING_OR_COMMENT = /"(?:\\.|[^"\\])*"|\/\/[^\n]*|\/\*[\s\S]*?\*\//g;
/** A string literal, or a comma followed by nothing but whitespace before `}` or `]`. */
const STRING_OR_TRAILING_COMMA = /"(?:\\.|[^"\\])*"|,(?=\s*[}\]])/g;

/**
 * Parses JSON with comments and trailing commas (JSONC), as VS Code's `mcp.json` and
 * `settings.json` allow; plain JSON parses the same. Throws a SyntaxError for anything else.
 * Comments and commas become spaces, so positions in errors stay those of the file.
 */
export function parseJsonc(text: string): unknown {
  const blank = (match: string) => (match.startsWith('"') ? match : match.replace(/[^\n]/g, ' '));
  return JSON.parse(
    text
      .replace(/^\uFEFF/, '')
      .replace(STRING_OR_COMMENT, blank)
      .replace(STRING_OR_TRAILING_COMMA, blank)
  );
}
