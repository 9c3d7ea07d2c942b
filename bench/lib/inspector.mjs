// A tiny client for a child's inspector (node --inspect=127.0.0.1:0): forces a full garbage
// collection before a memory reading, so the reading counts what is alive, not what is garbage
// the collector has not got to yet.

export async function openInspector(wsUrl) {
  const socket = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${wsUrl}`)), {
      once: true
    });
  });
  let nextId = 1;
  const pending = new Map();
  socket.addEventListener('message', event => {
    const message = JSON.parse(String(event.data));
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    /** Two full collections (the second catches what finalizers of the first freed). */
    async collectGarbage() {
      await send('HeapProfiler.collectGarbage');
      await send('HeapProfiler.collectGarbage');
    },
    /** The child's `process.memoryUsage()`. */
    memoryUsage() {
      return this.evaluate('process.memoryUsage()');
    },
    /** The value of `expression` (JSON-serializable) in the child. */
    async evaluate(expression) {
      const { result } = await send('Runtime.evaluate', {
        expression: `JSON.stringify(${expression})`,
        returnByValue: true
      });
      return JSON.parse(result.value);
    },
    close() {
      socket.close();
    }
  };
}
