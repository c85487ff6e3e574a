import t from 'tap';
import { request } from 'undici';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StoreUnavailableError } from '../../src/store/token-store.js';
import type { HistoryEntry, TokenRecord } from '../../src/tokens/record.js';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';

// A loan is served only while every maker in its line is (docs/tokens.md, "Independent and lent
// tokens"), whether or not the revoke's cascade reached it: here the store fails the cascade's
// write to the loan, so the maker is revoked and the loan is still active in the store. The
// proxy drops the loan with its maker, refuses it from then on, and ends its open download.

/** A memory store that fails writes to the tokens in `failing`: a store fault between a revoke's writes. */
class FailingStore extends MemoryStore {
  readonly failing = new Set<string>();
  override async updateToken(record: TokenRecord, entry: HistoryEntry, expectedVersion: number) {
    if (this.failing.has(record.id)) throw new StoreUnavailableError('updateToken');
    return super.updateToken(record, entry, expectedVersion);
  }
}

const store = new FailingStore();
const h = await startHarness({
  store,
  upstream: (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(1024));
    if (!req.url?.endsWith('/blob')) res.end(); // a blob is held open: a long download
  },
});
t.teardown(() => h.close());

const proxyStatus = async (secret: string) => {
  const res = await request(`${h.proxy}/v1/repositories/sensors/q`, { headers: bearer(secret) });
  await res.body.dump();
  return res.statusCode;
};
const made = async (secret: string, body: Record<string, unknown>) => {
  const res = await call(h, 'POST', '/v1/tokens', secret, { kind: 'repository', repository: 'sensors', ...body });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { token: { id: string }; secret: string };
};

t.test('a maker revoked while the write to its loan fails ends the loan at the proxy all the same', async (t) => {
  const maker = await made(h.adminSecret, { name: 'lender', rights: ['admin', 'query', 'stream'] });
  const loan = await made(maker.secret, { name: 'loan', rights: ['admin', 'query', 'stream'], lend: true });
  const grand = await made(loan.secret, { name: 'loan of the loan', rights: ['query'] });
  t.equal(await proxyStatus(loan.secret), 200, 'the loan is served (and cached)');
  t.equal(await proxyStatus(grand.secret), 200, 'and what it lent');
  const download = await request(`${h.proxy}/v1/repositories/sensors/blob`, { headers: bearer(loan.secret) });
  t.equal(download.statusCode, 200, 'a download open on the loan');
  const ended = new Promise<string>((resolve) => {
    download.body.on('error', () => resolve('cut'));
    download.body.on('end', () => resolve('ended'));
    download.body.resume();
  });

  store.failing.add(loan.token.id);
  store.failing.add(grand.token.id);
  const revoke = await call(h, 'POST', `/v1/tokens/${maker.token.id}/revoke`, h.adminSecret);
  t.equal(revoke.status, 503, 'the cascade failed');
  t.equal((await store.getToken(maker.token.id))?.status, 'revoked', 'the maker is revoked');
  t.equal((await store.getToken(loan.token.id))?.status, 'active', 'the loan is still active in the store');

  // Bounded, so that a download left open fails this test rather than hanging the run.
  let bound: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([ended, new Promise<string>((resolve) => (bound = setTimeout(() => resolve('still open after 10 s'), 10_000)))]);
  clearTimeout(bound);
  t.equal(outcome, 'cut', "the loan's download ends with its maker");
  t.equal(await proxyStatus(loan.secret), 401, 'the loan is refused');
  t.equal(await proxyStatus(grand.secret), 401, 'and so is what it lent, down the line');
});
