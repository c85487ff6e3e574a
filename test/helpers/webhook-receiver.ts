import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  id: string;
  headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: the event's data, read by path as each test expects it
  body: { type: string; timestamp: string; data: any };
  raw: string;
  /** What the receiver answered. */
  status: number;
}

export interface Receiver {
  url: string;
  port: number;
  /** Every request, in arrival order, answered or not. */
  deliveries: Delivery[];
  /** Accepted deliveries (2xx) by webhook-id: a receiver that deduplicates counts these. */
  accepted: Map<string, Delivery>;
  /** Requests whose signature standardwebhooks refused. */
  unverified: number;
  close(): Promise<void>;
}

/**
 * A real HTTP webhook receiver that checks each request with the standardwebhooks package, as a
 * user's receiver would, and answers what `answer` says (a status, or 'hang' to never answer).
 */
export async function startReceiver(
  secret: string,
  answer: (delivery: Omit<Delivery, 'status'>, nth: number) => number | 'hang' = () => 204,
  port = 0,
  /** Off for tests whose fake clock runs hours from the real one (the package refuses timestamps over 5 minutes off). */
  verify = true,
): Promise<Receiver> {
  const verifier = new Webhook(secret);
  const deliveries: Delivery[] = [];
  const accepted = new Map<string, Delivery>();
  const state = { unverified: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        if (verify) verifier.verify(raw, req.headers as Record<string, string>);
      } catch {
        state.unverified++;
        res.writeHead(400).end();
        return;
      }
      const base = { id: String(req.headers['webhook-id']), headers: req.headers, body: JSON.parse(raw) as Delivery['body'], raw };
      const status = answer(base, deliveries.length);
      if (status === 'hang') {
        deliveries.push({ ...base, status: 0 });
        return;
      }
      const delivery = { ...base, status };
      deliveries.push(delivery);
      if (status >= 200 && status < 300 && !accepted.has(delivery.id)) accepted.set(delivery.id, delivery);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/hooks`,
    port: actual,
    deliveries,
    accepted,
    get unverified() {
      return state.unverified;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fresh Standard Webhooks secret. */
export const newSecret = (): string => `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`;
