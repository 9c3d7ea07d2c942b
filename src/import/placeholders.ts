/** Where a client's `${…}` placeholders point, for the ones that name a place rather than a value. */
export interface PlaceholderContext {
  /** VS Code's `${workspaceFolder}`: the folder holding `.vscode/`. */
  readonly workspaceFolder: string;
  /** VS Code's `${userHome}`. */
  readonly home: string;
  /**
   * Whether a bare `${NAME}` is an environment variable (Claude Code) rather than one of the
   * editor's own variables (VS Code, where the environment is `${env:NAME}`).
   */
  readonly bareIsEnvironment: boolean;
  /**
   * Whether Claude Code's `${NAME:-default}` keeps its default in servers.yaml (which reads the same
   * syntax); without this, every default is kept. A default dropped leaves `${NAME}`.
   */
  readonly keepsDefault?: (name: string, fallback: string) => boolean;
}

/** A variable a converted value refers to, and how the client had filled it. */
export interface VariableReference {
  readonly name: string;
  readonly source: 'environment' | 'input';
  /** For `input`: the VS Code input's id. */
  readonly input?: string;
  /** `${NAME:-default}`'s default, and whether the converted text kept it. */
  readonly fallback?: { readonly text: string; readonly kept: boolean };
}

export interface ConvertedValue {
  /** The value in servers.yaml's syntax: variables as `${NAME}`. */
  readonly text: string;
  readonly references: readonly VariableReference[];
  /** Placeholders this converter does not know; left as they were. */
  readonly unknown: readonly string[];
}

/** A VS Code input id as an environment variable name: `github-token` → `GITHUB_TOKEN`. */
export function variableName(text: string): string {
  const name = text.toUpperCase().replace(/[^A-Z0-9_]+/g, '_');
  return /^[A-Z_]/.test(name) ? name : `_${name}`;
}

/**
 * Rewrites a client's placeholders into servers.yaml's `${NAME}` (read from the gateway's
 * environment): VS Code's `${env:X}` and `${input:id}`, Claude Code's `${X}` and `${X:-default}`
 * (the default kept unless `keepsDefault` says no); `${workspaceFolder}` and `${userHome}` become paths. Any other
 * placeholder is left as it is and listed in `unknown`.
 */
export function convertPlaceholders(value: string, context: PlaceholderContext): ConvertedValue {
  const references: VariableReference[] = [];
  const unknown: string[] = [];
  const text = value.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
    if (inner === 'workspaceFolder') return context.workspaceFolder;
    if (inner === 'userHome') return context.home;
    const env =
      /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner) ??
      (context.bareIsEnvironment ? /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner) : null);
    if (env) {
      const name = env[1]!;
      const fallback = env[2];
      if (fallback === undefined) {
        references.push({ name, source: 'environment' });
        return `\${${name}}`;
      }
      const kept = context.keepsDefault?.(name, fallback) ?? true;
      references.push({ name, source: 'environment', fallback: { text: fallback, kept } });
      return kept ? `\${${name}:-${fallback}}` : `\${${name}}`;
    }
    const input = /^input:(.+)$/.exec(inner);
    if (input) {
      const name = variableName(input[1]!);
      references.push({ name, source: 'input', input: input[1]! });
      return `\${${name}}`;
    }
    unknown.push(whole);
    return whole;
  });
  return { text, references, unknown };
}
