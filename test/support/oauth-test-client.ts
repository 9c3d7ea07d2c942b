import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens
} from '@modelcontextprotocol/client';

/** Where the test client says it receives the authorization response; nothing listens there. */
export const TEST_REDIRECT_URL = 'http://127.0.0.1:9/callback';

/**
 * An OAuth client as an MCP host would implement one for the SDK's `auth()`: everything kept in
 * memory, and the authorization URL captured instead of opening a browser.
 */
export class MemoryOAuthClient implements OAuthClientProvider {
  information: StoredOAuthClientInformation | undefined;
  saved: StoredOAuthTokens | undefined;
  authorizationUrl: URL | undefined;
  verifier = '';
  discovery: OAuthDiscoveryState | undefined;

  constructor(
    private readonly name = 'test client',
    /** When set, the client identifies itself with this Client ID Metadata Document URL. */
    readonly clientMetadataUrl?: string
  ) {}

  get redirectUrl(): string {
    return TEST_REDIRECT_URL;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.name,
      redirect_uris: [TEST_REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    };
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.information;
  }
  saveClientInformation(information: StoredOAuthClientInformation): void {
    this.information = information;
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    return this.verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }
}

/** What the browser ended on: the client's redirect URI with its parameters, or a page it stopped at. */
export interface BrowserOutcome {
  readonly status: number;
  /** The redirect to the client, when the flow got that far. */
  readonly redirect: URL | undefined;
  /** The last page's HTML, when it stopped on one. */
  readonly html: string;
}

/**
 * A browser with a cookie jar, enough to walk an authorization request through the gateway's
 * consent page: it follows redirects on the gateway's origin and stops at the first redirect that
 * leaves it (the client's redirect URI). Cookies are kept per name, ignoring path and expiry.
 */
export class ConsentBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly origin: string) {}

  /** Opens `url` and follows it to the consent page (or wherever it stops). */
  async open(
    url: URL | string
  ): Promise<{ status: number; url: URL; html: string; redirect: URL | undefined }> {
    let current = new URL(url);
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.fetch(current, { method: 'GET' });
      const location = res.headers.get('location');
      if (location === null || res.status < 300 || res.status >= 400) {
        return { status: res.status, url: current, html: await res.text(), redirect: undefined };
      }
      const next = new URL(location, current);
      if (next.origin !== this.origin) return { status: res.status, url: current, html: '', redirect: next };
      current = next;
    }
    throw new Error('too many redirects');
  }

  /** Submits the consent form on `pageUrl` as the browser would, then follows the redirects. */
  async submit(
    pageUrl: URL,
    html: string,
    fields: Record<string, string>,
    headers: Record<string, string> = { origin: this.origin }
  ): Promise<BrowserOutcome> {
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (action === undefined) throw new Error('no form on the page');
    const res = await this.fetch(new URL(action.replaceAll('&#38;', '&'), pageUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString()
    });
    const location = res.headers.get('location');
    if (location === null) return { status: res.status, redirect: undefined, html: await res.text() };
    const next = new URL(location, pageUrl);
    if (next.origin !== this.origin) return { status: res.status, redirect: next, html: '' };
    const followed = await this.open(next);
    return { status: followed.status, redirect: followed.redirect, html: followed.html };
  }

  /** The whole approval: open the authorization URL, approve with `password`, return the outcome. */
  async approve(authorizationUrl: URL, password: string): Promise<BrowserOutcome> {
    const page = await this.open(authorizationUrl);
    if (page.redirect) return { status: page.status, redirect: page.redirect, html: '' };
    return this.submit(page.url, page.html, { password, decision: 'approve' });
  }

  /** Sends a request with the jar's cookies and keeps the cookies it sets. */
  async fetch(url: URL, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Forgets every cookie: the same person in another browser. */
  clearCookies(): void {
    this.cookies.clear();
  }
}
