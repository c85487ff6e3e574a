// The deploy/ manifests as `kubectl kustomize` renders them (manifests.test.ts runs these where
// kubectl is installed), validated against the kubernetes-models schemas.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import t, { type Test } from 'tap';
import { routes } from '../../src/admin/routes.js';
import { LOCAL_COMMANDS } from '../../src/cli/local-commands.js';
import { nodeVersionProblem } from '../../src/cli/node-version.js';
import { loadConfig } from '../../src/config/load.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { PROBE_PATHS } from '../../src/probes/probe-server.js';
import { type Doc, kustomize } from '../helpers/kustomize.js';
import { docBlocks, headingAnchors } from '../helpers/markdown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: each model's constructor takes its own kind's shape; a rendered Doc is any of them
const MODELS: Record<string, new (doc: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/**
 * Renders a kustomization written into a fresh test folder; `repo` is the repository root as a
 * path relative to that folder, since kustomize refuses absolute paths to resources and components.
 */
const renderOwn = (t: Test, kustomization: (repo: string) => string, files: Record<string, string> = {}) => {
  const dir = t.testdir(files);
  writeFileSync(join(dir, 'kustomization.yaml'), kustomization(relative(dir, root)));
  return kustomize(dir);
};

const base = kustomize(join(root, 'deploy/base'));
const overlay = kustomize(join(root, 'deploy/overlays/dev-redis'));
// The base with the optional monitoring component, as a user's kustomization adds it.
const monitored = renderOwn(
  t,
  (repo) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [${repo}/deploy/base]
components: [${repo}/deploy/monitoring]
`,
);
const initAdminJob = kustomize(join(root, 'deploy/init-admin'));
const controlPlane = kustomize(join(root, 'deploy/control'));
const find = (docs: Doc[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name)!;
const deployment = find(base, 'Deployment', 'data-service');
const pod = deployment.spec.template.spec;
const tollgate = pod.initContainers.find((c: { name: string }) => c.name === 'tollgate');
const configText = find(base, 'ConfigMap', 'tollgate-config').data['tollgate.yaml'] as string;
// Loaded the way the pod loads it: the mounted file plus the Redis URL from the Secret.
const configDir = t.testdir({ 'tollgate.yaml': configText });
/** The config a container loads: the mounted file, with its environment (the Secret's URL, the role). */
const configOf = (env: Array<{ name: string; value?: string }>) =>
  loadConfig({
    path: join(configDir, 'tollgate.yaml'),
    required: true,
    env: Object.fromEntries(env.map((e) => [e.name, e.value ?? find(overlay, 'Secret', 'tollgate-redis').stringData.url])),
  });
const config = configOf(tollgate.env);
const portOf = (name: string) => tollgate.ports.find((p: { name: string }) => p.name === name)?.containerPort;

t.test('every rendered object is valid against the Kubernetes and Prometheus Operator schemas', async (t) => {
  for (const doc of [...base, ...overlay, ...monitored, ...initAdminJob, ...controlPlane]) {
    const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    t.ok(Model, `a schema for ${doc.apiVersion} ${doc.kind}`);
    t.doesNotThrow(() => new Model!(doc).validate(), `${doc.kind}/${doc.metadata.name}`);
  }
  t.same(overlay.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
    'ConfigMap/tollgate-config',
    'Deployment/data-service',
    'Deployment/redis',
    'NetworkPolicy/tollgate',
    'Secret/tollgate-redis',
    'Service/data-service',
    'Service/redis',
  ]);
});

t.test('the base applies on a bare cluster: Prometheus Operator kinds come only with the monitoring component', async (t) => {
  const operatorKinds = (docs: Doc[]) =>
    docs
      .filter((d) => d.apiVersion.startsWith('monitoring.coreos.com/'))
      .map((d) => d.kind)
      .sort();
  t.same(operatorKinds(base), []);
  t.same(operatorKinds(overlay), []);
  t.same(operatorKinds(monitored), ['PodMonitor', 'PrometheusRule']);
  for (const doc of base) t.ok(['v1', 'apps/v1', 'networking.k8s.io/v1'].includes(doc.apiVersion), `${doc.kind}: a built-in API`);
});

t.test('the images are set in one place: the images: entries of the kustomization', async (t) => {
  const images = [...pod.initContainers, ...pod.containers].map((c: { image: string }) => c.image);
  t.same(images, ['ghcr.io/example/tollgate:0.1.0', 'registry.example.com/data-service:1.0.0']);
  const mine = renderOwn(
    t,
    (repo) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [${repo}/deploy/base]
images:
  - { name: ghcr.io/example/tollgate, newName: registry.internal/platform/tollgate, newTag: 0.2.0 }
`,
  );
  const mineTollgate = find(mine, 'Deployment', 'data-service').spec.template.spec.initContainers[0];
  t.equal(mineTollgate.image, 'registry.internal/platform/tollgate:0.2.0', 'one images: edit in an overlay moves the image');
});

t.test('Tollgate is a native sidecar whose ports match its config', async (t) => {
  t.equal(tollgate.restartPolicy, 'Always');
  t.equal(portOf('proxy'), config.proxy.listen.port);
  t.equal(portOf('admin'), config.admin.listen.port);
  t.equal(config.store.backend, 'redis');
  t.same(tollgate.args, ['serve', '--config', '/etc/tollgate/tollgate.yaml']);
  t.equal(tollgate.volumeMounts[0].mountPath, '/etc/tollgate');
  t.equal(tollgate.env[0].name, 'TOLLGATE_STORE_REDIS_URL');
  t.equal(config.role, 'proxy', 'the sidecar runs the proxy role (TOLLGATE_ROLE)');
  t.equal(
    tollgate.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS'),
    undefined,
    'no V8 flag: none paid in bench/RESULTS.md once the start heap is released and uploads reuse their buffer',
  );
  t.equal(new URL(config.proxy.upstream).hostname, '127.0.0.1', 'the data service is reached over the pod loopback');
});

t.test('probes and the PodMonitor use paths the proxy role answers, on the admin port', async (t) => {
  const served = new Set<string>(PROBE_PATHS);
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    t.equal(tollgate[probe].httpGet.port, 'admin', probe);
    t.ok(served.has(tollgate[probe].httpGet.path), `${probe} ${tollgate[probe].httpGet.path}`);
  }
  t.equal(tollgate.readinessProbe.httpGet.path, '/readyz');
  const monitor = find(monitored, 'PodMonitor', 'tollgate');
  t.equal(monitor.spec.podMetricsEndpoints[0].port, 'admin');
  t.ok(served.has(monitor.spec.podMetricsEndpoints[0].path));
  t.ok(selects(monitor.spec.selector, deployment.spec.template.metadata.labels), 'the PodMonitor selects the sidecar pods');
  const control = find(controlPlane, 'Deployment', 'tollgate-control').spec.template;
  t.ok(selects(monitor.spec.selector, control.metadata.labels), 'and the control pods (they report the store-wide figures)');
  t.equal(
    control.spec.containers[0].ports.find((p: { name: string }) => p.name === monitor.spec.podMetricsEndpoints[0].port)?.containerPort,
    config.admin.listen.port,
  );
});

/** A Kubernetes label selector (matchLabels and matchExpressions) applied to a pod's labels. */
function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> },
  labels: Record<string, string>,
): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return key in labels && values.includes(labels[key]!);
    if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key]!);
    if (operator === 'Exists') return key in labels;
    return !(key in labels);
  });
  return byLabel && byExpression;
}

t.test('deploy/control runs the control role: 2 replicas, probes, the Service tollgate-admin and a PodDisruptionBudget', async (t) => {
  t.same(controlPlane.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
    'Deployment/tollgate-control',
    'NetworkPolicy/tollgate-control',
    'PodDisruptionBudget/tollgate-control',
    'Service/tollgate-admin',
  ]);
  const control = find(controlPlane, 'Deployment', 'tollgate-control');
  const template = control.spec.template;
  const [container] = template.spec.containers;
  t.equal(control.spec.replicas, 2);
  const controlConfig = configOf(container.env);
  t.equal(controlConfig.role, 'control', "TOLLGATE_ROLE=control on the sidecars' config file");
  t.equal(controlConfig.store.redis.keyPrefix, config.store.redis.keyPrefix, 'the same store as the sidecars');
  const redisUrl = (env: Array<{ name: string }>) => env.filter((e) => e.name === 'TOLLGATE_STORE_REDIS_URL');
  t.same(redisUrl(container.env), redisUrl(tollgate.env), 'the same Redis Secret');
  t.same(container.volumeMounts, tollgate.volumeMounts);
  t.same(template.spec.volumes, pod.volumes, 'the same ConfigMap');
  t.equal(container.image, tollgate.image, 'the same image');
  t.same(container.args, tollgate.args);
  const admin = container.ports.find((p: { name: string }) => p.name === 'admin');
  t.equal(admin.containerPort, controlConfig.admin.listen.port);
  t.same(
    container.ports.map((p: { name: string }) => p.name),
    ['admin'],
    'no proxy port',
  );
  const served = new Set(
    routes()
      .filter((r) => r.method === 'GET')
      .map((r) => r.path),
  );
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    t.equal(container[probe].httpGet.port, 'admin', probe);
    t.ok(served.has(container[probe].httpGet.path), `${probe} ${container[probe].httpGet.path}`);
  }
  t.equal(container.readinessProbe.httpGet.path, '/readyz');
  t.ok(served.has('/ui/'), 'the admin server serves the page');

  const service = find(controlPlane, 'Service', 'tollgate-admin');
  t.ok(selects({ matchLabels: service.spec.selector }, template.metadata.labels), 'the Service selects the control pods');
  t.same(service.spec.ports, [{ name: 'admin', port: 9090, targetPort: 'admin' }]);
  t.notOk(selects({ matchLabels: service.spec.selector }, deployment.spec.template.metadata.labels), 'and no sidecar pod');

  const budget = find(controlPlane, 'PodDisruptionBudget', 'tollgate-control');
  t.ok(selects(budget.spec.selector, template.metadata.labels), 'the budget covers the control pods');
  t.ok(budget.spec.minAvailable >= 1 && budget.spec.minAvailable < control.spec.replicas, 'one pod may go, one stays');

  const policy = find(controlPlane, 'NetworkPolicy', 'tollgate-control');
  t.ok(selects(policy.spec.podSelector, template.metadata.labels));
  t.same(
    policy.spec.ingress.map((rule: { ports: unknown }) => rule.ports),
    [[{ protocol: 'TCP', port: admin.containerPort }]],
    'the admin port only',
  );

  t.equal(template.spec.securityContext.runAsNonRoot, true);
  t.match(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  t.ok(container.resources.requests.memory && container.resources.limits.memory, 'memory requested and limited');
  t.ok(template.spec.terminationGracePeriodSeconds > container.lifecycle.preStop.sleep.seconds, 'the grace period outlasts the preStop pause');
});

t.test('the Service exposes the proxy port only', async (t) => {
  const service = find(base, 'Service', 'data-service');
  t.same(
    service.spec.ports.map((p: { targetPort: string }) => p.targetPort),
    ['proxy'],
  );
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
  t.equal(tollgate.resources.limits.memory, '192Mi', 'above the streaming peak bench/RESULTS.md measured (117 MiB), with room for a full token cache');
});

t.test('alerts and the dashboard name only metrics the process exports', async (t) => {
  // What the two roles export together: the PodMonitor scrapes both.
  const metrics = new Metrics({
    cacheEntries: () => 0,
    isStoreUp: async () => true,
    tokenCounts: async () => [],
    expiringSoon: async () => ({ repository: 0, personal: 0 }),
    webhookBacklog: async () => 0,
  });
  const exported = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    exported.add(metric.name);
    if (metric.type === ('histogram' as never)) for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
  }
  const named = (text: string) => [...text.matchAll(/\b((?:tollgate|process)_[a-z_]+)\b/g)].map((m) => m[1]!);
  const rules = find(monitored, 'PrometheusRule', 'tollgate').spec.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules);
  t.ok(rules.length >= 5);
  for (const rule of rules) {
    const names = named(rule.expr);
    t.ok(names.length > 0 || /\bup\{job=~"\.\+\/tollgate"\}/.test(rule.expr), `${rule.alert} names a metric`);
    for (const name of names) t.ok(exported.has(name), `${rule.alert}: ${name}`);
  }
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'));
  for (const panel of dashboard.panels.filter((p: { type: string }) => p.type !== 'row')) {
    for (const target of panel.targets) for (const name of named(target.expr)) t.ok(exported.has(name), `${panel.title}: ${name}`);
  }
  for (const alert of [
    'TollgateStoreDown',
    'TollgateRevocationLagHigh',
    'TollgateUpstreamErrors',
    'TollgateCacheHitRatioLow',
    'TollgateTokensExpiringSoon',
    'TollgateWebhookBacklogGrowing',
    'TollgateUnauthenticatedSpike',
    'TollgateTargetDown',
    'TollgateTargetsAbsent',
  ]) {
    t.ok(
      rules.some((r: { alert: string }) => r.alert === alert),
      alert,
    );
  }
});

t.test('the Dockerfile builds with npm ci, keeps only runtime dependencies and runs as non-root', async (t) => {
  const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
  t.match(dockerfile, /npm ci --omit=dev/);
  t.match(dockerfile, /^USER 65532:65532$/m);
  t.match(dockerfile, /^CMD \["serve"/m);
  const ignore = readFileSync(join(dirname(join(root, 'deploy/Dockerfile')), 'Dockerfile.dockerignore'), 'utf8');
  t.match(ignore, /^\*$/m, 'everything is ignored but what the build copies');
});

t.test('the image runs Node 24, the line CI tests, on distroless; its build steps match the project', async (t) => {
  const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
  const froms = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\w+))?$/gm)].map((m) => ({ image: m[1]!, stage: m[2] }));
  t.same(
    froms.map((f) => f.image),
    ['node:24-bookworm-slim', 'node:24-bookworm-slim', 'gcr.io/distroless/nodejs24-debian12:nonroot'],
    'Node 24 build stages on Debian 12 (bookworm), the Node 24 distroless Debian 12 runtime as nonroot',
  );
  t.same(
    froms.map((f) => f.stage),
    ['deps', 'build', undefined],
  );
  t.equal(nodeVersionProblem('24.0.0'), undefined, "the image's line is one Tollgate supports");
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  t.match(pkg.devDependencies.node, /^24\.\d+\.\d+$/, "npm scripts and CI run on the image's line, pinned to one release");
  const ignore = readFileSync(join(root, 'deploy/Dockerfile.dockerignore'), 'utf8');
  const unignored = new Set([...ignore.matchAll(/^!(\S+?)(?:\/\*\*)?$/gm)].map((m) => m[1]));
  for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of sources!.split(' ')) {
      t.ok(statSync(join(root, source), { throwIfNoEntry: false }), `COPY ${source}: it exists`);
      t.ok(unignored.has(source), `COPY ${source}: the build context keeps it`);
    }
  }
  for (const [, script] of dockerfile.matchAll(/^RUN npm run (\S+)$/gm)) t.ok(pkg.scripts[script!], `npm run ${script}: package.json has it`);
  const entry = /^ENTRYPOINT \["\/nodejs\/bin\/node", "(\S+)"\]$/m.exec(dockerfile);
  t.equal(entry?.[1], 'dist/bundle/main.js', 'the entry point is the tollgate command, bundled');
  t.match(pkg.scripts.build, /node scripts\/bundle\.mjs$/, 'which the build bundles last, from dist/main.js');
  t.match(
    readFileSync(join(root, 'scripts/finish-build.mjs'), 'utf8'),
    /symlinkSync\('\.\.\/\.\.\/dist\/main\.js', 'node_modules\/\.bin\/tollgate'\)/,
    'which the build links as the tollgate command',
  );
  t.ok(statSync(join(root, 'src/main.ts'), { throwIfNoEntry: false }), 'which the build makes from src/main.ts');
  t.match(dockerfile, /^COPY --from=build \/app\/dist \.\/dist$/m);
  t.match(dockerfile, /^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
});

t.test('the NetworkPolicy opens the proxy port to all, the admin port to the namespace and Prometheus, nothing else', async (t) => {
  const policy = find(base, 'NetworkPolicy', 'tollgate');
  t.match(deployment.spec.template.metadata.labels, policy.spec.podSelector.matchLabels, 'it selects the Tollgate pods');
  t.same(policy.spec.policyTypes, ['Ingress']);
  const [proxyRule, adminRule] = policy.spec.ingress;
  t.same(proxyRule.ports, [{ protocol: 'TCP', port: config.proxy.listen.port }]);
  t.notOk(proxyRule.from, 'the proxy port: from any client of the Service');
  t.same(adminRule.ports, [{ protocol: 'TCP', port: config.admin.listen.port }]);
  t.same(adminRule.from[0], { podSelector: {} }, 'the admin port: pods of the namespace');
  t.match(
    adminRule.from[1],
    { namespaceSelector: { matchLabels: {} }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } },
    'and Prometheus',
  );
  t.equal(policy.spec.ingress.length, 2, "no other port (the data service's 8000) is open");
  const service = find(base, 'Service', 'data-service');
  t.equal(portOf(service.spec.ports[0].targetPort), config.proxy.listen.port, 'the port the Service targets is the open one');
});

t.test("the init-admin Job runs tollgate init-admin once, with the sidecar's config and store, and goes away", async (t) => {
  t.same(
    initAdminJob.map((d) => `${d.kind}/${d.metadata.name}`),
    ['Job/tollgate-init-admin'],
  );
  const job = initAdminJob[0]!;
  t.equal(job.spec.backoffLimit, 0, 'no retry: a retry would make a second admin token');
  t.ok(job.spec.ttlSecondsAfterFinished > 0 && job.spec.ttlSecondsAfterFinished <= 3600, 'the Job and its log (the secret) are deleted within the hour');
  const spec = job.spec.template.spec;
  t.equal(spec.restartPolicy, 'Never');
  const [container] = spec.containers;
  t.equal(container.image, tollgate.image, "the sidecar's image");
  t.same(container.args.slice(0, 3), ['init-admin', '--config', tollgate.args[2]]);
  t.same(LOCAL_COMMANDS['init-admin']!.options, ['config', 'name'], 'the command and its options exist');
  t.same(
    container.env,
    tollgate.env.filter((e: { name: string }) => e.name === 'TOLLGATE_STORE_REDIS_URL'),
    'the same Redis Secret (the default role and V8 flags: init-admin opens no port)',
  );
  t.same(container.volumeMounts, tollgate.volumeMounts);
  t.same(spec.volumes, pod.volumes, 'the same ConfigMap');
  t.match(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  t.equal(spec.securityContext.runAsNonRoot, true);
  t.equal(spec.automountServiceAccountToken, false);
  // The config the Job loads is the sidecar's: init-admin reads store settings from it.
  t.equal(config.store.backend, 'redis');
});

t.test("the sidecar component puts Tollgate in front of a team's own Deployment and Service", async (t) => {
  // A team's existing kustomization: their Deployment and Service, marked for the sidecar, plus
  // one Deployment that is not.
  const docs = renderOwn(
    t,
    (repo) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [app.yaml]
components: [${repo}/deploy/components/sidecar]
images:
  - { name: ghcr.io/example/tollgate, newName: registry.internal/platform/tollgate, newTag: 0.1.0 }
`,
    {
      'app.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  annotations: { tollgate/sidecar: inject }
spec:
  replicas: 3
  selector: { matchLabels: { app: orders } }
  template:
    metadata: { labels: { app: orders } }
    spec:
      containers:
        - name: orders
          image: registry.example.com/orders:2.3
          ports: [{ name: http, containerPort: 8000 }]
          readinessProbe: { httpGet: { path: /health, port: http } }
          resources: { limits: { memory: 1Gi } }
      volumes: [{ name: scratch, emptyDir: {} }]
---
apiVersion: v1
kind: Service
metadata:
  name: orders
  annotations: { tollgate/sidecar: inject }
spec:
  selector: { app: orders }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: worker }
spec:
  selector: { matchLabels: { app: worker } }
  template:
    metadata: { labels: { app: worker } }
    spec:
      containers: [{ name: worker, image: registry.example.com/worker:1 }]
`,
    },
  );
  t.same(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
    'ConfigMap/tollgate-config',
    'Deployment/orders',
    'Deployment/worker',
    'NetworkPolicy/tollgate',
    'Service/orders',
  ]);
  for (const doc of docs) t.doesNotThrow(() => new MODELS[`${doc.apiVersion}/${doc.kind}`]!(doc).validate(), `${doc.kind}/${doc.metadata.name} is valid`);

  const orders = find(docs, 'Deployment', 'orders').spec.template;
  const [sidecar] = orders.spec.initContainers;
  const { runAsNonRoot, runAsUser, runAsGroup, seccompProfile, ...lockdown } = sidecar.securityContext;
  t.same({ ...sidecar, image: tollgate.image, securityContext: lockdown }, tollgate, "the same container as the base's sidecar");
  t.same(
    { runAsNonRoot, runAsUser, runAsGroup, seccompProfile },
    { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  );
  t.equal(sidecar.image, 'registry.internal/platform/tollgate:0.1.0', "the team's images: entry sets it");
  t.equal(sidecar.restartPolicy, 'Always', 'a native sidecar');
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) t.equal(sidecar[probe].httpGet.port, 'admin', probe);
  // kustomize's strategic merge puts the patch's list items first: the order is not the point.
  t.same(orders.spec.volumes.map((v: { name: string }) => v.name).sort(), ['scratch', 'tollgate-config'], "the team's volumes kept, the config added");
  t.equal(orders.spec.containers.length, 1);
  t.equal(orders.spec.containers[0].readinessProbe.httpGet.port, 'http', "the team's container and probes untouched");
  t.same(orders.metadata.labels, { app: 'orders', 'tollgate/sidecar': 'true', 'tollgate/role': 'proxy' });
  t.same(find(docs, 'Deployment', 'orders').spec.selector, { matchLabels: { app: 'orders' } }, 'the (immutable) selector untouched');
  t.equal(orders.spec.terminationGracePeriodSeconds, pod.terminationGracePeriodSeconds);

  const service = find(docs, 'Service', 'orders');
  t.same(service.spec.ports, [{ name: 'http', port: 80, targetPort: 'proxy' }], 'the Service now reaches Tollgate');
  t.same(find(docs, 'ConfigMap', 'tollgate-config').data, find(base, 'ConfigMap', 'tollgate-config').data, 'the same config as the base');
  t.same(find(docs, 'NetworkPolicy', 'tollgate').spec, find(base, 'NetworkPolicy', 'tollgate').spec, 'the same NetworkPolicy as the base');
  t.match(orders.metadata.labels, find(docs, 'NetworkPolicy', 'tollgate').spec.podSelector.matchLabels, 'which selects the pods');
  t.equal(new URL(config.proxy.upstream).port, String(orders.spec.containers[0].ports[0].containerPort), "upstream is the data service's port");

  const worker = find(docs, 'Deployment', 'worker').spec.template;
  t.notOk(worker.spec.initContainers, 'an unmarked Deployment is left alone');
  t.same(worker.metadata.labels, { app: 'worker' });
});

t.test("the scrape-target alerts watch the PodMonitor's job; the 401 alert counts 401s", async (t) => {
  const rules = find(monitored, 'PrometheusRule', 'tollgate').spec.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules);
  const expr = (alert: string) => rules.find((r: { alert: string }) => r.alert === alert)!.expr as string;
  // The Prometheus Operator names a PodMonitor's scrape job "<namespace>/<name>".
  const job = new RegExp(`^${/job=~"([^"]+)"/.exec(expr('TollgateTargetDown'))![1]}$`);
  t.match(`payments/${find(monitored, 'PodMonitor', 'tollgate').metadata.name}`, job);
  t.notMatch('payments/redis', job);
  t.match(expr('TollgateTargetDown'), /^up\{job=~"[^"]+"\} == 0$/);
  t.match(expr('TollgateTargetsAbsent'), /^absent\(up\{job=~"[^"]+"\}\)$/);
  t.match(expr('TollgateUnauthenticatedSpike'), /tollgate_requests_total\{outcome="unauthenticated"\}/);
});

const alertsOf = (docs: Doc[]) =>
  find(docs, 'PrometheusRule', 'tollgate').spec.groups.flatMap(
    (g: { rules: Array<{ alert: string; annotations?: { runbook_url?: string } }> }) => g.rules,
  ) as Array<{ alert: string; annotations?: { runbook_url?: string } }>;

t.test('every alert has a runbook_url: the one runbook base, then its own heading in docs/operations.md', async (t) => {
  const operations = readFileSync(join(root, 'docs/operations.md'), 'utf8');
  const anchors = headingAnchors(operations);
  // Headings under "## Alerts", up to the next "## ".
  const alertsSection = headingAnchors(/^## Alerts\n([\s\S]*?)(?=^## )/m.exec(operations)![1]!);
  const rule = find(monitored, 'PrometheusRule', 'tollgate');
  const base = rule.metadata.annotations?.['runbook-base'];
  t.equal(base, 'https://github.com/example/tollgate/blob/main/docs/operations.md', 'the base is one annotation');
  for (const { alert, annotations } of alertsOf(monitored)) {
    t.equal(annotations?.runbook_url, `${base}#${alert.toLowerCase()}`, `${alert}: the base and its own anchor`);
    t.equal(anchors.get(alert.toLowerCase()), alert, `${alert} has a heading of its name in docs/operations.md`);
    t.ok(alertsSection.has(alert.toLowerCase()), `${alert}: the heading is under Alerts`);
  }
  t.equal(alertsSection.size, alertsOf(monitored).length, 'and Alerts has no heading for an alert that does not exist');
});

t.test("the kustomization docs/operations.md shows moves every alert's runbook link, ", async (t) => {
  const [shown] = docBlocks('docs/operations.md', 'yaml').filter((block) => block.includes('runbook-base'));
  t.ok(shown, 'docs/operations.md shows how to move the runbook base');
  const dir = t.testdir({ k: { 'kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${shown}` } });
  // kustomize wants resources by a path it can reach from the kustomization: relative to it.
  writeFileSync(
    join(dir, 'k/kustomization.yaml'),
    readFileSync(join(dir, 'k/kustomization.yaml'), 'utf8').replaceAll('<path>/', `${relative(join(dir, 'k'), root)}/`),
  );
  const want = (alert: string) => `https://git.example.org/platform/tollgate/blob/main/docs/operations.md#${alert.toLowerCase()}`;
  const moved = kustomize(join(dir, 'k'));
  t.ok(alertsOf(moved).length > 0);
  for (const { alert, annotations } of alertsOf(moved)) t.equal(annotations?.runbook_url, want(alert), alert);
});

t.test('the dashboard has namespace and pod variables, and every query uses both', async (t) => {
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'));
  const variables = new Map(dashboard.templating.list.map((v: { name: string }) => [v.name, v]));
  const namespace = variables.get('namespace') as { type: string; query: { query: string } };
  const podVariable = variables.get('pod') as { type: string; query: { query: string } };
  t.equal(namespace?.type, 'query');
  t.match(namespace?.query.query, /^label_values\(tollgate_\w+, namespace\)$/);
  t.match(podVariable?.query.query, /^label_values\(tollgate_\w+\{namespace=~"\$namespace"\}, pod\)$/, 'pods of the chosen namespaces');
  for (const panel of dashboard.panels.filter((p: { type: string }) => p.type !== 'row')) {
    for (const target of panel.targets) {
      const selectors = [...(target.expr as string).matchAll(/\b(?:tollgate|process)_[a-z_]+(\{[^}]*\})?/g)];
      t.ok(selectors.length > 0, panel.title);
      for (const [whole, selector] of selectors) {
        t.ok(selector?.includes('namespace=~"$namespace"') && selector.includes('pod=~"$pod"'), `${panel.title}: ${whole}`);
      }
    }
  }
});
