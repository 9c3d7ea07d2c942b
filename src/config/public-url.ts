import { isLoopback } from './loopback.js';

/**
 * The gateway's public URL as the OAuth server needs it: https, or http on a loopback host when
 * `allowInsecure` (tests, local trials); an origin with no path, query or credentials, because
 * the issuer is that origin and its metadata must be at the origin's well-known URLs. Throws,
 * saying what to change, for anything else.
 */
export function parsePublicUrl(value: string, allowInsecure: boolean): URL {
  const url = URL.parse(value);
  if (url === null) throw new Error(`publicUrl ${JSON.stringify(value)} is not a URL`);
  const secure =
    url.protocol === 'https:' || (url.protocol === 'http:' && allowInsecure && isLoopback(url.hostname));
  if (!secure) {
    throw new Error(
      `publicUrl ${JSON.stringify(value)} must be https: OAuth runs only over TLS (terminate it in a proxy in front of the gateway)`
    );
  }
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new Error(
      `publicUrl ${JSON.stringify(value)} must be an origin like https://gateway.example.com, without a path: the OAuth issuer is that origin`
    );
  }
  return url;
}
