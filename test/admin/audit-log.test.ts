import t from 'tap';
import { createLogger } from '../../src/log/logger.js';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

// Issue #23: every admin change writes one audit line (actor, action, target, request id) and
// never a secret; reads and refused changes write none. The log is captured as in
// test/proxy/access-log-secrets.test.ts.
const lines: string[] = [];
const everyLine: string[] = [];
const sink = {
  write: (line: string) => {
    lines.push(line);
    everyLine.push(line);
    return true;
  },
} as unknown as NodeJS.WritableStream;
const h = await startHarness({ logger: createLogger('info', sink) });
t.teardown(() => h.close());
const admin = h.adminSecret;
const secrets: string[] = [admin];

const audits = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.audit === true);

/** Makes one admin call and returns the audit lines it wrote. */
async function change(method: string, path: string, body?: unknown, secret: string | undefined = admin) {
  lines.length = 0;
  const reply = await call(h, method, path, secret, body);
  if (typeof reply.body?.secret === 'string') secrets.push(reply.body.secret);
  return { reply, written: audits() };
}

t.test('each kind of change writes one line naming actor, action, target and request id', async (t) => {
  const actor = /^token:[0-9a-f]{16}$/;
  const created = await change('POST', '/v1/tokens', { kind: 'repository', name: 'ingest', repository: 'sensors', rights: ['query'] });
  t.equal(created.reply.status, 201);
  const id = created.reply.body.token.id as string;
  t.match(created.written, [{ actor, action: 'POST /v1/tokens', target: id, requestId: created.reply.headers['x-request-id'], msg: 'admin change' }]);
  t.equal(created.written.length, 1);

  const steps: Array<[string, string, unknown, Record<string, unknown>]> = [
    ['PATCH', `/v1/tokens/${id}`, { name: 'ingest-2' }, { action: 'PATCH /v1/tokens/{id}', target: id }],
    ['POST', `/v1/tokens/${id}/revoke`, undefined, { action: 'POST /v1/tokens/{id}/revoke', target: id }],
    ['POST', `/v1/tokens/${id}/restore`, undefined, { action: 'POST /v1/tokens/{id}/restore', target: id }],
    ['POST', `/v1/users`, { name: 'ada', grants: { sensors: ['query'] } }, { action: 'POST /v1/users', target: 'ada' }],
    ['PATCH', `/v1/users/ada`, { grants: { sensors: ['query', 'stream'] } }, { action: 'PATCH /v1/users/{name}', target: 'ada' }],
    ['POST', `/v1/teams`, { name: 'ops', members: ['ada'], grants: {} }, { action: 'POST /v1/teams', target: 'ops' }],
    ['PATCH', `/v1/teams/ops`, { members: [] }, { action: 'PATCH /v1/teams/{name}', target: 'ops' }],
    ['DELETE', `/v1/teams/ops`, undefined, { action: 'DELETE /v1/teams/{name}', target: 'ops' }],
    ['DELETE', `/v1/users/ada`, undefined, { action: 'DELETE /v1/users/{name}', target: 'ada' }],
    ['POST', `/v1/repositories`, { name: 'weather' }, { action: 'POST /v1/repositories', target: 'weather' }],
    ['DELETE', `/v1/repositories/weather`, undefined, { action: 'DELETE /v1/repositories/{name}', target: 'weather' }],
  ];
  for (const [method, path, body, expected] of steps) {
    const { reply, written } = await change(method, path, body);
    t.ok(reply.status < 300, `${method} ${path}: ${reply.status}`);
    t.equal(written.length, 1, `${method} ${path}: one line`);
    t.match(written[0], { ...expected, actor, requestId: reply.headers['x-request-id'] });
  }

  const rolled = await change('POST', `/v1/tokens/${id}/roll`, { overlap: '0s' });
  t.equal(rolled.reply.status, 201);
  t.match(rolled.written, [{ action: 'POST /v1/tokens/{id}/roll', target: id, created: rolled.reply.body.token.id }]);

  t.equal((await call(h, 'POST', `/v1/tokens/${rolled.reply.body.token.id}/revoke`, admin)).status, 200);
  const deleted = await change('DELETE', `/v1/tokens/${id}`);
  t.equal(deleted.reply.status, 204);
  t.match(deleted.written, [{ action: 'DELETE /v1/tokens/{id}', target: id }]);
  const bulk = await change('POST', '/v1/tokens/delete', { ids: [rolled.reply.body.token.id] });
  t.match(bulk.written, [{ action: 'POST /v1/tokens/delete', target: [rolled.reply.body.token.id] }]);
});

t.test('a leak report is audited as leak-report, with a count and not the secret', async (t) => {
  const victim = await h.token(['query']);
  secrets.push(victim.secret);
  const { reply, written } = await change('POST', '/v1/tokens/leaked', { secrets: [victim.secret] }, undefined);
  t.equal(reply.status, 200);
  t.match(written, [{ actor: 'leak-report', action: 'POST /v1/tokens/leaked', target: null, revoked: 1 }]);
});

t.test('reads and refused changes write no audit line; no line ever holds a secret', async (t) => {
  lines.length = 0;
  await call(h, 'GET', '/v1/tokens', admin);
  await call(h, 'GET', '/v1/users', admin);
  await call(h, 'POST', '/v1/tokens/0123456789abcdef/revoke', admin);
  await call(h, 'POST', '/v1/users', undefined, { name: 'eve', grants: {} });
  t.same(audits(), []);
  const everything = everyLine.join('\n');
  t.ok(secrets.length >= 4);
  for (const secret of secrets) t.notOk(everything.includes(secret.slice(4)), 'no secret in the log');
});
