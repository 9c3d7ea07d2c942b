import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WRONG_PASSWORDS_PER_MINUTE } from '../../src/http/password-guesses.js';
import { fixtureConfig } from '../support/fixture-config.js';
import { GatewayProcess, setAdminPassword } from '../support/gateway-process.js';

// The dashboard login behind a reverse proxy on the same host: each browser has its own limit of
// login forms (keyed by X-Forwarded-For, believed from loopback), and wrong passwords from all
// addresses together are bounded, since a process on this host can claim any address.

const PASSWORD = 'correct horse battery staple';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('admin password guessing', () => {
  it('limits login forms per forwarded address, and wrong passwords from all addresses together', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'password-guessing-'));
    cleanups.push(() => Promise.resolve(rmSync(stateDir, { recursive: true, force: true })));
    setAdminPassword(stateDir, PASSWORD);
    const gateway = await GatewayProcess.start(fixtureConfig('auth: { mode: token }'), { stateDir });
    cleanups.push(() => gateway.dispose());
    const login = async (password: string, forwardedFor: string) => {
      const response = await fetch(new URL('/ui/login', gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
        body: new URLSearchParams({ password }).toString(),
        redirect: 'manual'
      });
      return { status: response.status, body: await response.text() };
    };

    // One browser: 10 forms a minute, then 429 before any password is checked.
    const first: number[] = [];
    for (let i = 0; i < 11; i++) first.push((await login('wrong', '203.0.113.1')).status);
    expect(first).toEqual([...Array<number>(10).fill(403), 429]);
    // Another browser behind the same proxy is not held back by the first one's forms.
    expect((await login(PASSWORD, '203.0.113.2')).status).toBe(303);

    // Wrong passwords claimed from ever new addresses: the bound for all of them holds. (It refills
    // by half a guess a second, so the few seconds the guesses take may let a few more through.)
    let wrong = 10;
    let refused: { status: number; body: string } | undefined;
    for (let i = 1; i <= 40 && !refused; i++) {
      const answer = await login('wrong', `198.51.100.${i}`);
      if (answer.status === 403) wrong++;
      else refused = answer;
    }
    expect(refused?.status).toBe(429);
    expect(refused?.body).toContain(
      'too many wrong admin passwords in the last minute, from all addresses together'
    );
    expect(wrong).toBeGreaterThanOrEqual(WRONG_PASSWORDS_PER_MINUTE);
    expect(wrong).toBeLessThanOrEqual(WRONG_PASSWORDS_PER_MINUTE + 5);
    // While it is spent, the right password waits too.
    expect((await login(PASSWORD, '198.51.100.200')).status).toBe(429);
  });
});
