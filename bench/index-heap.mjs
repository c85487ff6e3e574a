// node --expose-gc bench/index-heap.mjs full|summary|intern|columns: the heap a list index of
// 100,000 tokens shaped like bench:admin's takes in one layout (issue #24). Synthetic: the
// strings of each record are made new, as when parsed off a Redis reply.
const N = Number(process.env.BENCH_TOKENS ?? 100_000);
const mode = process.argv[2] ?? 'summary';
const now = Date.now();
const words = ['ingest', 'reader', 'export', 'phone', 'laptop', 'backup', 'dashboard', 'etl'];
const hex = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const fresh = (s) => Buffer.from(s).toString(); // a new string each time
const interned = new Map();
const intern = (s) => {
  if (!interned.has(s)) interned.set(s, s);
  return interned.get(s);
};

globalThis.gc();
const before = process.memoryUsage();
let index;
if (mode === 'columns') {
  const c = {
    at: new Map(),
    ids: [],
    names: [],
    prefixes: [],
    parents: [],
    repository: new Int32Array(N),
    user: new Int32Array(N),
    kindStatus: new Uint8Array(N),
    createdAt: new Float64Array(N),
    expiresAt: new Float64Array(N),
    lastUsedAt: new Float64Array(N),
  };
  for (let j = 0; j < N; j++) {
    const id = hex(16);
    c.at.set(id, j);
    c.ids.push(id);
    c.names.push(fresh(`${words[j % 8]} ${j}`));
    c.prefixes.push(`tg_r_${hex(6)}`);
    c.parents.push(null);
    c.repository[j] = j % 3 === 0 ? 0 : 1;
    c.user[j] = -1;
    c.kindStatus[j] = j % 10 === 0 ? 1 : 0;
    c.createdAt[j] = now - j * 1000;
    c.expiresAt[j] = j % 4 === 0 ? now + j * 1000 : NaN;
    c.lastUsedAt[j] = NaN;
  }
  index = c;
} else {
  index = new Map();
  for (let j = 0; j < N; j++) {
    const id = hex(16);
    const full = {
      id,
      hash: hex(64),
      kind: fresh('repository'),
      name: fresh(`${words[j % 8]} ${j}`),
      repository: fresh(j % 3 === 0 ? 'billing' : 'sensors'),
      user: null,
      rights: fresh('query').split(','),
      status: fresh(j % 10 === 0 ? 'revoked' : 'active'),
      prefix: `tg_r_${hex(6)}`,
      createdAt: now - j * 1000,
      createdBy: fresh('bench'),
      updatedAt: now,
      expiresAt: j % 4 === 0 ? now + j * 1000 : null,
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      lastUsedUserAgent: null,
      version: 1,
      parentId: null,
    };
    index.set(
      id,
      mode === 'full'
        ? full
        : {
            id,
            kind: full.kind === 'personal' ? 'personal' : 'repository',
            name: full.name,
            prefix: full.prefix,
            repository: mode === 'intern' ? intern(full.repository) : full.repository,
            user: full.user,
            status: full.status === 'revoked' ? 'revoked' : 'active',
            createdAt: full.createdAt,
            expiresAt: full.expiresAt,
            lastUsedAt: full.lastUsedAt,
            parentId: full.parentId,
          },
    );
  }
}
globalThis.gc();
const after = process.memoryUsage();
const mib = (n) => (n / 1048576).toFixed(1);
console.log(
  `${mode}: ${mib(after.heapUsed - before.heapUsed)} MiB heap + ${mib(after.arrayBuffers - before.arrayBuffers)} MiB array buffers for ${N} tokens (${index.size ?? index.ids.length})`,
);
