import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import type { Principal } from '../../auth/principal.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { SettingsStore } from '../../store/settings-store.js';
import { apiBodyGuard, jsonDepthGuard } from '../guards.js';
import { HttpError } from '../http-error.js';
import type { PasswordGuesses } from '../password-guesses.js';
import { rateLimit } from '../rate-limit.js';
import { cookieValue, DashboardSessions, sameToken, SESSION_TTL_MS, token } from './dashboard-sessions.js';
import { loginPage, noPasswordLoginPage } from './login-page.js';

export interface DashboardOptions {
  /** No login: a loopback gateway with `auth.mode: none`. Otherwise the admin password logs in. */
  readonly open: boolean;
  readonly settings: SettingsStore;
  readonly audit: AuditLog;
  /** The REST API, served again under `/ui/api` behind the dashboard's cookie and CSRF check. */
  readonly api: Router;
  /** The loaded servers.yaml, shown read-only. */
  readonly configFile: string;
  /** The state directory, for the command that sets a missing admin password. */
  readonly stateDir: string;
  readonly maxBodyBytes: number;
  /** Login forms accepted per minute from one address; more get 429 before any password check. */
  readonly loginsPerMinute: number;
  /** The bound on wrong admin passwords from all addresses, shared with the OAuth consent page. */
  readonly passwordGuesses: PasswordGuesses;
}

export const COOKIE = 'mgw_dashboard';
/** The header the dashboard's page sends its CSRF token in, on every state-changing request. */
export const CSRF_HEADER = 'x-csrf-token';
const STATIC_DIR = path.join(import.meta.dirname, 'static');
const STATIC_FILES: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css'
};

/**
 * Scripts, styles and requests only from the gateway itself (it works offline), no framing, nothing
 * cached. The login form posts to its own origin.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  // Not no-referrer: with it a form's POST carries `Origin: null`, which the origin guard refuses.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff'
};

const DASHBOARD_PRINCIPAL: Principal = { id: 'dashboard:admin', kind: 'dashboard', admin: true };

/**
 * The dashboard at `/ui`: its page and assets, the login with the admin password (a session cookie,
 * `HttpOnly` and `SameSite=Strict`), and the REST API again under `/ui/api` for the page. Every
 * state-changing request to `/ui/api` must carry the session's CSRF token in `X-CSRF-Token`; one
 * without it or with another is refused with 403 before the API sees it.
 */
export function createUiRouter(options: DashboardOptions): Router {
  const router = express.Router();
  const sessions = new DashboardSessions();
  // With no login there is no session: one token for the process still keeps other sites' forms out.
  const openCsrf = token();

  /** The CSRF token of the request's session, or undefined when it has none (not logged in). */
  const csrfOf = (req: Request): string | undefined =>
    options.open ? openCsrf : sessions.find(cookieValue(req.headers.cookie, COOKIE))?.csrf;

  const send = (res: Response, status: number, html: string) =>
    res.status(status).set(PAGE_HEADERS).type('html').send(html);

  router.get(Object.keys(STATIC_FILES), async (req, res) => {
    const file = STATIC_FILES[req.path]!;
    if (file === 'index.html' && csrfOf(req) === undefined) {
      res.redirect(303, '/ui/login');
      return;
    }
    res
      .set(PAGE_HEADERS)
      .type(path.extname(file))
      .send(await readFile(path.join(STATIC_DIR, file), 'utf8'));
  });

  router.get('/login', (_req, res) => {
    if (options.open) return res.redirect(303, '/ui/');
    if (!options.settings.hasAdminPassword()) return send(res, 409, noPasswordLoginPage(options.stateDir));
    send(res, 200, loginPage());
  });

  router.post(
    '/login',
    rateLimit(options.loginsPerMinute),
    options.passwordGuesses.gate,
    express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }),
    async (req, res) => {
      if (options.open) return res.redirect(303, '/ui/');
      if (!options.settings.hasAdminPassword()) return send(res, 409, noPasswordLoginPage(options.stateDir));
      const body = (req.body ?? {}) as Record<string, unknown>;
      const password = typeof body.password === 'string' ? body.password : '';
      if (!(await options.settings.verifyAdminPassword(password))) {
        options.passwordGuesses.wrong();
        options.audit.record('auth_failed', {
          remoteAddress: req.socket.remoteAddress,
          detail: { reason: 'wrong admin password on the dashboard login', path: req.path }
        });
        return send(res, 403, loginPage('Wrong admin password. Type it again.'));
      }
      const session = sessions.create();
      res.cookie(COOKIE, session.id, {
        httpOnly: true,
        sameSite: 'strict',
        secure: req.secure,
        path: '/ui',
        maxAge: SESSION_TTL_MS
      });
      res.redirect(303, '/ui/');
    }
  );

  router.use(['/session', '/logout', '/config', '/api'], (req, res, next) => {
    const csrf = csrfOf(req);
    if (csrf === undefined) {
      next(new HttpError(401, -32001, 'not logged in to the dashboard: open /ui/login and log in'));
      return;
    }
    const header = req.headers[CSRF_HEADER];
    if (
      !['GET', 'HEAD'].includes(req.method) &&
      !sameToken(typeof header === 'string' ? header : undefined, csrf)
    ) {
      options.audit.record('auth_failed', {
        remoteAddress: req.socket.remoteAddress,
        detail: { reason: 'dashboard CSRF token missing or wrong', path: req.originalUrl, method: req.method }
      });
      next(
        new HttpError(
          403,
          -32001,
          `the dashboard's CSRF token is ${header === undefined ? 'missing' : 'wrong'} (header X-CSRF-Token): reload /ui and try again`
        )
      );
      return;
    }
    res.locals.principal = DASHBOARD_PRINCIPAL;
    next();
  });

  router.get('/session', (req, res) => {
    res.set('cache-control', 'no-store').json({ csrf: csrfOf(req), open: options.open });
  });

  router.post('/logout', (req, res) => {
    const id = cookieValue(req.headers.cookie, COOKIE);
    if (id !== undefined) sessions.delete(id);
    res.clearCookie(COOKIE, { path: '/ui', httpOnly: true, sameSite: 'strict', secure: req.secure });
    res.status(204).end();
  });

  router.get('/config', async (_req, res) => {
    res.json({ file: options.configFile, text: await readFile(options.configFile, 'utf8') });
  });

  router.use(
    '/api',
    apiBodyGuard,
    express.json({ limit: options.maxBodyBytes, strict: false }),
    jsonDepthGuard,
    options.api
  );
  return router;
}
