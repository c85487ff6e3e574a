import t from 'tap';
import { runWorkload, scrapeSeries, startDeployment } from './deployment.js';

// Every series is a cost paid per pod in Prometheus (memory, disk, query time), and a sidecar runs
// in every pod of the data service. After a small workload that touches every instrument (every
// right, refusal, limit, a WebSocket, the decision port, admin calls, a revocation, webhooks), a
// pod stays under these bounds; a change that multiplies series (a label with many values, a
// histogram per admin route) fails here rather than in someone's Prometheus bill.
// Measured: 287 (proxy) and 314 (all) after this workload, which uses five of the six `right`
// values and no gRPC; the sixth right (16) and gRPC calls (14) fit in the margin. Before the
// admin histogram went from per route to per operation, the same workload made 397 on `all`
// (and every further admin route called added 16).
const BOUND = { proxy: 320, all: 350 };

const d = await startDeployment(t);
const seen = await runWorkload(d);

t.test('the workload did what it says', async (t) => {
  t.equal(seen['query 200'], 40);
  t.equal(seen['websocket 101'], 2);
  t.equal(seen['limited 429'], 1);
  t.equal(seen['decision allowed 200'], 2);
  t.equal(seen['revoked websocket 1008'], 1, 'the WebSocket on the revoked token was ended');
});

for (const pod of [d.proxy, d.all]) {
  t.test(`a ${pod.role} pod exports under ${BOUND[pod.role]} series`, async (t) => {
    const series = await scrapeSeries(pod);
    const byName = new Map<string, number>();
    for (const line of series) {
      const name = /^[a-z_]+/.exec(line)![0].replace(/_(bucket|sum|count)$/, '');
      byName.set(name, (byName.get(name) ?? 0) + 1);
    }
    t.comment(
      `${pod.role}: ${series.length} series; by name: ${[...byName]
        .sort((a, b) => b[1] - a[1])
        .map(([n, c]) => `${n} ${c}`)
        .join(', ')}`,
    );
    t.ok(series.length <= BOUND[pod.role], `${series.length} <= ${BOUND[pod.role]}`);
    t.ok(byName.has('tollgate_live_exchange_duration_seconds'), 'the WebSocket is timed in its own histogram');
    t.ok((byName.get('tollgate_admin_request_duration_seconds') ?? 0) <= 18, 'the admin histogram has two series sets (read, write), not one per route');
    if (pod.ca === undefined) t.notOk(byName.has('tollgate_tls_certificate_expiry_timestamp_seconds'), 'no TLS: no certificate series');
    else t.ok(byName.has('tollgate_tls_certificate_expiry_timestamp_seconds'), 'TLS: the certificate series');
  });
}
