import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import type { UpstreamConnection, UpstreamUser } from '../../src/proxy/upstream-connection.js';
import type { UpstreamFault } from '../../src/proxy/upstream-fault.js';
import { UpstreamPool } from '../../src/proxy/upstream-pool.js';

// The pool's bound counts sockets busy with an exchange and sockets kept idle: requests beyond it
// wait in order for a freed socket, a socket that fails frees its place for the next one waiting,
// and the deadline sweep finds the busy ones.

/** An upstream that answers each request head with `ok`, or (silent) never answers. */
async function upstream(silent = false): Promise<{ server: Server; url: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let seen = '';
    socket.on('data', (d) => {
      seen += d.toString('latin1');
      for (let at = seen.indexOf('\r\n\r\n'); at !== -1; at = seen.indexOf('\r\n\r\n')) {
        seen = seen.slice(at + 4);
        if (!silent) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, sockets };
}

/** A GET without a body that records how it ended. */
class User implements UpstreamUser {
  readonly isHead = false;
  status = 0;
  fault: UpstreamFault | undefined;
  readonly done: Promise<void>;
  private finished!: () => void;
  constructor() {
    this.done = new Promise((resolve) => (this.finished = resolve));
  }
  retryOnce(): boolean {
    return false;
  }
  upstreamStarted(connection: UpstreamConnection): void {
    connection.write('GET / HTTP/1.1\r\nhost: upstream\r\n\r\n');
    connection.requestSent(performance.now());
  }
  responseHead(status: number): void {
    this.status = status;
  }
  responseData(): boolean {
    return true;
  }
  responseEnd(): void {
    this.finished();
  }
  upstreamDrained(): void {}
  upstreamFailed(fault: UpstreamFault): void {
    this.fault = fault;
    this.finished();
  }
}

const options = (url: string, connections: number, headersTimeoutMs = 10_000) => ({
  url,
  connections,
  connectTimeoutMs: 10_000,
  headersTimeoutMs,
  idleTimeoutMs: 10_000,
});

t.test('beyond the bound requests wait, and run in turn on the socket freed', async (t) => {
  const up = await upstream();
  const pool = new UpstreamPool(options(up.url, 2));
  t.teardown(() => {
    pool.close();
    up.server.close();
  });
  const users = [new User(), new User(), new User(), new User(), new User()];
  for (const user of users) pool.dispatch(user);
  t.equal(pool.size, 2, 'two sockets, both busy; three requests wait');
  await Promise.all(users.map((u) => u.done));
  t.same(
    users.map((u) => u.status),
    [200, 200, 200, 200, 200],
  );
  t.equal(pool.size, 2, 'both kept idle');
  t.equal(up.sockets.length, 2, 'no socket beyond the bound was opened');
  // Idle sockets are reused: no new one for the next request.
  const next = new User();
  pool.dispatch(next);
  await next.done;
  t.equal(up.sockets.length, 2);
  t.equal(pool.size, 2);
});

t.test('the sweep fails a busy socket past its headers timeout; its place goes to the next request waiting', async (t) => {
  const up = await upstream(true);
  const pool = new UpstreamPool(options(up.url, 1, 100));
  t.teardown(() => {
    pool.close();
    up.server.close();
  });
  const first = new User();
  const second = new User();
  pool.dispatch(first);
  pool.dispatch(second);
  t.equal(pool.size, 1);
  await first.done;
  t.equal(first.fault?.reason, 'timeout', 'the busy socket was found by the sweep');
  await second.done;
  t.equal(second.fault?.reason, 'timeout', 'the waiting request ran on a new socket, which timed out too');
  t.equal(up.sockets.length, 2);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(pool.size, 0, 'failed sockets leave the count');
});
