import { GatewayError } from '../errors.js';

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

/**
 * The HTTP status for a failed tool call made over the REST API: the client's mistakes are 4xx,
 * a server behind the gateway that fails is 502, one that cannot be reached now 503, a timeout 504.
 */
export function statusOfCallError(error: unknown): number {
  if (error instanceof GatewayError) {
    const statuses: Record<GatewayError['code'], number> = {
      unknown_tool: 404,
      unknown_prompt: 404,
      unknown_resource: 404,
      unknown_reference: 404,
      invalid_arguments: 400,
      server_unavailable: 503,
      server_busy: 503,
      forbidden: 403,
      engine_unreachable: 503,
      remote_unreachable: 503,
      remote_refused: 502,
      remote_invalid: 502,
      start_failed: 502,
      server_exited: 502,
      image_unavailable: 502,
      invalid_result: 502,
      message_too_large: 502,
      call_timeout: 504,
      cancelled: 499,
      login_required: 503,
      login_failed: 502,
      quarantined: 403,
      not_quarantined: 409
    };
    return statuses[error.code];
  }
  return 502;
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
