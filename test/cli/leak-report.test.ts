import { Readable } from 'node:stream';
import t from 'tap';
import { LEAK_BODY_BYTES } from '../../src/admin/body.js';
import type { AdminClient } from '../../src/cli/admin-client.js';
import { UsageError } from '../../src/cli/args.js';
import { CliFailure } from '../../src/cli/failure.js';
import { LEAK_CHUNK, PartialLeakReport, readSecrets, reportLeaked, secretsFrom } from '../../src/cli/leak-report.js';

/** A client that records each leak report and answers as the API would, or fails on call `failOn`. */
function fakeClient(failOn?: number) {
  const calls: string[][] = [];
  const client = {
    async call(method: string, path: string, body: { secrets: string[] }) {
      calls.push(body.secrets);
      if (calls.length === failOn) throw new CliFailure('429 Too many requests: try again in 60 s');
      if (method !== 'POST' || path !== '/v1/tokens/leaked') throw new Error(`unexpected ${method} ${path}`);
      return { received: body.secrets.length, revoked: body.secrets.filter((s) => s.startsWith('tgr_live')).length };
    },
  } as unknown as AdminClient;
  return { client, calls };
}

t.test('secrets are read one a line, blanks and CRLF dropped', async (t) => {
  t.same(secretsFrom('a\r\n\n  b  \n\nc'), ['a', 'b', 'c']);
  t.same(await readSecrets(undefined, Readable.from([Buffer.from('x\ny\n')]) as unknown as NodeJS.ReadStream), ['x', 'y']);
  const tty = Object.assign(Readable.from([]), { isTTY: true }) as unknown as NodeJS.ReadStream;
  await t.rejects(readSecrets(undefined, tty), UsageError, 'a terminal on stdin: say how to give them');
  await t.rejects(readSecrets('/nonexistent/leaks.txt', tty), /--file: cannot read .*ENOENT/);
});

t.test('reports go in calls of at most 1000 secrets, the counts summed', async (t) => {
  const { client, calls } = fakeClient();
  const secrets = Array.from({ length: 2 * LEAK_CHUNK + 500 }, (_, i) => (i % 1000 === 0 ? `tgr_live${i}` : `tgr_x${i}`));
  t.same(await reportLeaked(client, secrets), { received: 2500, revoked: 3 });
  t.same(
    calls.map((c) => c.length),
    [1000, 1000, 500],
  );
  t.same(calls.flat(), secrets, 'every secret once, in order');
});

t.test('calls stay within the 64 KiB body the endpoint takes, however long the lines', async (t) => {
  const { client, calls } = fakeClient();
  // 200 characters is the longest secret the endpoint reads; 1000 of them would be 200 KB.
  const secrets = Array.from({ length: LEAK_CHUNK }, (_, i) => `tgr_live${String(i).padStart(192, '0')}`);
  t.same(await reportLeaked(client, secrets), { received: 1000, revoked: 1000 });
  t.ok(calls.length > 1, `${calls.length} calls`);
  for (const call of calls) t.ok(Buffer.byteLength(JSON.stringify({ secrets: call })) <= LEAK_BODY_BYTES, `${call.length} secrets fit`);
  t.same(calls.flat(), secrets, 'every secret once, in order');
  const wide = ['é'.repeat(200), '\u0000'.repeat(33), '"'.repeat(200)];
  const { client: other, calls: sent } = fakeClient();
  await reportLeaked(
    other,
    Array.from({ length: 900 }, (_, i) => wide[i % 3]!),
  );
  for (const call of sent) t.ok(Buffer.byteLength(JSON.stringify({ secrets: call })) <= LEAK_BODY_BYTES, 'escapes and multi-byte characters counted as sent');
});

t.test('a refused call says how far the report got', async (t) => {
  const { client } = fakeClient(2);
  const err = await reportLeaked(
    client,
    Array.from({ length: 1500 }, () => 'tgr_live'),
  ).catch((e: unknown) => e);
  t.type(err, PartialLeakReport);
  t.same((err as PartialLeakReport).done, { received: 1000, revoked: 1000 });
  t.match((err as Error).message, /^429/);
});
