import t from 'tap';
import { EVENT_TYPES } from '../../src/tokens/event-types.js';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

// A token's `actions` in the API's answers (docs/admin-api.md): what this caller may do to this
// token now. The property test (token-actions.property.test.ts) pins "listed iff carried out"
// over generated worlds; these pin what each answer carries, over HTTP.

const h = await startHarness();
t.teardown(() => h.close());

t.test('a * admin is offered every action a state allows, and each answer carries the list anew', async (t) => {
  const made = await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'repository', name: 'acted on', repository: 'sensors', rights: ['query'] });
  t.equal(made.status, 201);
  t.same(made.body.token.actions, ['edit', 'roll', 'revoke'], 'active: edit, roll, revoke');
  const id = made.body.token.id;
  const revoked = await call(h, 'POST', `/v1/tokens/${id}/revoke`, h.adminSecret);
  t.same(revoked.body.actions, ['edit', 'restore', 'delete'], 'revoked: edit, restore, delete');
  const listed = await call(h, 'GET', '/v1/tokens?q=acted', h.adminSecret);
  t.same(
    listed.body.items.map((item: { actions: string[] }) => item.actions),
    [['edit', 'restore', 'delete']],
    'the list carries them too',
  );
  const restored = await call(h, 'POST', `/v1/tokens/${id}/restore`, h.adminSecret);
  t.same(restored.body.actions, ['edit', 'roll', 'revoke']);
  const rolled = await call(h, 'POST', `/v1/tokens/${id}/roll`, h.adminSecret, { overlap: '1h' });
  t.same(rolled.body.token.actions, ['edit', 'roll', 'revoke'], 'the new token');
  const old = await call(h, 'GET', `/v1/tokens/${id}`, h.adminSecret);
  t.equal(old.body.status, 'rolled');
  t.same(old.body.actions, ['edit', 'revoke'], 'in its overlap: no second roll');
  t.equal((await call(h, 'POST', `/v1/tokens/${id}/roll`, h.adminSecret)).status, 409, 'and the server refuses one');
});

t.test('a personal token without admin is offered what self-service allows on its own tokens', async (t) => {
  t.equal((await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'pat', grants: { sensors: ['query'] } })).status, 201);
  const own = await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'personal', name: 'laptop', user: 'pat', repository: 'sensors', rights: ['query'] });
  const other = await call(h, 'POST', '/v1/tokens', own.body.secret, {
    kind: 'personal',
    name: 'phone',
    user: 'pat',
    repository: 'sensors',
    rights: ['query'],
  });
  t.same(other.body.token.actions, ['revoke'], 'no edit, roll or delete');
  t.equal((await call(h, 'PATCH', `/v1/tokens/${other.body.token.id}`, own.body.secret, { name: 'renamed' })).status, 403, 'an edit is refused');
  const revoked = await call(h, 'POST', `/v1/tokens/${other.body.token.id}/revoke`, own.body.secret);
  t.same(revoked.body.actions, ['restore']);
  t.equal((await call(h, 'DELETE', `/v1/tokens/${other.body.token.id}`, own.body.secret)).status, 403, 'a delete is refused');
  const me = await call(h, 'GET', '/v1/whoami', own.body.secret);
  t.same(me.body.token.actions, ['revoke'], 'whoami: what it may do to itself');
});

t.test('a data token with selfRotate is offered a roll of itself in whoami, and nothing else', async (t) => {
  const data = await h.token(['query'], 'sensors', { selfRotate: true });
  const me = await call(h, 'GET', '/v1/whoami', data.secret);
  t.equal(me.body.role, 'none');
  t.same(me.body.token.actions, ['roll']);
  t.equal((await call(h, 'POST', `/v1/tokens/${data.token.id}/roll`, data.secret)).status, 201, 'the roll is carried out');
});

t.test('settings list every event type, as webhooks send them', async (t) => {
  const settings = await call(h, 'GET', '/v1/settings', h.adminSecret);
  t.same(settings.body.eventTypes, [...EVENT_TYPES]);
});
