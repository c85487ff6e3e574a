import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { routes } from '../../src/admin/routes.js';
import { loadConfig } from '../../src/config/load.js';
import { Metrics } from '../../src/metrics/metrics.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
type Doc = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: any };

/** What `kubectl kustomize` does for the features these kustomizations use: resources, recursively. */
function render(dir: string): Doc[] {
  const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kustomization.resources.flatMap((resource) => {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) return render(path);
    return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as Doc);
  });
}

const MODELS: Record<string, new (doc: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

const base = render(join(root, 'deploy/base'));
const overlay = render(join(root, 'deploy/overlays/dev-redis'));
const find = (docs: Doc[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name)!;
const deployment = find(base, 'Deployment', 'data-service');
const pod = deployment.spec.template.spec;
const tollgate = pod.initContainers.find((c: { name: string }) => c.name === 'tollgate');
const configText = find(base, 'ConfigMap', 'tollgate-config').data['tollgate.yaml'] as string;
// Loaded the way the pod loads it: the mounted file plus the Redis URL from the Secret.
const configDir = t.testdir({ 'tollgate.yaml': configText });
const config = loadConfig({
  path: join(configDir, 'tollgate.yaml'),
  required: true,
  env: { TOLLGATE_STORE_REDIS_URL: find(overlay, 'Secret', 'tollgate-redis').stringData.url },
});
const portOf = (name: string) => tollgate.ports.find((p: { name: string }) => p.name === name)?.containerPort;

t.test('every rendered object is valid against the Kubernetes and Prometheus Operator schemas', async (t) => {
  for (const doc of [...base, ...overlay]) {
    const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    t.ok(Model, `a schema for ${doc.apiVersion} ${doc.kind}`);
    t.doesNotThrow(() => new Model!(doc).validate(), `${doc.kind}/${doc.metadata.name}`);
  }
  t.same(overlay.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
    'ConfigMap/tollgate-config',
    'Deployment/data-service',
    'Deployment/redis',
    'PodMonitor/tollgate',
    'PrometheusRule/tollgate',
    'Secret/tollgate-redis',
    'Service/data-service',
    'Service/redis',
  ]);
});

t.test('kubectl kustomize renders the same objects, where kubectl is installed', async (t) => {
  let rendered: string;
  try {
    rendered = execFileSync('kubectl', ['kustomize', join(root, 'deploy/overlays/dev-redis')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    t.comment('kubectl is not on this machine: checked with the built-in renderer only');
    return;
  }
  const docs = parseAllDocuments(rendered).map((d) => d.toJS() as Doc);
  t.same(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort(), overlay.map((d) => `${d.kind}/${d.metadata.name}`).sort());
});

t.test('Tollgate is a native sidecar whose ports match its config', async (t) => {
  t.equal(tollgate.restartPolicy, 'Always');
  t.equal(portOf('proxy'), config.proxy.listen.port);
  t.equal(portOf('admin'), config.admin.listen.port);
  t.equal(config.store.backend, 'redis');
  t.same(tollgate.args, ['serve', '--config', '/etc/tollgate/tollgate.yaml']);
  t.equal(tollgate.volumeMounts[0].mountPath, '/etc/tollgate');
  t.equal(tollgate.env[0].name, 'TOLLGATE_STORE_REDIS_URL');
  t.equal(new URL(config.proxy.upstream).hostname, '127.0.0.1', 'the data service is reached over the pod loopback');
});

t.test('probes and the PodMonitor use paths the admin server answers, on the admin port', async (t) => {
  const served = new Set(routes().filter((r) => r.method === 'GET').map((r) => r.path));
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    t.equal(tollgate[probe].httpGet.port, 'admin', probe);
    t.ok(served.has(tollgate[probe].httpGet.path), `${probe} ${tollgate[probe].httpGet.path}`);
  }
  t.equal(tollgate.readinessProbe.httpGet.path, '/readyz');
  const monitor = find(base, 'PodMonitor', 'tollgate');
  t.equal(monitor.spec.podMetricsEndpoints[0].port, 'admin');
  t.ok(served.has(monitor.spec.podMetricsEndpoints[0].path));
  t.same(monitor.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
});

t.test('the Service exposes the proxy port only', async (t) => {
  const service = find(base, 'Service', 'data-service');
  t.same(service.spec.ports.map((p: { targetPort: string }) => p.targetPort), ['proxy']);
  t.same(service.spec.selector, deployment.spec.selector.matchLabels);
});

t.test('the grace period covers the preStop pause plus proxy.shutdownGrace', async (t) => {
  const preStop = tollgate.lifecycle.preStop.sleep.seconds as number;
  t.ok(pod.terminationGracePeriodSeconds >= preStop + config.proxy.shutdownGrace / 1000, 'terminationGracePeriodSeconds');
});

t.test('every container runs locked down', async (t) => {
  t.equal(pod.securityContext.runAsNonRoot, true);
  t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  for (const container of [...pod.initContainers, ...pod.containers]) {
    t.match(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, container.name);
    t.ok(container.resources.limits.memory, `${container.name} has a memory limit`);
  }
  t.equal(tollgate.resources.limits.memory, '256Mi', 'above the 200 MiB streaming bound the e2e test enforces');
});

t.test('alerts and the dashboard name only metrics the process exports', async (t) => {
  const metrics = new Metrics({ cacheEntries: () => 0, isStoreUp: async () => true, tokenCounts: async () => [] });
  const exported = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    exported.add(metric.name);
    if (metric.type === ('histogram' as never)) for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
  }
  const named = (text: string) => [...text.matchAll(/\b((?:tollgate|process)_[a-z_]+)\b/g)].map((m) => m[1]!);
  const rules = find(base, 'PrometheusRule', 'tollgate').spec.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules);
  t.ok(rules.length >= 5);
  for (const rule of rules) {
    const names = named(rule.expr);
    t.ok(names.length > 0, `${rule.alert} names a metric`);
    for (const name of names) t.ok(exported.has(name), `${rule.alert}: ${name}`);
  }
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'));
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) for (const name of named(target.expr)) t.ok(exported.has(name), `${panel.title}: ${name}`);
  }
  for (const alert of ['TollgateStoreDown', 'TollgateRevocationLagHigh', 'TollgateUpstreamErrors', 'TollgateCacheHitRatioLow']) {
    t.ok(rules.some((r: { alert: string }) => r.alert === alert), alert);
  }
});

t.test('the Dockerfile builds with npm ci, keeps only runtime dependencies and runs as non-root', async (t) => {
  const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
  t.match(dockerfile, /npm ci --omit=dev/);
  t.match(dockerfile, /^FROM node:20/m);
  t.match(dockerfile, /^USER 65532:65532$/m);
  t.match(dockerfile, /^CMD \["serve"/m);
  const ignore = readFileSync(join(dirname(join(root, 'deploy/Dockerfile')), 'Dockerfile.dockerignore'), 'utf8');
  t.match(ignore, /^\*$/m, 'everything is ignored but what the build copies');
});
