import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { MAX_JSON_DEPTH } from './guards.js';
import { HttpError } from './http-error.js';

/**
 * Counts the nesting of JSON text fed to it in pieces (brackets outside strings, an escape split
 * across pieces included), without parsing it. Invalid JSON gets a number too: the parser refuses
 * it afterwards.
 */
class DepthCounter {
  deepest = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Counts `bytes`; stops once the deepest nesting is past `limit` (and returns it). */
  feed(bytes: Uint8Array, limit = Infinity): number {
    let { depth, deepest, inString, escaped } = this;
    for (let i = 0; i < bytes.length && deepest <= limit; i++) {
      const byte = bytes[i]!;
      if (escaped) escaped = false;
      else if (inString) {
        if (byte === 0x5c) escaped = true;
        else if (byte === 0x22) inString = false;
      } else if (byte === 0x22) inString = true;
      else if (byte === 0x5b || byte === 0x7b) {
        if (++depth > deepest) deepest = depth;
      } else if (byte === 0x5d || byte === 0x7d) depth--;
    }
    Object.assign(this, { depth, deepest, inString, escaped });
    return deepest;
  }
}

/** The deepest nesting of the JSON text in `bytes`; stops counting once past `limit`. */
export function jsonTextDepth(bytes: Uint8Array, limit = Infinity): number {
  return new DepthCounter().feed(bytes, limit);
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, -32600, `Request body too large: the limit is ${maxBytes} bytes`);
}

function tooDeep(): HttpError {
  return new HttpError(400, -32600, `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
}

/** How many bodies of the largest size may be in flight at once, gateway-wide (see {@link jsonBody}). */
export const BODIES_IN_FLIGHT = 8;

/** A 503 with Retry-After; `what` says which bound is full. */
function busy(what: string): HttpError {
  return new HttpError(503, -32000, `Server busy: ${what}; retry after the Retry-After seconds`, {
    'retry-after': '1'
  });
}

function budgetFull(budget: number): HttpError {
  return busy(
    `request bodies being received already fill the gateway's budget of ${budget} bytes (${BODIES_IN_FLIGHT} × the body limit)`
  );
}

/**
 * Reads a JSON body (any JSON value; an empty body is `{}`) into `req.body`, refusing before
 * anything is parsed: a declared length over `maxBytes` (413, nothing read), a body that grows past
 * it (413, the rest discarded), one nested deeper than {@link MAX_JSON_DEPTH} (400, counted on the
 * bytes as they arrive, the rest discarded), a charset other than UTF-8 (415); malformed JSON is
 * 400 -32700. A request whose connection closed before its body arrived is 400.
 *
 * The bytes of all bodies being received at once, through every route given this handler, stay
 * within a budget of {@link BODIES_IN_FLIGHT} × `maxBytes`, counted as they arrive (so holding a
 * share costs a client the bandwidth of sending it, not a header): a body whose bytes would overflow
 * it is refused (503 with Retry-After, the rest discarded). Why: the bodies are native memory that
 * V8 does not count, and the C allocator keeps what a peak of them used resident after they are
 * freed; under 10,000 hostile bodies, 50 at a time, RSS stayed at 2× idle with the heap flat
 * (issue 16, item 4). The budget bounds that peak whatever the concurrency.
 *
 * A compressed body (Content-Encoding) goes to express.json, which inflates it up to `maxBytes`; at
 * most {@link BODIES_IN_FLIGHT} of those are read at once (503 beyond), a bound of its own, so that
 * compressing does not step around the budget.
 *
 * Why not express.json for the rest: it decodes each chunk to a string as it arrives and parses the
 * joined string, more copies of the same bytes. Here a body is one Buffer, decoded once.
 */
export function jsonBody(maxBytes: number): RequestHandler {
  const compressed = express.json({ limit: maxBytes, strict: false, type: () => true });
  const budget = BODIES_IN_FLIGHT * maxBytes;
  let inFlight = 0;
  let compressedInFlight = 0;
  return (req, res, next) => {
    if (req.destroyed) {
      next(notReceived());
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      if (compressedInFlight >= BODIES_IN_FLIGHT) {
        res.setHeader('connection', 'close'); // the unread body is not worth receiving
        next(busy(`${BODIES_IN_FLIGHT} compressed request bodies are being inflated already`));
        return;
      }
      compressedInFlight++;
      let done = false;
      const release = () => {
        if (!done) compressedInFlight--;
        done = true;
      };
      req.once('close', release);
      compressed(req, res, (error?: unknown) => {
        release();
        next(error);
      });
      return;
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !['utf-8', 'utf8'].includes(charset.toLowerCase())) {
      next(new HttpError(415, -32000, `Unsupported body encoding: charset ${charset}; send UTF-8`));
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (declared > maxBytes) {
      next(tooLarge(maxBytes));
      return;
    }
    // Reserved as the bytes arrive, released once the body is read, refused or abandoned.
    let reserved = 0;
    const reserve = (bytes: number): boolean => {
      if (inFlight + bytes - reserved > budget) return false;
      inFlight += bytes - reserved;
      reserved = bytes;
      return true;
    };
    const release = () => {
      inFlight -= reserved;
      reserved = 0;
    };
    readBody(req, maxBytes, reserve, budget).then(
      bytes => {
        release();
        const parsed = parseJson(bytes);
        if (parsed instanceof HttpError) {
          next(parsed);
          return;
        }
        req.body = parsed.value;
        next();
      },
      (error: unknown) => {
        release();
        next(error);
      }
    );
  };
}

function notReceived(reason = 'the connection closed first'): HttpError {
  return new HttpError(400, -32600, `Request body not received: ${reason}`);
}

/**
 * The body's bytes in one Buffer; rejects with a 413 once it grows past `maxBytes`, with a 400 once
 * it is nested too deep, with a 503 once `reserve` (called with the size so far) refuses it; the
 * rest is discarded.
 */
function readBody(
  req: IncomingMessage,
  maxBytes: number,
  reserve: (bytes: number) => boolean,
  budget: number
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const depth = new DepthCounter();
    let size = 0;
    const refuse = (error: HttpError) => {
      chunks.length = 0;
      finish();
      req.resume(); // discard the rest, as express does once the refusal is sent
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) refuse(tooLarge(maxBytes));
      else if (!reserve(size)) refuse(budgetFull(budget));
      else if (depth.feed(chunk, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) refuse(tooDeep());
      else chunks.push(chunk);
    };
    const onEnd = () => {
      finish();
      resolve(Buffer.concat(chunks, size));
    };
    // Whichever of these comes first settles it: a closed connection always emits `close`.
    const onAborted = (error?: Error) => {
      chunks.length = 0;
      finish();
      reject(notReceived(error?.message ?? 'aborted'));
    };
    const onClose = () => onAborted();
    const finish = () => {
      req
        .off('data', onData)
        .off('end', onEnd)
        .off('error', onAborted)
        .off('aborted', onAborted)
        .off('close', onClose);
    };
    req
      .on('data', onData)
      .once('end', onEnd)
      .once('error', onAborted)
      .once('aborted', onAborted)
      .once('close', onClose);
  });
}

/** JSON.parse of UTF-8 bytes (a leading BOM skipped, invalid sequences replaced, as express.json does), or a 400. */
function parseJson(bytes: Buffer): { value: unknown } | HttpError {
  if (bytes.length === 0) return { value: {} };
  const text = bytes.toString('utf8');
  try {
    return { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown };
  } catch {
    return new HttpError(400, -32700, 'Parse error: the body is not valid JSON');
  }
}
