import express, { type Request, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import { errors, type Interaction } from 'oidc-provider';
import type { AuditLog } from '../../store/audit-log.js';
import type { SettingsStore } from '../../store/settings-store.js';
import { rateLimit } from '../rate-limit.js';
import { consentPage, messagePage, noPasswordPage, PAGE_HEADERS } from './consent-page.js';
import { CONSENT_PATH, MCP_SCOPE, OWNER_ACCOUNT_ID } from './create-provider.js';

export interface ConsentRouterOptions {
  readonly provider: Provider;
  readonly settings: SettingsStore;
  readonly audit: AuditLog;
  /** The gateway's public origin; a form posted from any other origin is refused. */
  readonly publicOrigin: string;
  /** The MCP resource the owner's approval grants. */
  readonly resource: string;
  /** Consent forms accepted per minute from one remote address; more get 429 before any password check. */
  readonly attemptsPerMinute: number;
}

/** OIDC scopes a client may ask for besides the resource's; anything else requested is ignored. */
const OIDC_SCOPES = ['openid', 'offline_access'];

function send(res: Response, status: number, html: string): void {
  res.status(status).set(PAGE_HEADERS).type('html').send(html);
}

/**
 * The consent page: `GET` shows what asks for access, `POST` takes the owner's decision and the
 * admin password. A request is bound to its interaction twice over: the interaction cookie
 * (signed, SameSite=Lax, scoped to this path, so another site's form cannot carry it) must name
 * the same interaction as the URL, and a browser's `Origin` must be the gateway's. One wrong
 * password denies the request (the client has to start again), and the forms one address may
 * post are rate-limited, so guessing the password costs an authorization request per guess and
 * cannot go faster than `attemptsPerMinute`.
 */
export function createConsentRouter(options: ConsentRouterOptions): Router {
  const { provider, settings, audit, resource } = options;
  const router = express.Router();

  /**
   * The interaction this request belongs to, or undefined when the cookie is missing or stale, names
   * another interaction, or the interaction was already answered: an answer is final until the
   * browser follows it back to the authorization endpoint, so a wrong password cannot be retried.
   */
  async function interactionOf(
    req: Request<{ uid: string }>,
    res: Response
  ): Promise<Interaction | undefined> {
    try {
      const interaction = await provider.interactionDetails(req, res);
      return interaction.uid === req.params.uid && interaction.result === undefined ? interaction : undefined;
    } catch (error) {
      if (error instanceof errors.SessionNotFound) return undefined;
      throw error;
    }
  }

  /** Interactions whose form is being checked now: a second answer sent meanwhile is refused, not raced. */
  const answering = new Set<string>();

  const expired = (res: Response) =>
    send(
      res,
      400,
      messagePage(
        'This request is no longer valid',
        'It expired, was already answered, or was opened in another browser. Start the connection again from your application.'
      )
    );

  router.get(`${CONSENT_PATH}/:uid`, async (req, res) => {
    const interaction = await interactionOf(req, res);
    if (!interaction) return expired(res);
    if (!settings.hasAdminPassword()) return send(res, 200, noPasswordPage());
    const clientId = String(interaction.params.client_id);
    const client = await provider.Client.find(clientId);
    send(
      res,
      200,
      consentPage({
        uid: interaction.uid,
        clientId,
        clientName: client?.clientName,
        redirectUri: String(interaction.params.redirect_uri),
        resource
      })
    );
  });

  router.post(
    `${CONSENT_PATH}/:uid`,
    rateLimit(options.attemptsPerMinute),
    express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }),
    async (req: Request<{ uid: string }>, res) => {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== options.publicOrigin) {
        return send(res, 403, messagePage('Refused', 'The form was not sent from this gateway.'));
      }
      if (answering.has(req.params.uid)) return expired(res);
      answering.add(req.params.uid);
      try {
        await answer(req, res);
      } finally {
        answering.delete(req.params.uid);
      }
    }
  );

  async function answer(req: Request<{ uid: string }>, res: Response): Promise<void> {
    const interaction = await interactionOf(req, res);
    if (!interaction) return expired(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const clientId = String(interaction.params.client_id);
    const fields = { principal: `oauth:${clientId}`, remoteAddress: req.ip ?? '' };

    const deny = async (reason: string) => {
      audit.record('consent_denied', { ...fields, detail: { clientId, reason } });
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: reason },
        { mergeWithLastSubmission: false }
      );
    };

    if (body.decision !== 'approve') return deny('the owner denied access');
    if (!settings.hasAdminPassword()) return send(res, 409, noPasswordPage());
    const password = typeof body.password === 'string' ? body.password : '';
    if (!(await settings.verifyAdminPassword(password))) return deny('wrong admin password');

    const grant =
      (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ??
      new provider.Grant({ accountId: OWNER_ACCOUNT_ID, clientId });
    const requested = typeof interaction.params.scope === 'string' ? interaction.params.scope.split(' ') : [];
    const oidcScopes = OIDC_SCOPES.filter(scope => requested.includes(scope));
    if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes);
    grant.addResourceScope(resource, MCP_SCOPE);
    const grantId = await grant.save();

    audit.record('consent_approved', { ...fields, detail: { clientId, grantId } });
    // Login and consent in one step: the owner is the only account, and the password proves it.
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: OWNER_ACCOUNT_ID, remember: false }, consent: { grantId } },
      { mergeWithLastSubmission: false }
    );
  }
  return router;
}
