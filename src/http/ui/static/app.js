// The dashboard's page: plain DOM, no framework. Everything it shows comes from /ui/api (the REST
// API behind the dashboard's login); live changes come from /ui/api/events, not polling.

const $ = id => document.getElementById(id);
const HOUR_MS = 60 * 60 * 1000;
let csrf = '';
let servers = [];
let tools = [];
let prompts = [];
let resources = [];
let hourOfRequests = [];
let quarantine = [];

/** Calls the API; rejects with the API's own message when it answers with an error. */
async function api(route, init = {}) {
  const method = init.method ?? 'GET';
  const headers = { accept: 'application/json' };
  if (method !== 'GET') Object.assign(headers, { 'content-type': 'application/json', 'x-csrf-token': csrf });
  const response = await fetch(`/ui/api${route}`, { ...init, method, headers });
  if (response.status === 401) {
    location.assign('/ui/login');
    throw new Error('not logged in');
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body;
}

function showProblem(error) {
  const problem = $('problem');
  problem.textContent = error ? String(error.message ?? error) : '';
  problem.hidden = !error;
}

/** Runs `task`, showing what failed above the page instead of throwing. */
function guarded(task) {
  return (...args) =>
    Promise.resolve()
      .then(() => task(...args))
      .then(() => showProblem(undefined), showProblem);
}

/** An element with text or children. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== 'list') node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ''));
  return node;
}

const when = iso => (iso ? new Date(iso).toLocaleString() : '');
const quantile = (sorted, q) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = value => (value === null ? '–' : `${Math.round(value)} ms`);

function uptime(startedAt, state) {
  if (!startedAt || state !== 'ready') return '–';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000));
  return seconds < 60
    ? `${seconds} s`
    : seconds < 3600
      ? `${Math.floor(seconds / 60)} min`
      : `${(seconds / 3600).toFixed(1)} h`;
}

// ---- pages

function showPage() {
  const page = (location.hash || '#servers').slice(1);
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== page;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === `#${page}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (page === 'config') void guarded(loadConfig)();
  if (page === 'access') void guarded(loadAccess)();
  if (page === 'charts') drawCharts();
}

// ---- servers

async function loadServers() {
  servers = (await api('/servers')).servers;
  renderServers();
  const select = document.querySelector('#history-filter select[name=server]');
  const chosen = select.value;
  select.replaceChildren(
    el('option', { value: '' }, 'any'),
    ...servers.map(s => el('option', { value: s.id }, s.id))
  );
  select.value = chosen;
}

function statsOf(server) {
  const calls = hourOfRequests.filter(r => r.server === server);
  const durations = calls.map(r => r.durationMs).sort((a, b) => a - b);
  return {
    calls: calls.length,
    errors: calls.filter(r => r.outcome !== 'ok').length,
    p50: quantile(durations, 0.5),
    p95: quantile(durations, 0.95)
  };
}

/** The tail of a server's stderr, folded under its last error (nothing when it wrote none). */
function stderrOf(server) {
  const lines = server.stderr ?? [];
  if (lines.length === 0) return '';
  return el(
    'details',
    { class: 'stderr' },
    el('summary', {}, `stderr (last ${lines.length} line${lines.length === 1 ? '' : 's'})`),
    el('pre', {}, lines.join('\n'))
  );
}

function renderServers() {
  $('server-rows').replaceChildren(
    ...servers.map(server => {
      const stats = statsOf(server.id);
      // Restart is a stop, then a start: the API has no restart of its own.
      const act = (label, ...actions) =>
        el(
          'button',
          {
            type: 'button',
            'aria-label': `${label} ${server.id}`,
            onclick: guarded(async () => {
              for (const action of actions) {
                await api(`/servers/${encodeURIComponent(server.id)}/${action}`, { method: 'POST' });
              }
              await loadServers();
            })
          },
          label
        );
      return el(
        'tr',
        { 'data-server': server.id },
        el('th', { scope: 'row' }, server.id),
        el('td', {}, server.runtime),
        el('td', { class: `state-${server.state}`, 'data-state': server.state }, server.state),
        el('td', {}, uptime(server.startedAt, server.state)),
        el('td', {}, stats.calls),
        el('td', {}, stats.errors),
        el('td', {}, ms(stats.p50)),
        el('td', {}, ms(stats.p95)),
        el(
          'td',
          {},
          server.login ?? server.lastError ?? '',
          server.nextDiscovery
            ? el('p', { class: 'note' }, `Its tools are looked for again at ${when(server.nextDiscovery)}.`)
            : '',
          stderrOf(server)
        ),
        el('td', {}, act('Start', 'start'), ' ', act('Stop', 'stop'), ' ', act('Restart', 'stop', 'start'))
      );
    })
  );
}

// ---- catalog and "try it"

async function loadCatalog() {
  const [listed, promptList, resourceList] = await Promise.all([
    api('/tools'),
    api('/prompts'),
    api('/resources')
  ]);
  tools = listed.tools;
  prompts = promptList.prompts;
  resources = [...resourceList.resources, ...resourceList.resourceTemplates];
  renderTools();
}

/** A catalog entry: its name and server, its description, and its details (schema, arguments) folded. */
function entry(name, item, details) {
  return el(
    'details',
    {},
    el(
      'summary',
      {},
      el('strong', {}, name),
      ` (${item.server ?? 'no server now'}) `,
      item.description ?? ''
    ),
    el('pre', {}, JSON.stringify(details, null, 2))
  );
}

function renderTools() {
  const query = $('tool-search').value.trim().toLowerCase();
  const matches = (...texts) => texts.some(text => (text ?? '').toLowerCase().includes(query));
  $('tool-list').replaceChildren(
    ...tools
      .filter(tool => matches(tool.name, tool.server, tool.description))
      .map(tool =>
        el(
          'li',
          {},
          entry(tool.name, tool, tool.inputSchema),
          el(
            'button',
            { type: 'button', 'aria-label': `Try ${tool.name}`, onclick: () => openTry(tool) },
            'Try it'
          )
        )
      )
  );
  $('prompt-list').replaceChildren(
    ...prompts
      .filter(prompt => matches(prompt.name, prompt.server, prompt.description))
      .map(prompt => el('li', {}, entry(prompt.name, prompt, prompt.arguments ?? [])))
  );
  $('resource-list').replaceChildren(
    ...resources
      .filter(resource =>
        matches(resource.uri ?? resource.uriTemplate, resource.name, resource.server, resource.description)
      )
      .map(resource => el('li', {}, entry(resource.uri ?? resource.uriTemplate, resource, resource)))
  );
}

/** A form field per property of the tool's input schema; anything not a scalar is typed as JSON. */
function openTry(tool) {
  const properties = tool.inputSchema?.properties ?? {};
  const required = new Set(tool.inputSchema?.required ?? []);
  const fields = Object.entries(properties).map(([name, schema]) => {
    const id = `try-${name}`;
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    const input =
      type === 'boolean'
        ? el('input', { id, name, type: 'checkbox' })
        : type === 'number' || type === 'integer'
          ? el('input', {
              id,
              name,
              type: 'number',
              step: type === 'integer' ? '1' : 'any',
              required: required.has(name)
            })
          : type === 'string'
            ? schema.enum
              ? el('select', { id, name }, ...schema.enum.map(v => el('option', {}, v)))
              : el('input', { id, name, required: required.has(name) })
            : el('textarea', { id, name, rows: 3, placeholder: 'JSON', required: required.has(name) });
    input.dataset.type = type ?? 'json';
    const hint = schema.description ? ` — ${schema.description}` : '';
    return el('label', { for: id }, `${name}${required.has(name) ? ' (required)' : ''}${hint}`, input);
  });
  const form = $('try-form');
  form.replaceChildren(...fields, el('button', { type: 'submit' }, `Call ${tool.name}`));
  form.onsubmit = event => {
    event.preventDefault();
    void guarded(() => callTool(tool, form))();
  };
  $('try-title').textContent = `Try ${tool.name}`;
  $('try').hidden = false;
  $('try-result').textContent = '';
  (fields[0]?.querySelector('input, select, textarea') ?? form.querySelector('button')).focus();
}

async function callTool(tool, form) {
  const args = {};
  for (const input of form.querySelectorAll('input, select, textarea')) {
    const type = input.dataset.type;
    if (type === 'boolean') args[input.name] = input.checked;
    else if (input.value === '') continue;
    else if (type === 'number' || type === 'integer') args[input.name] = Number(input.value);
    else if (type === 'json') args[input.name] = JSON.parse(input.value);
    else args[input.name] = input.value;
  }
  $('try-result').textContent = 'calling…';
  try {
    const result = await api(`/tools/${encodeURIComponent(tool.name)}/call`, {
      method: 'POST',
      body: JSON.stringify(args)
    });
    $('try-result').textContent = JSON.stringify(result, null, 2);
  } catch (error) {
    $('try-result').textContent = `Failed: ${error.message}`;
  }
}

// ---- sessions

async function loadSessions() {
  const { sessions, clients } = await api('/sessions?state=all&limit=100');
  $('session-rows').replaceChildren(
    ...sessions.map(s =>
      el(
        'tr',
        {},
        el('td', {}, el('code', {}, s.id)),
        el('td', {}, [s.clientName, s.clientVersion].filter(Boolean).join(' ')),
        el('td', {}, s.principal ?? ''),
        el('td', {}, when(s.openedAt)),
        el('td', {}, when(s.lastSeenAt)),
        el('td', {}, s.closedAt ? `${when(s.closedAt)} (${s.closeReason ?? ''})` : 'open')
      )
    )
  );
  $('client-rows').replaceChildren(
    ...clients.map(c =>
      el(
        'tr',
        {},
        el('td', {}, [c.clientName, c.clientVersion].filter(Boolean).join(' ') || c.key),
        el('td', {}, c.principal ?? ''),
        el('td', {}, c.requests),
        el('td', {}, when(c.lastSeenAt))
      )
    )
  );
}

// ---- history

async function loadHistory() {
  const form = new FormData($('history-filter'));
  const query = new URLSearchParams({ limit: '200' });
  for (const key of ['server', 'tool', 'outcome']) if (form.get(key)) query.set(key, String(form.get(key)));
  if (form.get('since')) query.set('since', new Date(String(form.get('since'))).toISOString());
  const client = String(form.get('client') ?? '').trim();
  const { requests } = await api(`/requests?${query}`);
  const shown = client
    ? requests.filter(r => [r.sessionId, r.clientKey].some(v => v?.includes(client)))
    : requests;
  $('request-rows').replaceChildren(
    ...shown.map(r =>
      el(
        'tr',
        { 'data-outcome': r.outcome },
        el('td', {}, when(r.startedAt)),
        el('td', {}, r.server ?? ''),
        el('td', {}, r.tool),
        el('td', {}, r.outcome),
        el('td', {}, Math.round(r.durationMs)),
        el('td', {}, r.sessionId ?? r.clientKey ?? ''),
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              'aria-label': `Details of request ${r.id}`,
              onclick: () => ($('request-detail').textContent = JSON.stringify(r, null, 2))
            },
            'Show'
          )
        )
      )
    )
  );
}

/** Pages of 1,000 read at most in one go: the figures cover up to 100,000 requests an hour. */
const HOUR_PAGES = 100;
let hourRead = Promise.resolve();

/**
 * The last hour's requests, for the servers' figures and the charts: read whole the first time,
 * page by page; afterwards only what is newer than the newest one held (`after`), and what has
 * fallen out of the hour is dropped. One read at a time: a refresh during a read follows it.
 */
function loadHour() {
  hourRead = hourRead.then(readHour, readHour);
  return hourRead;
}

async function readHour() {
  const since = new Date(Date.now() - HOUR_MS).toISOString();
  const newest = hourOfRequests[0]?.id;
  const fresh = [];
  let before;
  for (let page = 0; page < HOUR_PAGES; page++) {
    const query = new URLSearchParams({ since, limit: '1000' });
    if (newest !== undefined) query.set('after', String(newest));
    if (before !== undefined) query.set('before', String(before));
    const { requests, nextBefore } = await api(`/requests?${query}`);
    fresh.push(...requests);
    if (nextBefore === null) break;
    before = nextBefore;
  }
  const start = Date.now() - HOUR_MS;
  hourOfRequests = [...fresh, ...hourOfRequests].filter(r => Date.parse(r.startedAt) >= start);
  renderServers();
  if (location.hash === '#charts') drawCharts();
}

// ---- charts: one point per minute over the last hour

// The same colours, in order, as the legend's .swatch-N classes in app.css.
const COLORS = ['#0969da', '#d1242f', '#1a7f37', '#8250df', '#bf3989', '#9a6700'];

function minuteBuckets() {
  const start = Date.now() - HOUR_MS;
  const buckets = Array.from({ length: 60 }, () => []);
  for (const r of hourOfRequests) {
    const index = Math.floor((Date.parse(r.startedAt) - start) / 60_000);
    if (index >= 0 && index < 60) buckets[index].push(r);
  }
  return buckets;
}

function lineChart(target, series) {
  const width = 600;
  const height = 160;
  const max = Math.max(1e-9, ...series.flatMap(s => s.values));
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute(
    'aria-label',
    series.map(s => `${s.name}: up to ${Math.round(max * 100) / 100}`).join('; ')
  );
  series.forEach((s, index) => {
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    const points = s.values.map((v, i) => `${(i / 59) * width},${height - 4 - (v / max) * (height - 8)}`);
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', COLORS[index % COLORS.length]);
    line.setAttribute('stroke-width', '2');
    svg.append(line);
  });
  const legend = el(
    'p',
    { class: 'legend note' },
    `max ${Math.round(max * 100) / 100} · `,
    ...series.map((s, i) => el('span', { class: `swatch-${i % COLORS.length}` }, s.name))
  );
  $(target).replaceChildren(svg, legend);
}

function drawCharts() {
  const buckets = minuteBuckets();
  lineChart('chart-rate', [{ name: 'calls/s', values: buckets.map(b => b.length / 60) }]);
  const percentile = q =>
    buckets.map(
      b =>
        quantile(
          b.map(r => r.durationMs).sort((x, y) => x - y),
          q
        ) ?? 0
    );
  lineChart('chart-latency', [
    { name: 'p50', values: percentile(0.5) },
    { name: 'p95', values: percentile(0.95) }
  ]);
  const names = servers.map(s => s.id);
  lineChart(
    'chart-errors',
    names.map(name => ({
      name,
      values: buckets.map(b => b.filter(r => r.server === name && r.outcome !== 'ok').length)
    }))
  );
}

// ---- config

async function loadConfig() {
  const response = await fetch('/ui/config');
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  const { file, text } = body;
  $('config-file').textContent = `${file} (read-only here; edit the file, then reload)`;
  $('config-text').textContent = text;
  const { last } = await api('/reload');
  showReload(last);
}

/** Shows a reload's result (`GET`/`POST /api/reload`): applied or refused, and why. */
function showReload(result) {
  const problems = $('reload-problems');
  problems.replaceChildren(...(result?.problems ?? []).map(problem => el('li', {}, problem)));
  if (!result) {
    $('reload-result').textContent = 'No reload since the gateway started.';
    return;
  }
  const at = `${when(result.at)} (${result.trigger})`;
  if (!result.ok) {
    $('reload-result').textContent =
      `Last reload ${at}: refused, nothing changed. Fix these problems in ${result.file} and reload again:`;
    return;
  }
  const listed = (label, names) => (names.length > 0 ? `${label} ${names.join(', ')}` : '');
  const changes = [
    listed('added', result.added),
    listed('changed', result.changed),
    listed('removed', result.removed)
  ].filter(Boolean);
  const restart =
    result.restartNeeded.length > 0
      ? ` Restart the gateway to apply: ${result.restartNeeded.join(', ')}.`
      : '';
  $('reload-result').textContent =
    `Last reload ${at}: applied; ${changes.length > 0 ? changes.join('; ') : 'no server changed'}.${restart}`;
}

/** Asks for a reload; a refused config (422) is a result to show, not a failure of the page. */
async function reload() {
  const response = await fetch('/ui/api/reload', {
    method: 'POST',
    headers: { accept: 'application/json', 'x-csrf-token': csrf }
  });
  const body = await response.json();
  if (!response.ok && response.status !== 422)
    throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  showReload(body);
  await Promise.all([loadConfig(), loadServers(), loadCatalog()]);
}

// ---- access: tokens and OAuth grants

/** A Revoke button for the token or grant `id`, named `label`; it asks first (a grant is a connected client). */
function revokeButton(label, id) {
  return el(
    'button',
    {
      type: 'button',
      'aria-label': `Revoke ${label}`,
      onclick: guarded(async () => {
        if (!confirm(`Revoke ${label}? It is refused from its next request on.`)) return;
        await api(`/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
        await loadAccess();
      })
    },
    'Revoke'
  );
}

const expired = token => token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now();

function tokenState(token) {
  if (token.revokedAt) return `revoked ${when(token.revokedAt)}`;
  if (expired(token)) return `expired ${when(token.expiresAt)}`;
  return token.expiresAt ? `expires ${when(token.expiresAt)}` : 'no expiry';
}

function tokenScope(token) {
  const parts = [
    token.admin ? 'admin' : '',
    token.servers ? `servers ${token.servers.join(', ')}` : '',
    token.tools ? `tools ${token.tools.join(', ')}` : '',
    token.profiles ? `profiles ${token.profiles.join(', ')}` : ''
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : 'everything';
}

/** `rows`, or one row saying there are none. */
function rowsOrNone(rows, columns, none) {
  return rows.length > 0 ? rows : [el('tr', {}, el('td', { colSpan: columns, class: 'note' }, none))];
}

async function loadAccess() {
  const { tokens, grants } = await api('/tokens');
  $('token-rows').replaceChildren(
    ...rowsOrNone(
      tokens.map(token => {
        const live = !token.revokedAt && !expired(token);
        return el(
          'tr',
          { 'data-token': token.name },
          el('td', {}, token.name),
          el('td', {}, tokenScope(token)),
          el('td', {}, when(token.createdAt)),
          el('td', {}, when(token.lastUsedAt)),
          el('td', {}, tokenState(token)),
          el('td', {}, live ? revokeButton(`token ${token.name}`, token.id) : '')
        );
      }),
      6,
      'No tokens yet.'
    )
  );
  $('grant-rows').replaceChildren(
    ...rowsOrNone(
      grants.map(grant => {
        const client = grant.clientName ? `${grant.clientName} (${grant.clientId})` : grant.clientId;
        return el(
          'tr',
          { 'data-grant': grant.id },
          el('td', {}, client),
          el('td', {}, when(grant.createdAt)),
          el('td', {}, grant.expiresAt ? when(grant.expiresAt) : 'never'),
          el('td', {}, revokeButton(`the grant of ${grant.clientName ?? grant.clientId}`, grant.id))
        );
      }),
      4,
      'No OAuth grants (clients approved on the consent page, with auth.mode oauth).'
    )
  );
}

// ---- quarantine: pinned definitions that changed, new ones under trust: manual, moved images

async function loadQuarantine() {
  quarantine = (await api('/quarantine')).items;
  renderQuarantine();
}

/** The diff, one line a span, marked as removed (`- `) or added (`+ `). */
function diffOf(text) {
  return el(
    'pre',
    { class: 'diff', tabindex: '0' },
    ...text
      .split('\n')
      .flatMap(line => [
        el('span', { class: line.startsWith('+ ') ? 'added' : line.startsWith('- ') ? 'removed' : '' }, line),
        '\n'
      ])
  );
}

function renderQuarantine() {
  $('quarantine-note').hidden = quarantine.length > 0;
  $('quarantine-list').replaceChildren(
    ...quarantine.map(item => {
      const label = `${item.server}: ${item.kind} ${item.name}`;
      const why =
        item.reason === 'changed'
          ? `changed since it was approved (${item.fields.join(', ')})`
          : 'new, not approved yet (trust: manual)';
      return el(
        'li',
        { 'data-item': `${item.server}/${item.kind}:${item.name}` },
        el('strong', {}, label),
        ` ${why} `,
        el(
          'button',
          {
            type: 'button',
            'aria-label': `Approve ${label}`,
            onclick: guarded(async () => {
              await api(`/servers/${encodeURIComponent(item.server)}/approve`, {
                method: 'POST',
                body: JSON.stringify({ items: [`${item.kind}:${item.name}`] })
              });
              await Promise.all([loadQuarantine(), loadServers(), loadCatalog()]);
            })
          },
          'Approve'
        ),
        el('p', { class: 'note' }, `or: ${item.approve}`),
        diffOf(item.diff)
      );
    })
  );
}

// ---- events: the live part

let refreshTimer;
/** Many calls finishing at once make one refresh. */
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(
    guarded(() => Promise.all([loadHour(), loadHistory()])),
    300
  );
}

function listen() {
  const source = new EventSource('/ui/api/events');
  source.onopen = () => ($('live').textContent = 'live');
  source.onerror = () => ($('live').textContent = 'reconnecting…');
  const log = event => {
    const data = JSON.parse(event.data);
    const { type, at, ...rest } = data;
    const list = $('event-list');
    list.prepend(el('li', {}, `${new Date(at).toLocaleTimeString()} ${type} ${JSON.stringify(rest)}`));
    while (list.children.length > 200) list.lastElementChild.remove();
    return data;
  };
  source.addEventListener('server_state', event => {
    const data = log(event);
    const server = servers.find(s => s.id === data.server);
    if (server) server.state = data.state;
    renderServers();
    void guarded(loadServers)();
  });
  source.addEventListener('request_finished', event => {
    log(event);
    refreshSoon();
  });
  source.addEventListener('config_reloaded', event => {
    log(event);
    void guarded(() => Promise.all([loadConfig(), loadServers(), loadCatalog()]))();
  });
  for (const type of ['definition_quarantined', 'image_changed', 'definitions_approved']) {
    source.addEventListener(type, event => {
      log(event);
      void guarded(() => Promise.all([loadQuarantine(), loadServers(), loadCatalog()]))();
    });
  }
  for (const type of ['session_opened', 'session_closed']) {
    source.addEventListener(type, event => {
      log(event);
      void guarded(loadSessions)();
    });
  }
}

// ---- start

async function main() {
  const session = await (await fetch('/ui/session')).json();
  csrf = session.csrf;
  const logout = $('logout');
  logout.hidden = session.open;
  logout.onclick = guarded(async () => {
    await fetch('/ui/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } });
    location.assign('/ui/login');
  });
  window.addEventListener('hashchange', showPage);
  $('tool-search').addEventListener('input', renderTools);
  $('reload').addEventListener('click', guarded(reload));
  $('history-filter').addEventListener('submit', event => {
    event.preventDefault();
    void guarded(loadHistory)();
  });
  showPage();
  listen();
  await Promise.all([
    loadServers(),
    loadCatalog(),
    loadSessions(),
    loadHistory(),
    loadHour(),
    loadQuarantine()
  ]);
  document.body.dataset.loaded = 'true';
}

void guarded(main)();
