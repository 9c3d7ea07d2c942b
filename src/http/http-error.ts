/**
 * An HTTP-level refusal: a status and a JSON-RPC error code/message for the body. Thrown by
 * middleware and turned into a response in one place ({@link sendHttpError}).
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
    readonly headers: Record<string, string> = {}
  ) {
    super(message);
  }
}

/** Maps anything thrown while serving a request to an HttpError. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const status = (error as { status?: unknown; type?: unknown } | null)?.status;
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large' || status === 413) {
    return new HttpError(413, -32600, 'Request body too large');
  }
  if (type === 'entity.parse.failed')
    return new HttpError(400, -32700, 'Parse error: the body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpError(415, -32000, 'Unsupported body encoding');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, -32600, error instanceof Error ? error.message : 'Bad request');
  }
  return new HttpError(500, -32603, 'Internal error');
}
