import t from 'tap';
import { request } from 'undici';
import { call } from '../helpers/admin-client.js';
import { bearer, startHarness } from '../helpers/harness.js';

// Nothing user-controlled is a key of a plain object (issue #13, finding 1). Every name
// Object.prototype carries, in its own spelling and lowercased (names are lowercase), is sent as
// a repository, a user, a grant key, a query filter and a route parameter through both ports.
// Whatever the answer, it is a clear one: never a 5xx, never a crash, and the process serves on.

const NAMES = [...new Set(Object.getOwnPropertyNames(Object.prototype).flatMap((name) => [name, name.toLowerCase()])), 'prototype', '__proto__'];

const h = await startHarness();
t.teardown(() => h.close());
const admin = h.adminSecret;

await call(h, 'POST', '/v1/users', admin, { name: 'pat', grants: { sensors: ['query', 'stream'] } });
await call(h, 'POST', '/v1/users', admin, { name: 'gil', grants: {} });
const personalStar = (await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'p', user: 'pat', repository: '*', rights: ['query', 'stream'] }))
  .body;
const repoStar = await h.token(['query', 'stream'], '*');
const repoSensors = await h.token(['query'], 'sensors');

const ok = (status: number) => status < 500;

t.test('the admin port answers every prototype name with a clear status', async (t) => {
  for (const name of NAMES) {
    const shown = JSON.stringify(name);
    const repo = await call(h, 'POST', '/v1/repositories', admin, { name });
    t.ok(ok(repo.status), `repository ${shown}: ${repo.status}`);
    const user = await call(h, 'POST', '/v1/users', admin, { name, grants: { [name]: ['query'] } });
    t.ok(ok(user.status), `user ${shown}: ${user.status}`);
    // A raw body, so __proto__ arrives as an own key of the grants as JSON.parse makes it.
    const raw = await call(h, 'PATCH', '/v1/users/gil', admin, undefined, `{"grants":{${JSON.stringify(name)}:["query"]}}`);
    t.ok(ok(raw.status), `grant key ${shown}: ${raw.status}`);
    if (name === '__proto__') t.match(raw.body.detail, /^__proto__: not accepted/, 'refused, not silently dropped');
    const byName = await call(h, 'GET', `/v1/users/${encodeURIComponent(name)}`, admin);
    t.ok(ok(byName.status), `GET user ${shown}: ${byName.status}`);
    const list = await call(
      h,
      'GET',
      `/v1/tokens?repository=${encodeURIComponent(name)}&user=${encodeURIComponent(name)}&q=${encodeURIComponent(name)}`,
      admin,
    );
    t.ok(ok(list.status), `list filters ${shown}: ${list.status}`);
    const sort = await call(h, 'GET', `/v1/tokens?sort=${encodeURIComponent(name)}`, admin);
    t.equal(sort.status, 400, `sort ${shown}`);
    const create = await call(h, 'POST', '/v1/tokens', personalStar.secret, { kind: 'personal', name: 'x', user: 'pat', repository: name, rights: ['query'] });
    t.ok(ok(create.status) && create.status !== 201, `self-service create on ${shown}: ${create.status}`);
    const forOther = await call(h, 'POST', '/v1/tokens', admin, { kind: 'personal', name: 'x', user: name, repository: 'sensors', rights: ['query'] });
    t.ok(ok(forOther.status), `personal token for user ${shown}: ${forOther.status}`);
  }
  // A grant key that passed the name rule is stored as an own key, and nothing else changed.
  const gil = await call(h, 'GET', '/v1/users/gil', admin);
  t.equal(gil.status, 200);
  t.same(Object.keys(gil.body.grants), ['prototype'], 'the last name that passed the rule');
  t.equal(({} as Record<string, unknown>).query, undefined, 'Object.prototype untouched');
});

t.test('the proxy port answers every prototype name as a route parameter with a clear status', async (t) => {
  for (const name of NAMES) {
    for (const [who, secret, allowed] of [
      ['a personal * token', personalStar.secret, false],
      ['a sensors token', repoSensors.secret, false],
      ['a repository * token', repoStar.secret, true],
    ] as const) {
      const res = await request(`${h.proxy}/v1/repositories/${encodeURIComponent(name)}/data`, { headers: bearer(secret) });
      await res.body.dump();
      t.ok(ok(res.statusCode), `${who} on ${JSON.stringify(name)}: ${res.statusCode}`);
      if (!allowed) t.not(res.statusCode, 200, `${who} has no grant on ${JSON.stringify(name)}`);
    }
  }
  const alive = await request(`${h.proxy}/v1/repositories/sensors/data`, { headers: bearer(personalStar.secret) });
  await alive.body.dump();
  t.equal(alive.statusCode, 200, 'and the replica still serves');
});

t.test('a __proto__ key in a config file is named as unknown, not turned into a prototype', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config/load.js');
  const dir = t.testdir({ 'tollgate.yaml': '__proto__:\n  polluted: 1\nproxy:\n  __proto__: { listen: "0.0.0.0:1" }\n' });
  const err = (() => {
    try {
      loadConfig({ path: `${dir}/tollgate.yaml`, required: true, env: {} });
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  t.ok(err instanceof ConfigError);
  t.match(String((err as Error).message), /__proto__: unknown key/);
  t.match(String((err as Error).message), /proxy\.__proto__: unknown key/);
});

t.test('the CLI reads its command table by own keys: a prototype name is an unknown command', async (t) => {
  const { runCli } = await import('../helpers/cli.js');
  for (const action of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const run = runCli(['token', action], { TOLLGATE_TOKEN: 'x' });
    t.equal(await run.exited, 2, action);
    t.match(run.stderr(), new RegExp(`unknown command "token ${action.replace(/[_]/g, '_')}"`));
  }
});
