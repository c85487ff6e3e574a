import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  bytes: number;
  /** True when the client (Tollgate) went away before the body ended. */
  aborted: boolean;
}

export interface Upstream {
  server: Server;
  port: number;
  origin: string;
  received: Received[];
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, record: Received) => void;

/** By default: read the whole body, then answer 200 with a small JSON body. */
export const echo: UpstreamHandler = (req, res, record) => {
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
    res.end(JSON.stringify({ ok: true, bytes: record.bytes }));
  });
};

/** A real HTTP server on a loopback port that records every request it sees. */
export async function startUpstream(handler: UpstreamHandler = echo): Promise<Upstream> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const record: Received = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bytes: 0,
      aborted: false,
    };
    received.push(record);
    req.on('data', (chunk: Buffer) => (record.bytes += chunk.length));
    req.on('aborted', () => (record.aborted = true));
    req.on('error', () => (record.aborted = true));
    handler(req, res, record);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
