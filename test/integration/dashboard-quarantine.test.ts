import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { connect, GatewayProcess, ROOT, textOf } from '../support/gateway-process.js';

/**
 * The dashboard's quarantine list in a real headless Chromium (as dashboard.test.ts drives it),
 * against the real daemon: each held item with its diff and an Approve button that serves it again.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-results', 'dashboard');
const PINNED_SERVER = path.join(ROOT, 'test', 'fixtures', 'pinned-server.mjs');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`Chromium is not at ${CHROMIUM}: install it (apt-get install -y chromium; .ci/run does)`);
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let browser: Browser;
beforeAll(async () => {
  if (!haveChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!haveChromium)('dashboard: quarantined definitions', () => {
  it('lists what is held with its diff, and Approve serves it again (live)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-pins-ui-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'description.txt');
    writeFileSync(file, 'Greets someone by name');
    const gateway = await GatewayProcess.start(
      `gateway:\n  auth: { mode: none }\nservers:\n  pinned:\n    command: ["${process.execPath}", "${PINNED_SERVER}"]\n    env:\n      PINNED_DESCRIPTION_FILE: "${file}"\n    trust: manual\n`,
      { env: { GATEWAY_WATCH_CONFIG: 'false' } }
    );
    cleanups.push(() => gateway.dispose());
    await gateway.discovered();

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', message => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', error => errors.push(`page: ${error.message}`));
    cleanups.push(async () => {
      await context.close();
      expect(errors, 'errors in the page').toEqual([]);
    });

    await page.goto(new URL('/ui', gateway.url).href);
    await page.locator('body[data-loaded=true]').waitFor();
    const held = page.locator('#quarantine-list li');
    await expect.poll(() => held.count()).toBe(3);
    const greet = page.locator('#quarantine-list li[data-item="pinned/tool:greet"]');
    expect(await greet.textContent()).toContain('new, not approved yet (trust: manual)');
    expect(await greet.locator('.diff .added').first().textContent()).toContain('+ {');
    expect(await greet.textContent()).toContain('"description": "Greets someone by name"');
    expect(await greet.textContent()).toContain('or: mcp-gateway approve pinned greet');
    await page.screenshot({ path: path.join(SHOTS, 'quarantine.png'), fullPage: true });

    await page.getByRole('button', { name: 'Approve pinned: tool steady' }).click();
    await expect.poll(() => held.count()).toBe(2);
    const client = await connect(gateway.url, 'legacy');
    cleanups.push(() => client.close());
    expect(textOf(await client.callTool({ name: 'pinned__steady', arguments: {} }))).toBe('steady');

    // Approved elsewhere (the API): the list follows live, from the event stream.
    const approved = await fetch(new URL('/api/servers/pinned/approve', gateway.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}'
    });
    expect(approved.status).toBe(200);
    await expect.poll(() => held.count()).toBe(0);
    expect(await page.locator('#quarantine-note').isVisible()).toBe(true);
  });
});
