import t from 'tap';
import { authorize } from '../../src/auth/authorize.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import type { RepositoryRecord } from '../../src/tokens/record.js';
import { hashSecret } from '../../src/tokens/secret.js';
import { CountingStore, FakeClock, RecordingObserver } from '../helpers/fakes.js';
import { entry, makeToken } from '../helpers/records.js';
import { waitFor } from '../helpers/wait-for.js';

// The data plane's side of organizations (docs/organizations.md): a token's `@org` reach is read
// with it on a miss, answered from the cache afterwards, and dropped by an `organizations`
// invalidation exactly when a repository of an organization it names came or went.

class ListingStore extends CountingStore {
  listRepositoriesCalls = 0;
  /** When set, a listing is read and then waits for this before it answers. */
  listGate: Promise<void> | undefined;
  override async listRepositories(): Promise<RepositoryRecord[]> {
    this.listRepositoriesCalls++;
    const listed = await super.listRepositories();
    if (this.listGate) await this.listGate;
    return listed;
  }
}

async function setup() {
  const store = new ListingStore();
  const clock = new FakeClock();
  const cache = new TokenCache({
    store,
    clock,
    observer: new RecordingObserver(),
    max: 100,
    ttlMs: 30_000,
    negativeMax: 10,
    negativeTtlMs: 5_000,
    staleIfErrorMs: 60_000,
  });
  for (const org of ['acme', 'globex']) await store.createOrganization({ name: org, displayName: org, createdAt: 1, createdBy: 'x', updatedAt: 1 });
  await store.createRepository({ name: 'a1', createdAt: 1, createdBy: 'x', organization: 'acme' });
  await store.createRepository({ name: 'g1', createdAt: 1, createdBy: 'x', organization: 'globex' });
  await store.createRepository({ name: 'sensors', createdAt: 1, createdBy: 'x' });
  return { store, clock, cache };
}

t.test('a cached token on @acme is judged without a store read per request', async (t) => {
  const { store, clock, cache } = await setup();
  const { record, secret } = makeToken({ repository: '@acme', rights: ['query'], organization: 'acme' });
  await store.createToken(record, entry('created'));
  const hash = hashSecret(secret);
  const verdicts = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const identity = await cache.resolve(hash);
    if (typeof identity !== 'object') throw new Error('unresolved');
    verdicts.add(['a1', 'g1', 'sensors'].map((repository) => authorize(identity, 'query', repository, clock.now()).allowed).join());
  }
  t.same([...verdicts], ['true,false,false'], 'a1 of acme allowed, g1 of globex and sensors of default refused, every time');
  t.equal(store.getTokenCalls, 1, 'one token read');
  t.equal(store.listRepositoriesCalls, 1, 'one read of where repositories belong');
});

t.test('a token naming no organization reads no repositories at all', async (t) => {
  const { store, cache } = await setup();
  const { record, secret } = makeToken({ repository: 'sensors' });
  await store.createToken(record, entry('created'));
  await cache.resolve(hashSecret(secret));
  t.equal(store.listRepositoriesCalls, 0);
});

t.test('an organizations invalidation drops the tokens that name it, and only those', async (t) => {
  const { store, clock, cache } = await setup();
  const onAcme = makeToken({ repository: '@acme', rights: ['query'] });
  const onGlobex = makeToken({ repository: '@globex', rights: ['query'] });
  const plain = makeToken({ repository: 'sensors', rights: ['query'] });
  for (const token of [onAcme, onGlobex, plain]) await store.createToken(token.record, entry('created'));
  for (const token of [onAcme, onGlobex, plain]) await cache.resolve(hashSecret(token.secret));
  await store.createRepository({ name: 'a2', createdAt: 2, createdBy: 'x', organization: 'acme' });
  const stale = cache.cached(hashSecret(onAcme.secret), clock.now());
  if (typeof stale !== 'object') throw new Error('unresolved');
  t.equal(authorize(stale, 'query', 'a2', clock.now()).allowed, false, 'the cached reach predates a2');
  cache.apply({ at: clock.now(), type: 'organizations', organizations: ['acme'] });
  t.equal(cache.cached(hashSecret(onAcme.secret), clock.now()), undefined, 'the @acme token is dropped');
  t.not(cache.cached(hashSecret(onGlobex.secret), clock.now()), undefined, 'the @globex token stays');
  t.not(cache.cached(hashSecret(plain.secret), clock.now()), undefined, 'a token on one repository stays');
  const fresh = await cache.resolve(hashSecret(onAcme.secret));
  if (typeof fresh !== 'object') throw new Error('unresolved');
  t.equal(authorize(fresh, 'query', 'a2', clock.now()).allowed, true, 'read again, it reaches a2');
});

t.test('a personal token meets grants on @acme through its user', async (t) => {
  const { store, clock, cache } = await setup();
  await store.putUser({ name: 'alice', grants: { '@acme': ['query'], g1: ['stream'] }, createdAt: 1, updatedAt: 1 });
  const { record, secret } = makeToken({ kind: 'personal', user: 'alice', repository: '*', rights: ['query', 'stream'] });
  await store.createToken(record, entry('created'));
  const identity = await cache.resolve(hashSecret(secret));
  if (typeof identity !== 'object') throw new Error('unresolved');
  t.equal(authorize(identity, 'query', 'a1', clock.now()).allowed, true);
  t.equal(authorize(identity, 'stream', 'a1', clock.now()).allowed, false, 'only what @acme grants');
  t.equal(authorize(identity, 'query', 'g1', clock.now()).allowed, false);
  t.equal(authorize(identity, 'stream', 'g1', clock.now()).allowed, true);
  t.ok(identity.organizations?.named.has('acme'));
});

t.test('where repositories belong is listed once for every token that names an organization, until an organizations change', async (t) => {
  const { store, clock, cache } = await setup();
  const tokens = [
    makeToken({ repository: '@acme', rights: ['query'] }),
    makeToken({ repository: '@acme', rights: ['stream'] }),
    makeToken({ repository: '@globex', rights: ['query'] }),
  ];
  for (const token of tokens) await store.createToken(token.record, entry('created'));
  for (const token of tokens) await cache.resolve(hashSecret(token.secret));
  t.equal(store.listRepositoriesCalls, 1, 'three misses, one listing');
  await store.createRepository({ name: 'g2', createdAt: 2, createdBy: 'x', organization: 'globex' });
  cache.apply({ at: clock.now(), type: 'organizations', organizations: ['globex'] });
  const onGlobex = await cache.resolve(hashSecret(tokens[2]!.secret));
  if (typeof onGlobex !== 'object') throw new Error('unresolved');
  t.equal(store.listRepositoriesCalls, 2, 'listed again after the change');
  t.equal(authorize(onGlobex, 'query', 'g2', clock.now()).allowed, true, 'and the new repository is reached');
  cache.onReset();
  await cache.resolve(hashSecret(tokens[0]!.secret));
  t.equal(store.listRepositoriesCalls, 3, 'and after a reset');
});

t.test('a listing that raced an organizations change is used for its lookup but not kept', async (t) => {
  const { store, clock, cache } = await setup();
  const { record, secret } = makeToken({ repository: '@acme', rights: ['query'] });
  await store.createToken(record, entry('created'));
  let release!: () => void;
  store.listGate = new Promise<void>((resolve) => (release = resolve));
  const pending = cache.resolve(hashSecret(secret));
  await waitFor(() => store.listRepositoriesCalls === 1, { what: 'the listing to be read' });
  cache.apply({ at: clock.now(), type: 'organizations', organizations: ['acme'] });
  release();
  store.listGate = undefined;
  t.type(await pending, 'object', 'the lookup is answered');
  const other = makeToken({ repository: '@acme', rights: ['stream'] });
  await store.createToken(other.record, entry('created'));
  await cache.resolve(hashSecret(other.secret));
  t.equal(store.listRepositoriesCalls, 2, 'the next miss lists again');
});
