import { createHash } from 'node:crypto';

/** What the owner is asked to approve. Every field is shown escaped: clients choose their names. */
export interface ConsentRequest {
  readonly uid: string;
  readonly clientId: string;
  readonly clientName: string | undefined;
  readonly redirectUri: string;
  readonly resource: string;
  /** Shown above the form: why the last answer was not accepted (a wrong password). */
  readonly error?: string | undefined;
}

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.4rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { color: #59636e; }
dd { margin: 0; overflow-wrap: anywhere; }
code { background: #f0f2f4; padding: .1rem .3rem; border-radius: 4px; }
input[type=password] { width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }
.actions { display: flex; gap: .75rem; margin-top: 1rem; }
button { padding: .5rem 1.2rem; font-size: 1rem; border-radius: 6px; border: 1px solid #d1d9e0; background: #f6f8fa; }
button[value=approve] { background: #1f883d; border-color: #1f883d; color: #fff; }
.note { color: #59636e; font-size: .9rem; }
.error { color: #d1242f; font-weight: 600; }
`;

/**
 * Headers for every page: nothing but the one inline style block may load or run, no page may
 * frame it (clickjacking), and nothing is cached. No `form-action`: browsers apply it to the
 * redirects after the form, and those go to the client's redirect URI. The referrer policy is
 * `same-origin`, not `no-referrer`: under `no-referrer` a browser sends the form's POST with
 * `Origin: null`, which the origin guard (rightly) refuses, so no one could approve; `same-origin`
 * still keeps the page's URL (its interaction id) from every other origin.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store'
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · mcp-gateway</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

/** The approval form. It posts back to its own URL; the interaction cookie ties it to this request. */
export function consentPage(request: ConsentRequest): string {
  const redirectHost = URL.parse(request.redirectUri)?.host ?? request.redirectUri;
  return page(
    'Allow access to this gateway?',
    `<p>An application asks to use the tools behind this mcp-gateway on your behalf.</p>
<dl>
<dt>Application</dt><dd>${escapeHtml(request.clientName ?? '(no name given)')}</dd>
<dt>Client id</dt><dd><code>${escapeHtml(request.clientId)}</code></dd>
<dt>Returns to</dt><dd><code>${escapeHtml(redirectHost)}</code></dd>
<dt>Resource</dt><dd><code>${escapeHtml(request.resource)}</code></dd>
</dl>
<p class="note">Approve only if you started this connection yourself and recognise where it returns to.</p>
${request.error === undefined ? '' : `<p class="error">${escapeHtml(request.error)}</p>\n`}<form method="post" action="/oauth/consent/${encodeURIComponent(request.uid)}">
<label for="password">Admin password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus>
<div class="actions"><button name="decision" value="approve">Approve</button><button name="decision" value="deny">Deny</button></div>
</form>`
  );
}

/**
 * Shown instead of the form while no admin password is set: nobody can approve anything yet.
 * `stateDir` is the gateway's state directory, which the command must name to set it there.
 */
export function noPasswordPage(stateDir: string): string {
  return page(
    'No admin password is set',
    `<p>Approving an application needs the gateway's admin password, and none is set yet.</p>
<p>On the machine running the gateway, run</p>
<p><code>${escapeHtml(setPasswordCommand(stateDir))}</code></p>
<p>then reload this page.</p>`
  );
}

/** The command that sets the admin password of the gateway whose state is in `stateDir`. */
export function setPasswordCommand(stateDir: string): string {
  const quoted = /^[\w./-]+$/.test(stateDir) ? stateDir : `'${stateDir.replaceAll("'", "'\\''")}'`;
  return `mcp-gateway admin set-password --state-dir ${quoted}`;
}

/** A page that only tells: an expired request, a refused form, an error from the OAuth server. */
export function messagePage(title: string, message: string): string {
  return page(title, `<p>${escapeHtml(message)}</p>`);
}
