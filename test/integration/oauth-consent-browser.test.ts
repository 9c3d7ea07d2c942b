import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { auth } from '@modelcontextprotocol/client';
import { FIXTURE_SERVER, GatewayProcess, ROOT, setAdminPassword } from '../support/gateway-process.js';
import { MemoryOAuthClient, TEST_REDIRECT_URL } from '../support/oauth-test-client.js';
import { freePort } from '../support/tmpfs.js';

/**
 * The OAuth consent page in a real browser (Debian's Chromium through playwright-core): what a
 * person connecting Claude.ai to the gateway does. A scripted client does not show what a browser
 * adds, such as the `Origin` of a form's POST, which follows the page's referrer policy.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';
const SHOTS = path.join(ROOT, 'test-results', 'oauth-consent');

let stateDir: string;
let publicUrl: string;
let gateway: GatewayProcess;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not at ${CHROMIUM}: install it (apt-get install -y chromium; .ci/run does)`);
  }
  stateDir = mkdtempSync(path.join(tmpdir(), 'oauth-consent-'));
  setAdminPassword(stateDir, PASSWORD);
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  gateway = await GatewayProcess.start(
    `
gateway:
  publicUrl: ${publicUrl}
  auth: { mode: oauth }
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`,
    { stateDir, args: ['--port', String(port)] }
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.dispose();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('the OAuth consent page in a browser', () => {
  it('approves with the admin password and sends the browser back to the client with a code', async () => {
    const client = new MemoryOAuthClient('browser client');
    await expect(auth(client, { serverUrl: `${publicUrl}/mcp` })).resolves.toBe('REDIRECT');
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('console', message => {
        if (message.type() === 'error') errors.push(message.text());
      });
      await page.goto(client.authorizationUrl!.href);
      await page.getByLabel('Admin password').fill(PASSWORD);
      await page.screenshot({ path: path.join(SHOTS, 'consent.png') });
      // Nothing listens at the client's redirect URL: the request the browser makes to it is the answer.
      const back = page.waitForRequest(request => request.url().startsWith(TEST_REDIRECT_URL), {
        timeout: 15_000
      });
      back.catch(() => undefined);
      const posted = page.waitForResponse(response => response.request().method() === 'POST');
      await page.getByRole('button', { name: 'Approve' }).click();
      const post = await posted;
      expect(post.status(), `the consent POST was answered ${post.status()}`).toBeLessThan(400);
      const redirect = new URL((await back).url());
      expect(redirect.searchParams.get('code')).toBeTruthy();
      expect(redirect.searchParams.get('iss')).toBe(publicUrl);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
