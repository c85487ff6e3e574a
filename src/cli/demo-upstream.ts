import { createServer, type Server } from 'node:http';

/**
 * The bundled stand-in for a data service: answers every request with JSON describing what it
 * received (method, path, body size, and the identity headers Tollgate added).
 */
export function createDemoUpstream(): Server {
  return createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      const body = JSON.stringify({
        service: 'demo upstream',
        method: req.method,
        path: req.url,
        receivedBytes: bytes,
        tokenId: req.headers['x-tollgate-token-id'] ?? null,
        repository: req.headers['x-tollgate-repository'] ?? null,
        right: req.headers['x-tollgate-right'] ?? null,
        user: req.headers['x-tollgate-user'] ?? null,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${body}\n`);
    });
  });
}
