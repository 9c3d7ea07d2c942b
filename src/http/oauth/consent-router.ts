import express, { type Request, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import { errors, type Interaction } from 'oidc-provider';
import type { AuditLog } from '../../store/audit-log.js';
import type { SettingsStore } from '../../store/settings-store.js';
import type { PasswordGuesses } from '../password-guesses.js';
import { rateLimit } from '../rate-limit.js';
import { consentPage, messagePage, noPasswordPage, PAGE_HEADERS } from './consent-page.js';
import { CONSENT_PATH, MCP_SCOPE, OWNER_ACCOUNT_ID } from './create-provider.js';
import { resourceTarget } from './profile-resource.js';

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
  /** The bound on wrong admin passwords from all addresses, shared with the dashboard login. */
  readonly passwordGuesses: PasswordGuesses;
  /** The gateway's state directory, for the command that sets a missing admin password. */
  readonly stateDir: string;
}

/** Wrong admin passwords one authorization request takes, each answered by the form again; then it is denied. */
export const PASSWORD_TRIES = 5;
/** Requests whose wrong passwords are counted at once; past it the oldest count is dropped (memory stays bounded). */
const MAX_COUNTED = 10_000;

/** OIDC scopes a client may ask for besides the resource's; anything else requested is ignored. */
const OIDC_SCOPES = ['openid', 'offline_access'];

function send(res: Response, status: number, html: string): void {
  res.status(status).set(PAGE_HEADERS).type('html').send(html);
}

/**
 * The consent page: `GET` shows what asks for access, `POST` takes the owner's decision and the
 * admin password. A request is bound to its interaction twice over: the interaction cookie
 * (signed, SameSite=Lax, scoped to this path, so another site's form cannot carry it) must name
 * the same interaction as the URL, and a browser's `Origin` must be the gateway's. A wrong password
 * shows the form again, so a typo costs nothing; the {@link PASSWORD_TRIES}th denies the request
 * (the client has to start again). With the forms one address may post rate-limited, guessing costs
 * an authorization request per few guesses and cannot go faster than `attemptsPerMinute`, nor,
 * from all addresses together, than `passwordGuesses` allows.
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
  /** Wrong passwords so far, by interaction. */
  const wrongPasswords = new Map<string, number>();

  const expired = (res: Response) =>
    send(
      res,
      400,
      messagePage(
        'This request is no longer valid',
        'It expired, was already answered, or was opened in another browser. Start the connection again from your application.'
      )
    );

  /** The approval form for `interaction`, with `error` above it when an answer was not accepted. */
  /** The resource the client asked for (checked by the provider: the root or a profile's URL). */
  const askedResource = (interaction: Interaction): string => {
    const asked = interaction.params.resource;
    return typeof asked === 'string' && resourceTarget(resource, asked) !== undefined ? asked : resource;
  };

  async function showForm(res: Response, interaction: Interaction, status: number, error?: string) {
    const clientId = String(interaction.params.client_id);
    const client = await provider.Client.find(clientId);
    send(
      res,
      status,
      consentPage({
        uid: interaction.uid,
        clientId,
        clientName: client?.clientName,
        redirectUri: String(interaction.params.redirect_uri),
        resource: askedResource(interaction),
        error
      })
    );
  }

  router.get(`${CONSENT_PATH}/:uid`, async (req, res) => {
    const interaction = await interactionOf(req, res);
    if (!interaction) return expired(res);
    if (!settings.hasAdminPassword()) return send(res, 200, noPasswordPage(options.stateDir));
    await showForm(res, interaction, 200);
  });

  router.post(
    `${CONSENT_PATH}/:uid`,
    rateLimit(options.attemptsPerMinute),
    options.passwordGuesses.gate,
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
      wrongPasswords.delete(interaction.uid);
      audit.record('consent_denied', { ...fields, detail: { clientId, reason } });
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: reason },
        { mergeWithLastSubmission: false }
      );
    };

    if (body.decision !== 'approve') return deny('the owner denied access');
    if (!settings.hasAdminPassword()) return send(res, 409, noPasswordPage(options.stateDir));
    const password = typeof body.password === 'string' ? body.password : '';
    if (!(await settings.verifyAdminPassword(password))) {
      options.passwordGuesses.wrong();
      const wrong = (wrongPasswords.get(interaction.uid) ?? 0) + 1;
      if (wrong >= PASSWORD_TRIES) return deny(`wrong admin password, ${wrong} times`);
      audit.record('auth_failed', {
        ...fields,
        detail: {
          reason: 'wrong admin password on the consent page',
          clientId,
          triesLeft: PASSWORD_TRIES - wrong
        }
      });
      wrongPasswords.delete(interaction.uid);
      wrongPasswords.set(interaction.uid, wrong);
      if (wrongPasswords.size > MAX_COUNTED) wrongPasswords.delete(wrongPasswords.keys().next().value!);
      const left = PASSWORD_TRIES - wrong;
      return showForm(
        res,
        interaction,
        403,
        `Wrong admin password. ${left} ${left === 1 ? 'try' : 'tries'} left before this request is denied.`
      );
    }
    wrongPasswords.delete(interaction.uid);

    const grant =
      (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ??
      new provider.Grant({ accountId: OWNER_ACCOUNT_ID, clientId });
    const requested = typeof interaction.params.scope === 'string' ? interaction.params.scope.split(' ') : [];
    const oidcScopes = OIDC_SCOPES.filter(scope => requested.includes(scope));
    if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes);
    // A grant for a profile's URL gives tokens bound to that profile (see resourceTarget).
    grant.addResourceScope(askedResource(interaction), MCP_SCOPE);
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
