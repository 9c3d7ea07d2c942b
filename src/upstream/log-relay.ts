import type { LoggingMessageNotificationParams } from '@modelcontextprotocol/client';

/** A server's `notifications/message`, as it sent it. */
export type LogMessage = LoggingMessageNotificationParams;

/** Told of a log message; must not throw. */
export type LogHandler = (message: LogMessage) => void;

/**
 * Decides whose a server's log message is. Over stdio a `notifications/message` carries no request
 * id, so the message goes to the requests in flight on the server when it arrives (each its own
 * `onlog`, if its caller wants logs): with one in flight it is that request's; with several, each
 * gets it and filters it by its own level. With none in flight it is unsolicited and goes to
 * `unsolicited`. A request counts from its send to its answer; the transport hands a log written
 * before the answer over first, so a request's last log still finds it.
 */
export class LogRelay {
  private readonly inFlight = new Set<{ readonly onlog: LogHandler | undefined }>();

  constructor(private readonly unsolicited: LogHandler) {}

  /** Counts a request in flight (with its caller's handler, if any) until the returned function runs. */
  open(onlog: LogHandler | undefined): () => void {
    const entry = { onlog };
    this.inFlight.add(entry);
    return () => this.inFlight.delete(entry);
  }

  deliver(message: LogMessage): void {
    if (this.inFlight.size === 0) {
      this.unsolicited(message);
      return;
    }
    for (const { onlog } of this.inFlight) onlog?.(message);
  }
}
