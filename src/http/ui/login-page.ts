import { escapeHtml, setPasswordCommand } from '../oauth/consent-page.js';

/** The dashboard's login form; `error` is shown above it when the last password was refused. */
export function loginPage(error?: string): string {
  return page(
    'Log in to the dashboard',
    `${error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>\n`}<form method="post" action="/ui/login" class="login">
<label for="password">Admin password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
<p class="note">The password is the gateway's admin password, the one the OAuth consent page asks for.</p>`
  );
}

/** Shown instead of the form while no admin password is set. */
export function noPasswordLoginPage(stateDir: string): string {
  return page(
    'No admin password is set',
    `<p>The dashboard of a gateway with authentication needs the gateway's admin password, and none is set yet.</p>
<p>On the machine running the gateway, run <code>${escapeHtml(setPasswordCommand(stateDir))}</code>, then reload this page.</p>`
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · mcp-gateway</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/app.css"></head>
<body class="narrow"><main><h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}
