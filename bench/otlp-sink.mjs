// The tracing benchmark's collector: accepts OTLP/HTTP exports and answers 200, counting them.
// A process of its own: the bench runs wrk synchronously, so a sink in its process would not answer.
// GET /count -> {"exports":N,"bytes":B}. Prints its port once listening.
import { createServer } from 'node:http';

const seen = { exports: 0, bytes: 0 };
const server = createServer((req, res) => {
  if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
  req.on('data', (chunk) => (seen.bytes += chunk.length));
  req.on('end', () => {
    seen.exports++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
