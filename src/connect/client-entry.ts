/** The clients `connect` knows. */
export const CLIENTS = ['claude-code', 'claude-desktop', 'cursor', 'vscode'] as const;
export type ClientName = (typeof CLIENTS)[number];
/** How each client calls itself. */
export const CLIENT_TITLES: Readonly<Record<ClientName, string>> = {
  'claude-code': 'Claude Code',
  'claude-desktop': 'Claude Desktop',
  cursor: 'Cursor',
  vscode: 'VS Code'
};

/** The name the gateway gets in the client's list of servers. */
export const ENTRY_NAME = 'gateway';
/** VS Code's input that holds the token: the editor prompts once and keeps it in its secret storage. */
export const VSCODE_TOKEN_INPUT = 'mcp-gateway-token';

/** How one client is pointed at the gateway. */
export interface ClientEntry {
  /** The key of the servers object in the client's file: `mcpServers`, or VS Code's `servers`. */
  readonly key: 'mcpServers' | 'servers';
  /** The gateway's entry under it. */
  readonly entry: Record<string, unknown>;
  /** VS Code only: inputs the entry refers to. */
  readonly inputs?: readonly Record<string, unknown>[];
  /** What to print: a command line, or the JSON to paste into the file. */
  readonly text: string;
  /** How this entry reaches the gateway, for the person reading it. */
  readonly note: string;
}

/**
 * The client configuration that points `client` at the gateway's `url`, sending `token` as a
 * bearer token when given. Claude Code, Cursor and VS Code speak Streamable HTTP themselves;
 * Claude Desktop's config file takes only stdio servers, so its entry runs `mcp-remote` as a
 * stdio-to-HTTP bridge. VS Code's entry names the token through a password input rather than
 * holding it, since `.vscode/mcp.json` is often committed.
 */
export function clientEntry(client: ClientName, url: string, token: string | undefined): ClientEntry {
  const headers = token === undefined ? undefined : { Authorization: `Bearer ${token}` };
  switch (client) {
    case 'claude-code': {
      const entry = { type: 'http', url, ...(headers && { headers }) };
      const header = token === undefined ? '' : ` --header ${shellQuote(`Authorization: Bearer ${token}`)}`;
      return {
        key: 'mcpServers',
        entry,
        text: `claude mcp add --transport http --scope user ${ENTRY_NAME} ${shellQuote(url)}${header}\n`,
        note: 'Claude Code connects over Streamable HTTP; check with `claude mcp list`'
      };
    }
    case 'cursor': {
      const entry = { url, ...(headers && { headers }) };
      return {
        key: 'mcpServers',
        entry,
        text: json({ mcpServers: { [ENTRY_NAME]: entry } }),
        note: 'Cursor connects over Streamable HTTP'
      };
    }
    case 'vscode': {
      const entry = {
        type: 'http',
        url,
        ...(token !== undefined && { headers: { Authorization: `Bearer \${input:${VSCODE_TOKEN_INPUT}}` } })
      };
      const inputs =
        token === undefined
          ? []
          : [
              {
                type: 'promptString',
                id: VSCODE_TOKEN_INPUT,
                description: 'mcp-gateway bearer token',
                password: true
              }
            ];
      return {
        key: 'servers',
        entry,
        inputs,
        text: json({ ...(inputs.length > 0 && { inputs }), servers: { [ENTRY_NAME]: entry } }),
        note:
          'VS Code connects over Streamable HTTP' +
          (token === undefined
            ? ''
            : '; it asks for the token once (the input "mcp-gateway-token") and stores it itself')
      };
    }
    case 'claude-desktop': {
      const local = /^http:\/\/(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?::|\/)/.test(url);
      const args = [
        '-y',
        'mcp-remote',
        url,
        ...(url.startsWith('http:') && !local ? ['--allow-http'] : []),
        // mcp-remote expands ${AUTH_HEADER} itself; a header in env survives clients that split args on spaces.
        ...(token === undefined ? [] : ['--header', 'Authorization:${AUTH_HEADER}'])
      ];
      const entry = {
        command: 'npx',
        args,
        ...(token !== undefined && { env: { AUTH_HEADER: `Bearer ${token}` } })
      };
      return {
        key: 'mcpServers',
        entry,
        text: json({ mcpServers: { [ENTRY_NAME]: entry } }),
        note:
          "Claude Desktop's config file takes only stdio servers: this entry runs `npx mcp-remote` (needs Node.js) " +
          'as a bridge to the gateway. The other route is Settings → Connectors → Add custom connector with the URL, ' +
          'which needs a public HTTPS URL and gateway.auth.mode: oauth (see Security)'
      };
    }
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `text` as one POSIX shell word. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
