import { describe, expect, it } from 'vitest';
import { formatProblem, parseConfig } from '../../src/config/load-config.js';

const FILE = '/etc/gateway/servers.yaml';
const problemsOf = (text: string) => {
  const result = parseConfig(text, FILE, { env: {} });
  return result.ok ? [] : result.problems.map(formatProblem);
};

const SERVERS = `servers:
  git:
    command: [git-mcp]
  time:
    command: [time-mcp]
`;

describe('profiles: in servers.yaml', () => {
  it('reads profiles with their defaults', () => {
    const result = parseConfig(
      `${SERVERS}profiles:
  dev:
    servers: [git, time]
    tools: { deny: ['git__push*'] }
  research:
    servers: [time]
    expose: search
    maxToolNameLength: 40
`,
      FILE,
      { env: {} }
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.raw.profiles).toEqual({
      dev: {
        servers: ['git', 'time'],
        tools: { deny: ['git__push*'] },
        // Left out: the gateway's expose applies.
        maxToolNameLength: 64
      },
      research: { servers: ['time'], expose: 'search', maxToolNameLength: 40 }
    });
  });

  it('locates an unknown server id, naming the known ones', () => {
    expect(problemsOf(`${SERVERS}profiles:\n  dev:\n    servers: [git, gti]\n`)).toEqual([
      `${FILE}:8:20: profiles.dev.servers.1: profile dev names server "gti", which is not in servers (known: git, time); fix the id or add the server`
    ]);
  });

  it('refuses a name that is not URL-safe, a bad expose and a maxToolNameLength out of bounds', () => {
    const problems = problemsOf(
      `${SERVERS}profiles:\n  "dev/x":\n    servers: [git]\n  ok:\n    servers: [git]\n    expose: some\n    maxToolNameLength: 8\n`
    );
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(
      /^\/etc\/gateway\/servers\.yaml:7:3: .*a profile name is 1-32 of \[a-z0-9_-\]/
    );
    expect(problems.join('\n')).toContain('expose must be all or search');
    expect(problems.join('\n')).toContain('maxToolNameLength must be at least 16');
  });
});
