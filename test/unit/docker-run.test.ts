import { describe, expect, it } from 'vitest';
import { parseDockerRun } from '../../src/import/docker-run.js';
import { toServerId } from '../../src/import/server-id.js';

describe('parseDockerRun', () => {
  it('reads the options servers.yaml has keys for, the image and its arguments', () => {
    expect(
      parseDockerRun('docker', [
        'run',
        '-it',
        '--rm',
        '-e',
        'A=1',
        '--env=B',
        '-v',
        '/h:/c:ro',
        '--network',
        'none',
        '-u',
        '1000',
        '--memory=256m',
        '--cpus',
        '0.5',
        '--pids-limit',
        '64',
        '--read-only',
        '--name',
        'x',
        'mcp/time',
        '--local-timezone',
        'UTC'
      ])
    ).toEqual({
      image: 'mcp/time',
      command: ['--local-timezone', 'UTC'],
      env: [{ key: 'A', value: '1' }, { key: 'B' }],
      envFiles: [],
      volumes: ['/h:/c:ro'],
      network: 'none',
      user: '1000',
      memory: '256m',
      cpus: '0.5',
      pids: '64',
      readOnly: true,
      ignored: ['--name x']
    });
  });

  it('is undefined for other commands and a run without an image', () => {
    expect(parseDockerRun('npx', ['run', 'x'])).toBeUndefined();
    expect(parseDockerRun('docker', ['ps'])).toBeUndefined();
    expect(parseDockerRun('docker', ['run', '-i', '--rm'])).toBeUndefined();
    expect(parseDockerRun('/usr/local/bin/docker', ['container', 'run', '-i', 'img'])?.image).toBe('img');
  });
});

describe('toServerId', () => {
  it('makes valid ids, unique among those taken', () => {
    expect(toServerId('github', new Set())).toBe('github');
    expect(toServerId('Brave Search', new Set())).toBe('brave-search');
    expect(toServerId('Café_API', new Set())).toBe('cafe-api');
    expect(toServerId('@@@', new Set())).toBe('server');
    expect(toServerId('x'.repeat(40), new Set())).toBe('x'.repeat(32));
    expect(toServerId('x'.repeat(40), new Set(['x'.repeat(32)]))).toBe(`${'x'.repeat(30)}-2`);
    expect(toServerId('git', new Set(['git', 'git-2']))).toBe('git-3');
  });
});
