import t from 'tap';
import { certificateFields } from '../../src/identity/certificate-authenticator.js';
import { claimAt, renderUser, teamsIn } from '../../src/identity/claims-template.js';

const projected = {
  aud: ['tollgate'],
  sub: 'system:serviceaccount:prod:producer',
  'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'producer', uid: 'u1' }, pod: { name: 'producer-1', uid: 'u2' } },
};

t.test('dotted names walk nested claims, including keys that hold dots themselves', async (t) => {
  t.equal(claimAt(projected, 'kubernetes.io.namespace'), 'prod');
  t.equal(claimAt(projected, 'kubernetes.io.serviceaccount.name'), 'producer');
  t.equal(claimAt({ a: { b: 'nested' }, 'a.b': 'flat' }, 'a.b'), 'flat', 'the longer key is taken first');
  t.equal(claimAt(projected, 'kubernetes.io.nothing'), undefined);
  t.equal(claimAt({}, 'constructor'), undefined, 'never the prototype');
});

t.test('a template maps to a user only when every placeholder names a string and the result is a user name', async (t) => {
  t.equal(renderUser('sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}', projected), 'sa-prod-producer');
  t.equal(renderUser('{sub}', { sub: 'carol' }), 'carol');
  t.equal(renderUser('{sub}', projected), undefined, 'system:serviceaccount:… is no user name');
  t.equal(renderUser('{sub}', { sub: 42 }), undefined);
  t.equal(renderUser('{sub}', { sub: '' }), undefined);
  t.equal(renderUser('x-{missing}', projected), undefined);
  t.equal(renderUser('{sub}', { sub: 'Alice' }), undefined, 'no case folding: a name is taken as written or refused');
});

t.test('a teams claim yields the names it lists', async (t) => {
  t.same(teamsIn({ groups: ['a', 'b', 'a', 7, 'Not A Name'] }, 'groups'), ['a', 'b']);
  t.same(teamsIn({ groups: 'solo' }, 'groups'), ['solo']);
  t.same(teamsIn({}, 'groups'), []);
  t.same(teamsIn({ groups: ['a'] }, ''), []);
});

t.test('a certificate gives its CN, its URI SAN and the parts of a Kubernetes SPIFFE ID', async (t) => {
  const fields = certificateFields({
    subject: { CN: 'producer' } as never,
    subjectaltname: 'DNS:producer.prod.svc, URI:spiffe://cluster.local/ns/prod/sa/producer',
  });
  t.same(fields, { cn: 'producer', uri: 'spiffe://cluster.local/ns/prod/sa/producer', spiffe: { trustDomain: 'cluster.local', ns: 'prod', sa: 'producer' } });
  t.equal(renderUser('sa-{spiffe.ns}-{spiffe.sa}', fields), 'sa-prod-producer');
  t.equal(renderUser('{uri}', fields), undefined, 'a URI is no user name by itself');
  t.equal(renderUser('sa-{spiffe.ns}-{spiffe.sa}', certificateFields({ subject: { CN: 'x' } as never, subjectaltname: undefined as never })), undefined);
});
