import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  ensureFixtureImages,
  requireDocker,
  runningContainers,
  TEST_OWNER
} from '../support/docker-test-setup.js';
import {
  CLI,
  connect,
  FIXTURE_SERVER,
  GatewayProcess,
  ROOT,
  setAdminPassword,
  textOf
} from '../support/gateway-process.js';

/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core with no
 * browser download), against the real daemon with a server in a Docker container and a local
 * process. Screenshots of each page go to test-results/dashboard.
 * Any console error or uncaught page error fails the test that caused it.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-results', 'dashboard');
const PASSWORD = 'correct horse battery staple';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') {
  throw new Error(`Chromium is not at ${CHROMIUM}: install it (apt-get install -y chromium; .ci/run does)`);
}
const haveDocker = await requireDocker('Dashboard tests');
let fixtureImage: string;

/**
 * Run newest first, every one even when one throws (a page's console errors are asserted in its
 * cleanup, and the gateway's must still stop); then the first failure is thrown.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  const failures: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse())
    await cleanup().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
});

let browser: Browser;
beforeAll(async () => {
  if (!haveChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  if (haveDocker) fixtureImage = (await ensureFixtureImages()).fixture;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
});

/** A local process `fixture`; and with `boxed`, the same fixture server in a Docker container. */
function config(auth = 'none', boxed = false): string {
  return `
gateway:
  auth: { mode: ${auth} }
defaults:
  idleTimeout: 300
servers:
  fixture:
    description: The test fixture
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
${boxed ? `  boxed:\n    image: ${fixtureImage}\n` : ''}`;
}

async function start(
  text: string,
  stateDir?: string,
  env: Record<string, string> = {}
): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start(text, {
    env: { MCP_GATEWAY_OWNER: TEST_OWNER, ...env },
    ...(stateDir ? { stateDir } : {})
  });
  cleanups.push(() => gateway.dispose());
  await gateway.discovered(60_000);
  return gateway;
}

/** Per page, the paths whose refusal (a 4xx the browser reports on its console) the test provokes. */
const refusals = new WeakMap<Page, Set<string>>();
const expectRefusal = (page: Page, pathname: string) => refusals.get(page)!.add(pathname);

/**
 * A page at 1280×800 whose console errors and uncaught errors are collected and must stay none,
 * but for the browser's report of a refusal the test asked for ({@link expectRefusal}).
 */
async function openPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  refusals.set(page, new Set());
  const errors: string[] = [];
  page.on('console', message => {
    if (message.type() !== 'error') return;
    const where = message.location().url;
    const refused = /^Failed to load resource: the server responded with a status of 4\d\d/.test(
      message.text()
    );
    if (refused && where && refusals.get(page)!.has(new URL(where).pathname)) return;
    errors.push(`console: ${message.text()} (${where})`);
  });
  page.on('pageerror', error => errors.push(`page: ${error.message}`));
  cleanups.push(async () => {
    await context.close();
    expect(errors, 'errors in the page').toEqual([]);
  });
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const stateCell = (page: Page, server: string) => page.locator(`tr[data-server="${server}"] td[data-state]`);

async function goTo(page: Page, link: string) {
  await page.getByRole('link', { name: link, exact: true }).click();
  await page.getByRole('heading', { level: 2 }).filter({ visible: true }).first().waitFor();
}

describe.skipIf(!haveChromium)('dashboard at /ui', () => {
  it.skipIf(!haveDocker)(
    'shows live server state, runs a tool, filters history and stops a server (loopback, auth none)',
    async () => {
      const gateway = await start(config('none', true));
      for (const server of ['fixture', 'boxed']) {
        const stopped = await fetch(new URL(`/api/servers/${server}/stop`, gateway.url), { method: 'POST' });
        expect(stopped.status).toBe(200);
      }
      expect(await runningContainers('boxed')).toEqual([]);
      // The API lists prompts and resources with their server, as it lists tools.
      const listed = async (route: string): Promise<unknown> =>
        (await fetch(new URL(route, gateway.url))).json();
      expect(await listed('/api/prompts')).toMatchObject({
        prompts: expect.arrayContaining([
          expect.objectContaining({ name: 'fixture__hello', server: 'fixture' })
        ])
      });
      expect(await listed('/api/resources')).toMatchObject({
        resources: expect.arrayContaining([
          expect.objectContaining({ uri: 'fixture://fixture+static/hello', server: 'fixture' })
        ]),
        resourceTemplates: expect.any(Array)
      });

      const page = await openPage();
      await page.goto(new URL('/ui', gateway.url).href);
      await page.locator('body[data-loaded=true]').waitFor();
      await expect.poll(() => stateCell(page, 'boxed').textContent()).toBe('stopped');
      expect(await page.locator('tr[data-server=boxed] td').first().textContent()).toBe('docker');
      await page.getByText('live', { exact: true }).waitFor();

      // An SDK client elsewhere calls: the page sees the container's server become ready, from the
      // event stream.
      const client = await connect(gateway.url, 'legacy', 'elsewhere');
      cleanups.push(() => client.close());
      expect(
        textOf(await client.callTool({ name: 'boxed__echo', arguments: { text: 'from the SDK' } }))
      ).toContain('from the SDK');
      await expect.poll(() => stateCell(page, 'boxed').textContent(), { timeout: 10_000 }).toBe('ready');
      await client.callTool({ name: 'fixture__fail', arguments: {} });
      const cells = (server: string) =>
        page.locator(`#server-rows tr[data-server=${server}] td`).allTextContents();
      // Kind, state, uptime, calls, errors: one call each, the fixture's an error.
      await expect.poll(async () => (await cells('fixture')).slice(3, 5)).toEqual(['1', '1']);
      await expect.poll(async () => (await cells('boxed')).slice(3, 5)).toEqual(['1', '0']);
      await shot(page, 'servers');

      // Catalog: search, then the "try it" form made from echo's input schema.
      await goTo(page, 'Catalog');
      await page.getByLabel('Search the catalog').fill('hello');
      await expect.poll(() => page.locator('#prompt-list').textContent()).toContain('fixture__hello');
      expect(await page.locator('#resource-list').textContent()).toContain('A greeting');
      await shot(page, 'catalog-prompts-resources');
      await page.getByLabel('Search the catalog').fill('fixture__echo');
      await expect.poll(() => page.locator('#tool-list li').count()).toBe(1);
      // By keyboard: Try it moves the focus into the form, Enter sends it.
      await page.getByRole('button', { name: 'Try fixture__echo' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('try-text');
      await page.keyboard.type('typed in the dashboard');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#try-result').textContent()).toContain('typed in the dashboard');
      await shot(page, 'catalog');

      // History: the three calls, then filtered by outcome and by tool; one request's details.
      await page.getByRole('link', { name: 'History', exact: true }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Request history' }).waitFor();
      await expect.poll(() => page.locator('#request-rows tr').count()).toBe(3);
      await page.getByLabel('Outcome', { exact: true }).selectOption('tool_error');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect.poll(() => page.locator('#request-rows tr').count()).toBe(1);
      expect(await page.locator('#request-rows tr').first().getAttribute('data-outcome')).toBe('tool_error');
      await page.getByLabel('Outcome', { exact: true }).selectOption('');
      await page.getByLabel('Tool', { exact: true }).fill('fixture__echo');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect.poll(() => page.locator('#request-rows tr').count()).toBe(1);
      await page.locator('#request-rows button').first().click();
      await expect
        .poll(() => page.locator('#request-detail').textContent())
        .toContain('"tool": "fixture__echo"');
      await shot(page, 'history');

      for (const [link, name] of [
        ['Sessions', 'sessions'],
        ['Events', 'events'],
        ['Charts', 'charts'],
        ['Config', 'config']
      ] as const) {
        await goTo(page, link);
        await shot(page, name);
      }
      await expect.poll(() => page.locator('#config-text').textContent()).toContain('The test fixture');
      expect(await page.locator('#event-list li').count()).toBeGreaterThan(0);
      expect(await page.locator('#session-rows').textContent()).toContain('elsewhere');

      // A state-changing request without the page's CSRF token, or with another, is refused.
      expectRefusal(page, '/ui/api/servers/fixture/start');
      const refused = await page.evaluate(async () => {
        const missing = await fetch('/ui/api/servers/fixture/start', { method: 'POST' });
        const forged = await fetch('/ui/api/servers/fixture/start', {
          method: 'POST',
          headers: { 'x-csrf-token': 'forged' }
        });
        return [
          { status: missing.status, body: (await missing.json()) as unknown },
          { status: forged.status, body: (await forged.json()) as unknown }
        ];
      });
      expect(refused).toEqual([
        {
          status: 403,
          body: {
            error: expect.objectContaining({ message: expect.stringContaining('CSRF token is missing') })
          }
        },
        {
          status: 403,
          body: {
            error: expect.objectContaining({ message: expect.stringContaining('CSRF token is wrong') })
          }
        }
      ]);

      // Restart: the container is replaced by a new one, and the server is ready again.
      await goTo(page, 'Servers');
      const [before] = await runningContainers('boxed');
      expect(before).toBeDefined();
      await page.getByRole('button', { name: 'Restart boxed', exact: true }).click();
      await expect
        .poll(async () => (await runningContainers('boxed')).map(container => container.Id), {
          timeout: 20_000
        })
        .toEqual([expect.not.stringMatching(before!.Id)]);
      await expect.poll(() => stateCell(page, 'boxed').textContent()).toBe('ready');

      // The stop button stops the server for real.
      await page.getByRole('button', { name: 'Stop boxed', exact: true }).click();
      await expect.poll(() => stateCell(page, 'boxed').textContent()).toBe('stopped');
      expect((await gateway.health()).servers.find(server => server.id === 'boxed')?.state).toBe('stopped');
      expect(await runningContainers('boxed')).toEqual([]);

      // Readable on a phone.
      const phone = await openPage({ width: 390, height: 844 });
      await phone.goto(new URL('/ui', gateway.url).href);
      await phone.locator('body[data-loaded=true]').waitFor();
      await shot(phone, 'servers-phone');
    }
  );

  it('asks for the admin password when authentication is on, and refuses a wrong one', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'dashboard-state-'));
    cleanups.push(() => Promise.resolve(rmSync(stateDir, { recursive: true, force: true })));
    setAdminPassword(stateDir, PASSWORD);
    // A remote server each user logs in to on their own (never reached here).
    const perUser = `  tracker:\n    url: http://127.0.0.1:9/mcp\n    auth: oauth\n    credentials: per-user\n`;
    // And one that is down (nothing listens on port 9): its discovery is tried again later.
    const down = `  down:\n    url: http://127.0.0.1:9/mcp\n`;
    const gateway = await start(`${config('token')}${perUser}${down}`, stateDir);

    // Without the cookie the API under /ui is closed, as /api is without a token.
    expect((await fetch(new URL('/ui/api/servers', gateway.url))).status).toBe(401);
    expect((await fetch(new URL('/api/servers', gateway.url))).status).toBe(401);

    const page = await openPage();
    await page.goto(new URL('/ui', gateway.url).href);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await shot(page, 'login');

    expectRefusal(page, '/ui/login');
    await page.getByLabel('Admin password').fill('not the password');
    const wrong = page.waitForResponse(response => response.url().endsWith('/ui/login'));
    await page.getByRole('button', { name: 'Log in' }).click();
    expect((await wrong).status()).toBe(403);
    await page.getByRole('alert').filter({ hasText: 'Wrong admin password' }).waitFor();
    expect(await page.context().cookies()).toEqual([]);
    await shot(page, 'login-refused');

    await page.getByLabel('Admin password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('body[data-loaded=true]').waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await expect.poll(() => stateCell(page, 'fixture').textContent()).toMatch(/^(ready|stopped)$/);
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'mgw_dashboard', httpOnly: true, sameSite: 'Strict', path: '/ui' })
    ]);
    await shot(page, 'servers-logged-in');
    // The per-user server says it needs a login, and how to log in.
    expect(await page.locator('tr[data-server="tracker"]').textContent()).toContain(
      'needs login: each user logs in on their own, with `mcp-gateway login tracker --token <their gateway token>`'
    );

    // The server that is down says when its tools are looked for again.
    await expect
      .poll(() => page.locator('tr[data-server="down"]').textContent())
      .toMatch(/unreachable.*Its tools are looked for again at /);

    // Logged in, the buttons work (the page sends its CSRF token).
    await page.getByRole('button', { name: 'Start fixture', exact: true }).click();
    await expect.poll(() => stateCell(page, 'fixture').textContent()).toBe('ready');

    // Access lists the tokens; revoking one there refuses it from its next request on.
    const made = spawnSync(
      process.execPath,
      [CLI, 'token', 'create', '--name', 'laptop', '--servers', 'fixture', '--state-dir', stateDir],
      { encoding: 'utf8', timeout: 20_000 }
    );
    expect(made.status, made.stderr).toBe(0);
    const withToken = () =>
      fetch(new URL('/api/servers', gateway.url), {
        headers: { authorization: `Bearer ${made.stdout.trim()}` }
      });
    expect((await withToken()).status).toBe(403); // valid, not an admin
    await goTo(page, 'Access');
    const laptop = page.locator('tr[data-token="laptop"]');
    await expect.poll(() => laptop.textContent()).toContain('servers fixture');
    page.once('dialog', dialog => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke token laptop' }).click();
    await expect.poll(() => laptop.textContent()).toContain('revoked');
    await shot(page, 'access');
    expect((await withToken()).status).toBe(401);

    // Logging out ends the login: the cookie no longer opens the dashboard or its API.
    const [cookie] = await page.context().cookies();
    const withCookie = () =>
      fetch(new URL('/ui/api/servers', gateway.url), {
        headers: { cookie: `mgw_dashboard=${cookie!.value}` }
      });
    const listed = await withCookie();
    expect(listed.status).toBe(200);
    const { servers } = (await listed.json()) as { servers: { id: string; login: string | null }[] };
    expect(servers.map(({ id, login }) => ({ id, login }))).toEqual([
      { id: 'fixture', login: null },
      { id: 'tracker', login: expect.stringContaining('mcp-gateway login tracker --token') },
      { id: 'down', login: null }
    ]);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(url => url.pathname === '/ui/login');
    const stale = await withCookie();
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ error: { message: expect.stringContaining('/ui/login') } });
  });

  it('reloads servers.yaml from the Config page: a new server appears; a broken config shows its problems and changes nothing', async () => {
    // Only the button (and the API) reload here: the file watcher would race the test's edits.
    const gateway = await start(config(), undefined, { GATEWAY_WATCH_CONFIG: 'false' });
    const file = path.join(gateway.dir, 'servers.yaml');
    const page = await openPage();
    await page.goto(new URL('/ui', gateway.url).href);
    await page.locator('body[data-loaded=true]').waitFor();
    await goTo(page, 'Config');
    await expect
      .poll(() => page.locator('#reload-result').textContent())
      .toBe('No reload since the gateway started.');

    const added = `${config()}  second:\n    description: The second fixture\n    command: ["${process.execPath}", "${FIXTURE_SERVER}"]\n`;
    writeFileSync(file, added);
    await page.getByRole('button', { name: 'Reload servers.yaml' }).click();
    await expect.poll(() => page.locator('#reload-result').textContent()).toMatch(/applied; added second\./);
    await expect.poll(() => page.locator('#config-text').textContent()).toContain('The second fixture');
    await shot(page, 'config-reloaded');
    await goTo(page, 'Servers');
    await expect.poll(() => page.locator('tr[data-server="second"]').count()).toBe(1);

    // A broken config: its problems, with file:line:col, and nothing changes.
    writeFileSync(file, `${added}  broken:\n    command: 42\n`);
    expectRefusal(page, '/ui/api/reload');
    await goTo(page, 'Config');
    await page.getByRole('button', { name: 'Reload servers.yaml' }).click();
    await expect.poll(() => page.locator('#reload-result').textContent()).toMatch(/refused, nothing changed/);
    const problems = await page.locator('#reload-problems li').allTextContents();
    expect(problems).toEqual([expect.stringMatching(/servers\.yaml:\d+:\d+: .*broken/)]);
    await shot(page, 'config-refused');
    expect((await gateway.health()).servers.map(server => server.id).sort()).toEqual(['fixture', 'second']);
    await goTo(page, 'Servers');
    expect(await page.locator('tr[data-server="broken"]').count()).toBe(0);

    // A reload asked for elsewhere shows up live (the config_reloaded event).
    writeFileSync(file, config());
    await goTo(page, 'Config');
    const reloaded = await fetch(new URL('/api/reload', gateway.url), { method: 'POST' });
    expect(reloaded.status).toBe(200);
    await expect
      .poll(() => page.locator('#reload-result').textContent())
      .toMatch(/applied; removed second\./);
    expect(await page.locator('#reload-problems li').count()).toBe(0);
  });

  it("counts every call of the last hour, past the API's page of 1,000, and then only what is new", async () => {
    // More calls in a minute than the default request limit allows one address.
    const gateway = await start(
      config().replace(
        '  auth: { mode: none }',
        '  auth: { mode: none }\n  limits: { requestsPerMinute: 100000 }'
      )
    );
    const call = (text: string) =>
      fetch(new URL('/api/tools/fixture__echo/call', gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ arguments: { text } })
      }).then(response => expect(response.status).toBe(200));
    const calls = async (count: number) => {
      for (let round = 0; round < count / 50; round++) {
        await Promise.all(Array.from({ length: 50 }, (_, index) => call(`${round}-${index}`)));
      }
    };
    await calls(1_250);
    const page = await openPage();
    await page.goto(new URL('/ui', gateway.url).href);
    await page.locator('body[data-loaded=true]').waitFor();
    const callsCell = page.locator('tr[data-server="fixture"] td').nth(3);
    await expect.poll(() => callsCell.textContent(), { timeout: 10_000 }).toBe('1250');
    // Calls made while the page is open arrive as events; the page reads only the new ones.
    await calls(50);
    await expect.poll(() => callsCell.textContent(), { timeout: 10_000 }).toBe('1300');
  });

  it("shows the tail of a server's stderr (in /api/servers and on the Servers page)", async () => {
    const gateway = await start(`${config()}  noisy:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
    env: { FIXTURE_STDERR: "noisy: using the default region" }
`);
    type Listed = { servers: { id: string; stderr: string[] }[] };
    const listed = async () =>
      ((await (await fetch(new URL('/api/servers', gateway.url))).json()) as Listed).servers;
    await expect
      .poll(async () => (await listed()).find(server => server.id === 'noisy')?.stderr)
      .toEqual(['noisy: using the default region']);
    expect((await listed()).find(server => server.id === 'fixture')?.stderr).toEqual([]);

    const page = await openPage();
    await page.goto(new URL('/ui', gateway.url).href);
    await page.locator('body[data-loaded=true]').waitFor();
    const tail = page.locator('tr[data-server="noisy"] details.stderr');
    await tail.locator('summary').click();
    await expect.poll(() => tail.locator('pre').textContent()).toBe('noisy: using the default region');
    expect(await page.locator('tr[data-server="fixture"] details.stderr').count()).toBe(0);
    await shot(page, 'servers-stderr');
  });
});
