import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { MAX_JSON_DEPTH } from './guards.js';
import { HttpError } from './http-error.js';

/**
 * The deepest nesting of the JSON text in `bytes`, counted over the bytes (brackets outside strings)
 * without parsing them; stops counting once past `limit`. Invalid JSON gets a number too: the
 * parser refuses it afterwards.
 */
export function jsonTextDepth(bytes: Uint8Array, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === 0x5c)
        i++; // a backslash: the next byte is escaped
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
  return deepest;
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, -32600, `Request body too large: the limit is ${maxBytes} bytes`);
}

/**
 * Reads a JSON body (any JSON value; an empty body is `{}`) into `req.body`, refusing before
 * anything is parsed: a declared length over `maxBytes` (413, nothing read), a body that grows past
 * it (413, the rest discarded), one nested deeper than {@link MAX_JSON_DEPTH} (400, counted on the
 * bytes), a charset other than UTF-8 (415); malformed JSON is 400 -32700.
 *
 * Why not express.json: it decodes each chunk to a string as it arrives and parses the joined
 * string, and under a run of hostile bodies the native memory of those copies, which V8 does not
 * count, stayed resident until a full collection that nothing triggered (issue 16, item 4). Here a
 * body is one Buffer, decoded once. A compressed body (Content-Encoding) goes to express.json.
 */
export function jsonBody(maxBytes: number): RequestHandler {
  const compressed = express.json({ limit: maxBytes, strict: false, type: () => true });
  return (req, res, next) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      compressed(req, res, next);
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
    readBody(req, maxBytes).then(bytes => {
      // Each level takes at least two bytes ("[" and "]"): a shorter body cannot be too deep.
      if (bytes.length > 2 * MAX_JSON_DEPTH && jsonTextDepth(bytes, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
        next(new HttpError(400, -32600, `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`));
        return;
      }
      const parsed = parseJson(bytes);
      if (parsed instanceof HttpError) {
        next(parsed);
        return;
      }
      req.body = parsed.value;
      next();
    }, next);
  };
}

/** The body's bytes in one Buffer; rejects with a 413 once it grows past `maxBytes` (the rest is discarded). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      finish();
      req.resume(); // discard the rest, as express does once the refusal is sent
      reject(tooLarge(maxBytes));
    };
    const onEnd = () => {
      finish();
      resolve(Buffer.concat(chunks, size));
    };
    const onAborted = (error?: Error) => {
      chunks.length = 0;
      finish();
      reject(new HttpError(400, -32600, `Request body not received: ${error?.message ?? 'aborted'}`));
    };
    const finish = () => {
      req.off('data', onData).off('end', onEnd).off('error', onAborted).off('aborted', onAborted);
    };
    req.on('data', onData).once('end', onEnd).once('error', onAborted).once('aborted', onAborted);
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
