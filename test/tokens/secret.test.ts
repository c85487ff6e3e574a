import t from 'tap';
import {
  generateSecret,
  hashesEqual,
  hashSecret,
  idFromHash,
  looksLikeSecret,
  PREFIX_LENGTH,
  parseSecret,
  SECRET_LENGTH,
  secretPrefix,
} from '../../src/tokens/secret.js';

t.test('generated secrets have the documented shape and parse as their kind', async (t) => {
  const repository = generateSecret('repository');
  const personal = generateSecret('personal');
  t.match(repository, /^tgr_[0-9A-Za-z]{49}$/);
  t.match(personal, /^tgp_[0-9A-Za-z]{49}$/);
  t.equal(repository.length, SECRET_LENGTH);
  t.equal(parseSecret(repository), 'repository');
  t.equal(parseSecret(personal), 'personal');
});

t.test('secrets do not repeat', async (t) => {
  const seen = new Set(Array.from({ length: 2000 }, () => generateSecret('repository')));
  t.equal(seen.size, 2000);
});

t.test('one changed character fails the checksum', async (t) => {
  const secret = generateSecret('repository');
  for (const at of [4, 20, 46, 47, 52]) {
    const c = secret[at] === 'a' ? 'b' : 'a';
    const bad = secret.slice(0, at) + c + secret.slice(at + 1);
    t.equal(parseSecret(bad), undefined, `position ${at}`);
  }
});

t.test('wrong head, length or alphabet is refused', async (t) => {
  const secret = generateSecret('repository');
  t.equal(parseSecret(`tgx_${secret.slice(4)}`), undefined);
  t.equal(parseSecret(`xgr_${secret.slice(4)}`), undefined);
  t.equal(parseSecret(`tgr-${secret.slice(4)}`), undefined);
  t.equal(parseSecret(`${secret}a`), undefined);
  t.equal(parseSecret(secret.slice(0, -1)), undefined);
  t.equal(parseSecret(`${secret.slice(0, 30)}-${secret.slice(31)}`), undefined);
  t.equal(parseSecret(''), undefined);
});

t.test('a kind swap is caught by the checksum', async (t) => {
  const secret = generateSecret('repository');
  t.equal(parseSecret(`tgp_${secret.slice(4)}`), undefined);
});

t.test('hash, id and prefix are derived, stable and free of the secret body', async (t) => {
  const secret = generateSecret('personal');
  const hash = hashSecret(secret);
  t.match(hash, /^[0-9a-f]{64}$/);
  t.equal(hashSecret(secret), hash);
  t.equal(idFromHash(hash), hash.slice(0, 16));
  t.equal(secretPrefix(secret), secret.slice(0, PREFIX_LENGTH));
  t.equal(secretPrefix(secret).length, 12);
  t.notOk(hash.includes(secret.slice(4, 20)));
});

t.test('hash comparison is exact', async (t) => {
  const a = hashSecret(generateSecret('repository'));
  const b = hashSecret(generateSecret('repository'));
  t.equal(hashesEqual(a, a.slice()), true);
  t.equal(hashesEqual(a, b), false);
  t.equal(hashesEqual(a, a.slice(0, 63)), false);
  // A difference in the last character only, and in the first only.
  t.equal(hashesEqual(a, a.slice(0, 63) + (a[63] === '0' ? '1' : '0')), false);
  t.equal(hashesEqual(a, (a[0] === '0' ? '1' : '0') + a.slice(1)), false);
  t.equal(hashSecret('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'SHA-256 in lowercase hex');
});

t.test('the pre-hash shape test passes real secrets and refuses the wrong length or head', async (t) => {
  t.equal(looksLikeSecret(generateSecret('repository')), true);
  t.equal(looksLikeSecret(generateSecret('personal')), true);
  const secret = generateSecret('repository');
  t.equal(looksLikeSecret(secret.slice(1)), false);
  t.equal(looksLikeSecret(`${secret}x`), false);
  t.equal(looksLikeSecret(`tgx_${secret.slice(4)}`), false);
  t.equal(looksLikeSecret(`Tgr_${secret.slice(4)}`), false);
  t.equal(looksLikeSecret(`tgr-${secret.slice(4)}`), false);
});
