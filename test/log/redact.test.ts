import t from 'tap';
import { containsSecret, REDACTED, redactSecrets, redactTarget } from '../../src/log/redact.js';
import { generateSecret } from '../../src/tokens/secret.js';

const secret = generateSecret('repository');
const personal = generateSecret('personal');

t.test('text without a secret comes back as the same string', async (t) => {
  for (const text of ['/v1/repositories/sensors/query', '/a_b/c?x=1&y=tgr_short', 'abc-123', '/x?a=%5Fb']) {
    t.equal(redactSecrets(text), text);
    t.equal(redactTarget(text), text);
    t.notOk(containsSecret(text));
  }
});

t.test('secret-shaped strings are redacted wherever they sit, raw or percent-encoded', async (t) => {
  t.ok(containsSecret(secret));
  t.ok(containsSecret(`req-${personal}-1`));
  t.equal(redactSecrets(`/v1/repositories/sensors/${secret}/x`), `/v1/repositories/sensors/${REDACTED}/x`);
  t.equal(redactSecrets(`a ${secret} b ${personal}`), `a ${REDACTED} b ${REDACTED}`);
  const encoded = secret.replace('_', '%5F');
  t.ok(containsSecret(encoded));
  t.equal(redactSecrets(`/x/${encoded}`), `/x/${REDACTED}`);
  t.equal(redactSecrets(`/x/%74gr%5f${secret.slice(4)}`), `/x/${REDACTED}`);
});

t.test('credential-named query parameters lose their values, any case, other parameters stay', async (t) => {
  t.equal(redactTarget('/q?token=abc&x=1'), `/q?token=${REDACTED}&x=1`);
  t.equal(
    redactTarget('/q?Access_Token=a&KEY=b&api_key=c&apikey=d&secret=e&password=f&sig=g&Signature=h&X-Amz-Signature=i&client_secret=j&x-api-key=k&token[]=l'),
    `/q?Access_Token=${REDACTED}&KEY=${REDACTED}&api_key=${REDACTED}&apikey=${REDACTED}&secret=${REDACTED}&password=${REDACTED}&sig=${REDACTED}&Signature=${REDACTED}&X-Amz-Signature=${REDACTED}&client_secret=${REDACTED}&x-api-key=${REDACTED}&token[]=${REDACTED}`,
  );
  t.equal(redactTarget('/q?monkey=1&keyboard=2&tokens=3&sort=key&token'), '/q?monkey=1&keyboard=2&tokens=3&sort=key&token');
  t.equal(redactTarget('/q?access%5Ftoken=abc'), `/q?access%5Ftoken=${REDACTED}`, 'an encoded name is read as the upstream reads it');
  t.equal(redactTarget('/q?a=1&token=&b=2'), `/q?a=1&token=${REDACTED}&b=2`);
});

t.test('a secret in another parameter or in the path is redacted, the rest of the target kept', async (t) => {
  t.equal(redactTarget(`/q?x=${secret}&y=2`), `/q?x=${REDACTED}&y=2`);
  t.equal(redactTarget(`/q/${secret}?y=2`), `/q/${REDACTED}?y=2`);
  t.equal(redactTarget(`/q/${secret}?token=${personal}`), `/q/${REDACTED}?token=${REDACTED}`);
  t.equal(redactTarget(`/q?x=${secret.replace('_', '%5f')}`), `/q?x=${REDACTED}`);
});
