import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { missing } from '../helpers/front-proxy.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { runWorkload, startDeployment } from './deployment.js';

// The shipped dashboard and alert rules against a real Prometheus (Debian's package) scraping a
// real Tollgate (the built CLI, an `all` and a `proxy` replica) under a small workload: every
// panel's query must parse and return a number, every rule must load and evaluate.

const root = fileURLToPath(new URL('../..', import.meta.url));
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'));
const rule = parse(readFileSync(join(root, 'deploy/monitoring/prometheusrule.yaml'), 'utf8'));
type Rule = { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> };
const groups = rule.spec.groups as Array<{ name: string; rules: Rule[] }>;
const alerts = groups.flatMap((g) => g.rules);

const dir = mkdtempSync(join(tmpdir(), 'tollgate-prometheus-'));
const rulesFile = join(dir, 'rules.yaml');
writeFileSync(rulesFile, stringify({ groups }));

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const promtool = (...args: string[]) => spawnSync(PROMTOOL, args, { cwd: dir, encoding: 'utf8' });

// .ci/run installs Debian's prometheus (both binaries); elsewhere the test says what is missing.
const why = missing(PROMETHEUS, 'prometheus') ?? missing(PROMTOOL, 'prometheus');
if (why !== undefined) t.skip(`prometheus: ${why}`, () => {});
else await againstPrometheus();

async function againstPrometheus(): Promise<void> {
  t.test('promtool check rules accepts every alert', async (t) => {
    const checked = promtool('check', 'rules', rulesFile);
    t.equal(checked.status, 0, checked.stdout + checked.stderr);
    t.match(checked.stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`));
  });

  t.test('promtool test rules: the certificate alert needs a certificate; the store alert fires', async (t) => {
    // promtool compares annotations too: render the few templates these alerts use.
    const annotations = (alert: string, labels: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(alerts.find((a) => a.alert === alert)!.annotations).map(([k, v]) => [
          k,
          v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l]!),
        ]),
      );
    const expected = (alert: string, labels: Record<string, string>) => ({
      exp_labels: { ...alerts.find((a) => a.alert === alert)!.labels, ...labels },
      exp_annotations: annotations(alert, labels),
    });
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          // Two pods: p1 without TLS (no certificate series at all), p2 serving a certificate
          // whose notAfter is 10 days after the epoch, so under 14 days left at any eval time here.
          interval: '1m',
          input_series: [
            { series: 'tollgate_store_up{namespace="a",pod="p1"}', values: '1 1 0x150' },
            { series: 'tollgate_store_up{namespace="a",pod="p2"}', values: '1x150' },
            { series: 'tollgate_tls_certificate_expiry_timestamp_seconds{namespace="a",pod="p2"}', values: '864000x150' },
            { series: 'up{job="a/tollgate",namespace="a",pod="p1"}', values: '1x150' },
            { series: 'up{job="a/tollgate",namespace="a",pod="p2"}', values: '1x150' },
          ],
          alert_rule_test: [
            { eval_time: '30m', alertname: 'TollgateCertificateExpiring', exp_alerts: [] },
            { eval_time: '2h', alertname: 'TollgateCertificateExpiring', exp_alerts: [expected('TollgateCertificateExpiring', { namespace: 'a', pod: 'p2' })] },
            { eval_time: '5m', alertname: 'TollgateStoreDown', exp_alerts: [expected('TollgateStoreDown', { namespace: 'a', pod: 'p1' })] },
            { eval_time: '2h', alertname: 'TollgateTargetDown', exp_alerts: [] },
          ],
        },
        {
          // Without TLS anywhere nothing about certificates fires, however long it runs.
          interval: '1m',
          input_series: [{ series: 'tollgate_store_up{namespace="a",pod="p1"}', values: '1x300' }],
          alert_rule_test: [{ eval_time: '4h', alertname: 'TollgateCertificateExpiring', exp_alerts: [] }],
        },
      ],
    };
    writeFileSync(join(dir, 'rules.test.yaml'), stringify(tests));
    const tested = promtool('test', 'rules', 'rules.test.yaml');
    t.equal(tested.status, 0, tested.stdout + tested.stderr);
    t.match(tested.stdout, /SUCCESS/);
  });

  const d = await startDeployment(t);
  const port = await freePort();
  const prometheusUrl = `http://127.0.0.1:${port}`;
  const target = (url: string) => new URL(url).host;
  writeFileSync(
    join(dir, 'prometheus.yaml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [rulesFile],
      scrape_configs: [
        {
          // As the PodMonitor names it ("<namespace>/tollgate"), with the labels the operator adds.
          job_name: 'test/tollgate',
          static_configs: [
            { targets: [target(d.all.adminUrl)], labels: { namespace: 'test', pod: 'tollgate-all', container: 'tollgate' } },
            { targets: [target(d.proxy.adminUrl)], labels: { namespace: 'test', pod: 'tollgate-proxy', container: 'tollgate' } },
          ],
        },
      ],
    }),
  );
  const prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yaml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let prometheusLog = '';
  prometheus.stderr.on('data', (chunk) => (prometheusLog += chunk));
  t.teardown(async () => {
    prometheus.kill('SIGKILL');
    await new Promise((resolve) => (prometheus.exitCode !== null || prometheus.signalCode !== null ? resolve(undefined) : prometheus.once('exit', resolve)));
    rmSync(dir, { recursive: true, force: true });
  });
  process.once('exit', () => prometheus.kill('SIGKILL'));

  async function query(
    expr: string,
  ): Promise<{ status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }> {
    const res = await request(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return (await res.body.json()) as never;
  }
  const value = async (expr: string) => Number((await query(expr)).data.result[0]?.value[1] ?? NaN);

  // Both targets scraped once before the workload, so every counter's rate has a sample from before it.
  await waitFor(async () => (await value('sum(up{job="test/tollgate"})').catch(() => 0)) === 2, {
    what: `Prometheus to scrape both pods (${prometheusLog})`,
    timeoutMs: 30_000,
    everyMs: 200,
  });
  // The workload twice, each waited for in Prometheus: a series the first run creates (a counter
  // that appears with its first event, a histogram's labelled series) has a sample from before the
  // second, so every rate() sees it move, as it does under steady traffic.
  let requests = 0;
  for (let run = 0; run < 2; run++) {
    const seen = await runWorkload(d);
    requests += Object.entries(seen)
      .filter(([what]) => !/^(admin|decision|revoke)/.test(what))
      .reduce((sum, [, n]) => sum + n, 0);
    await waitFor(async () => (await value('sum(tollgate_requests_total{job="test/tollgate"})')) >= requests, {
      what: `the workload's ${requests} requests in Prometheus`,
      timeoutMs: 30_000,
      everyMs: 200,
    });
  }
  const settled = Date.now() / 1000;

  /** A panel's query as Grafana sends it: every pod and namespace, a rate window covering the test. */
  const asSent = (expr: string) => expr.replaceAll('$namespace', '.*').replaceAll('$pod', '.*').replaceAll('$__rate_interval', '5m');

  const panels = (dashboard.panels as Array<{ type: string; title: string; targets?: Array<{ expr: string; legendFormat: string }> }>).filter(
    (p) => p.type !== 'row',
  );

  t.test('every panel query parses and returns a number from the scraped Tollgate', async (t) => {
    t.ok(panels.length >= 30);
    for (const panel of panels) {
      for (const target of panel.targets!) {
        const answer = await query(asSent(target.expr));
        t.comment(`${panel.title} (${target.legendFormat}): ${answer.data?.result.map((r) => r.value[1]).join(' ')}`);
        t.equal(answer.status, 'success', `${panel.title} (${target.legendFormat}): ${answer.error ?? ''}`);
        const values = answer.data.result.map((r) => Number(r.value[1]));
        t.ok(
          values.some((v) => Number.isFinite(v)),
          `${panel.title} (${target.legendFormat}): ${JSON.stringify(answer.data.result)}`,
        );
      }
    }
  });

  t.test('what the workload did shows where the panels look', async (t) => {
    t.ok((await value(asSent('sum(rate(tollgate_limited_total{limit="rate"}[5m]))'))) > 0, 'the rate limit hit');
    t.ok((await value(asSent('sum(tollgate_live_exchange_duration_seconds_count{protocol="websocket"})'))) >= 2, 'both WebSockets timed as streams');
    t.ok((await value(asSent('sum(tollgate_invalidation_lag_seconds_count)'))) >= 1, 'the revocation reached the other replica');
    t.ok((await value(asSent('sum(rate(tollgate_exchanges_ended_total{reason="revoked"}[5m]))'))) > 0, 'the WebSocket on the revoked token ended by Tollgate');
    t.ok((await value('sum(tollgate_webhook_deliveries_total{outcome="delivered"})')) >= 6, 'webhooks delivered');
    t.equal(await value('max(tollgate_tokens_expiring_soon{kind="repository"})'), 2, 'the two tokens expiring in 2 days');
    const expiry = await query('tollgate_tls_certificate_expiry_timestamp_seconds');
    t.same(
      expiry.data.result.map((r) => r.metric.pod),
      ['tollgate-all'],
      'a certificate series for the TLS pod only',
    );
  });

  t.test('the dashboard variables list the scraped namespace and pods', async (t) => {
    const labelValues = async (label: string, match: string) => {
      const res = await request(`${prometheusUrl}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': match })}`);
      return ((await res.body.json()) as { data: string[] }).data;
    };
    const variable = (name: string) =>
      (dashboard.templating.list as Array<{ name: string; query?: { query: string } }>).find((v) => v.name === name)!.query!.query;
    const [, metric] = /^label_values\((\w+), namespace\)$/.exec(variable('namespace'))!;
    t.same(await labelValues('namespace', metric!), ['test']);
    const [, podMatch] = /^label_values\((.+), pod\)$/.exec(variable('pod'))!;
    t.same(await labelValues('pod', podMatch!.replace('$namespace', 'test')), ['tollgate-all', 'tollgate-proxy']);
  });

  t.test('every alert rule loads and evaluates in Prometheus; it fires on what happened, not on what did not', async (t) => {
    type Loaded = { name: string; health: string; lastError?: string; state: string; lastEvaluation: string };
    const rules = async () => {
      const res = await request(`${prometheusUrl}/api/v1/rules?type=alert`);
      return ((await res.body.json()) as { data: { groups: Array<{ rules: Loaded[] }> } }).data.groups.flatMap((g) => g.rules);
    };
    // Evaluated once more after the workload reached Prometheus.
    await waitFor(async () => (await rules()).every((r) => Date.parse(r.lastEvaluation) / 1000 > settled), {
      what: 'an evaluation of every rule after the workload',
      timeoutMs: 15_000,
      everyMs: 200,
    });
    const loaded = await rules();
    t.same(loaded.map((r) => r.name).sort(), alerts.map((a) => a.alert).sort(), 'every rule of the PrometheusRule is loaded');
    for (const r of loaded) {
      t.equal(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);
    }
    // The states this deployment decides (latency and ratio alerts depend on how busy the machine is).
    const state = (name: string) => loaded.find((r) => r.name === name)?.state;
    t.equal(state('TollgateTokensExpiringSoon'), 'pending', 'the tokens expiring in 2 days: pending for its `for: 1h`');
    for (const name of [
      'TollgateCertificateExpiring',
      'TollgateStoreDown',
      'TollgateTargetDown',
      'TollgateTargetsAbsent',
      'TollgateUnavailable',
      'TollgateUpstreamErrors',
    ]) {
      t.equal(state(name), 'inactive', `${name}: a 30-day certificate, a store and an upstream that answer, both pods scraped`);
    }
  });
}
