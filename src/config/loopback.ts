/** Hostnames that name this machine's loopback interface. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
