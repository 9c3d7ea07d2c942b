// What both floor servers share: reading a request body, and serving on a free 127.0.0.1 port
// (printed on stdout) until SIGTERM.
import http from 'node:http';

export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Serves `handle(req, res)` with keep-alive; a failure answers 500 with its message. Prints the port
 * on stdout once listening; on SIGTERM closes every connection, awaits `stop()` and exits 0.
 */
export function serveFloor(handle, stop) {
  const server = http.createServer((req, res) => {
    handle(req, res).catch(error => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.keepAliveTimeout = 5_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void stop().finally(() => process.exit(0));
  });
}
