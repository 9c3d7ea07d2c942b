import type { JSONRPCMessage } from '@modelcontextprotocol/client';
import type { Connector, Link } from '../../src/connectors/connector.js';

/**
 * A `Connector` around another one whose links' transports can refuse a send, as a remote link does
 * when its connection is already gone: `refuse` is asked for each message sent on the `link`-th link
 * (counted from 1) and returns the error to reject that send with, or undefined to send it.
 */
export class RefusingConnector implements Connector {
  /** Links opened, in order. */
  readonly links: Link[] = [];
  /** Every message whose send was refused, with the number of its link. */
  readonly refused: { link: number; method: string | undefined }[] = [];

  constructor(
    private readonly inner: Connector,
    private readonly refuse: (message: JSONRPCMessage, link: number) => Error | undefined
  ) {}

  async open(signal: AbortSignal): Promise<Link> {
    const link = await this.inner.open(signal);
    const number = this.links.push(link);
    const { transport } = link;
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      const failure = this.refuse(message, number);
      if (!failure) return send(message, options);
      this.refused.push({ link: number, method: 'method' in message ? message.method : undefined });
      return Promise.reject(failure);
    };
    return link;
  }
}
