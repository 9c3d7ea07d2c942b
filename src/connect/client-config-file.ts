import path from 'node:path';
import type { ClientName } from './client-entry.js';

/**
 * Where `client` keeps its MCP servers for this user: Claude Code's user scope in
 * `~/.claude.json`, Claude Desktop's `claude_desktop_config.json` (macOS, Windows; on Linux the
 * `~/.config/Claude` of its unofficial builds), Cursor's `~/.cursor/mcp.json`, and VS Code's
 * workspace file `.vscode/mcp.json` under `cwd`.
 */
export function clientConfigFile(
  client: ClientName,
  where: { home: string; cwd: string; platform: NodeJS.Platform; appData?: string | undefined }
): string {
  switch (client) {
    case 'claude-code':
      return path.join(where.home, '.claude.json');
    case 'cursor':
      return path.join(where.home, '.cursor', 'mcp.json');
    case 'vscode':
      return path.join(where.cwd, '.vscode', 'mcp.json');
    case 'claude-desktop':
      if (where.platform === 'darwin') {
        return path.join(
          where.home,
          'Library',
          'Application Support',
          'Claude',
          'claude_desktop_config.json'
        );
      }
      if (where.platform === 'win32') {
        return path.join(
          where.appData ?? path.join(where.home, 'AppData', 'Roaming'),
          'Claude',
          'claude_desktop_config.json'
        );
      }
      return path.join(where.home, '.config', 'Claude', 'claude_desktop_config.json');
  }
}
