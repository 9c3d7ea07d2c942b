import type { ServerResponse } from 'node:http';
import { SSEServerTransport } from '@modelcontextprotocol/server-legacy/sse';

export type RequestId = string | number;

/**
 * The SDK's SSE transport, holding shutdown for each request it was given until its answer is
 * written to the stream (the POST that carried it was answered 202 long before), or the stream ends.
 */
export class AnsweringSseTransport extends SSEServerTransport {
  private readonly unanswered = new Map<RequestId, () => void>();
  /**
   * Set by the first close or hang-up. The SDK's close() has no such guard and calls onclose, whose
   * server.close() calls close() again: without it, each close recursed until the stack overflowed.
   */
  private closed = false;

  constructor(endpoint: string, res: ServerResponse) {
    super(endpoint, res);
    // Registered before the SDK's own listener (added at start), so a hang-up is seen as closed
    // before onclose runs, and the answers awaited at shutdown are released on that path too.
    res.once('close', () => {
      this.closed = true;
      this.releaseAll();
    });
  }

  /** Called for each client request handed to the server; `release` once it is answered. */
  awaitAnswer(id: RequestId, release: () => void): void {
    this.unanswered.get(id)?.();
    this.unanswered.set(id, release);
  }

  override async send(...args: Parameters<SSEServerTransport['send']>): Promise<void> {
    try {
      await super.send(...args);
    } finally {
      const [message] = args;
      if (!('method' in message) && 'id' in message && message.id !== undefined) {
        this.unanswered.get(message.id)?.();
        this.unanswered.delete(message.id);
      }
    }
  }

  /** Ends the stream once; later calls (and calls after a hang-up) do nothing. */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await super.close();
    } finally {
      this.releaseAll();
    }
  }

  private releaseAll(): void {
    for (const release of this.unanswered.values()) release();
    this.unanswered.clear();
  }
}
