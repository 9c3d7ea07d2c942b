/**
 * Asks V8 for the collection a heap snapshot starts with: a full one that also shrinks the young
 * generation to its smallest size and gives the freed pages back to the system. Loading the
 * gateway's modules grows the young generation to its maximum (two 16 MB semi-spaces), and an idle
 * process never collects in a way that returns them: this takes about 20 MB off idle RSS. V8 grows
 * the young generation again under load, so throughput is what it was (a smaller maximum, with
 * `--max-semi-space-size`, would cost calls/s instead). Goes through an in-process inspector
 * session, which opens no port. Rejects when the inspector is missing (a Node.js built without it).
 */
export async function reduceMemory(): Promise<void> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.collectGarbage');
  } finally {
    session.disconnect();
  }
}
