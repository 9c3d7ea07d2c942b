/** Compiles a glob (`*` any run of characters, `?` one character) into an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\*?]/g, char =>
    char === '*' ? '.*' : char === '?' ? '.' : `\\${char}`
  );
  return new RegExp(`^${body}$`, 'su');
}

/** A predicate for a server's `tools: { allow, deny }` filter: deny wins; no allow list allows all. */
export function toolFilter(filter: {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}): (tool: string) => boolean {
  const allow = filter.allow?.map(globToRegExp);
  const deny = (filter.deny ?? []).map(globToRegExp);
  return tool => (allow === undefined || allow.some(r => r.test(tool))) && !deny.some(r => r.test(tool));
}
