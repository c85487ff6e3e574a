// Baseline: the do-it-yourself sidecar nginx asks through auth_request. A tiny node:http service
// that hashes the bearer token (SHA-256, as Tollgate stores it) and looks it up in a set held in
// memory: 204 when known, 401 otherwise. No store, no rights, no metrics: the least such a
// service does, so nginx + this is the floor of the "keep nginx, add a check" design.
import { createHash } from 'node:crypto';
import http from 'node:http';

const [port = '0', ...secrets] = process.argv.slice(2);
const known = new Set(secrets.map((s) => createHash('sha256').update(s).digest('hex')));

const server = http.createServer((req, res) => {
  const header = req.headers.authorization ?? '';
  const secret = header.slice(0, 7).toLowerCase() === 'bearer ' ? header.slice(7) : '';
  res.statusCode = secret !== '' && known.has(createHash('sha256').update(secret).digest('hex')) ? 204 : 401;
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1', () => console.log(server.address().port));
