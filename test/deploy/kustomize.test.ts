// The in-test Kustomize renderer (test/helpers/kustomize.ts): the subset deploy/ uses, checked on
// small inputs with the results kustomize gives for them.
import t from 'tap';
import { json6902, render, replace, splitImage, strategicMerge } from '../helpers/kustomize.js';

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations: { tollgate/sidecar: "true" }
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.0
          ports: [{ name: http, containerPort: 8000 }]
      volumes: [{ name: a, emptyDir: {} }]
`;

t.test('strategic merge: maps merge, null deletes, named lists merge by name, other lists are replaced', async (t) => {
  t.same(strategicMerge({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 4, d: null }, e: 5 }), { a: 1, b: { c: 4 }, e: 5 });
  t.same(
    strategicMerge([{ name: 'x', v: 1 }, { name: 'y', v: 2 }], [{ name: 'y', w: 3 }, { name: 'z' }]),
    [{ name: 'x', v: 1 }, { name: 'y', v: 2, w: 3 }, { name: 'z' }],
  );
  t.same(strategicMerge(['a', 'b'], ['c']), ['c']);
});

t.test('JSON 6902: add, replace, remove, with - and escaped keys', async (t) => {
  const doc = { a: [1, 2], m: { 'x/y': 1 } };
  t.same(json6902(doc, [{ op: 'add', path: '/a/-', value: 3 }]), { a: [1, 2, 3], m: { 'x/y': 1 } });
  t.same(json6902(doc, [{ op: 'add', path: '/a/0', value: 0 }]).a, [0, 1, 2]);
  t.same(json6902(doc, [{ op: 'replace', path: '/m/x~1y', value: 2 }]).m, { 'x/y': 2 });
  t.same(json6902(doc, [{ op: 'remove', path: '/a/1' }]).a, [1]);
  t.same(json6902(doc, [{ op: 'add', path: '/m/new', value: true }]).m, { 'x/y': 1, new: true });
  t.same(doc, { a: [1, 2], m: { 'x/y': 1 } }, 'the input is left alone');
  t.throws(() => json6902(doc, [{ op: 'replace', path: '/m/missing', value: 1 }]), /does not exist/);
  t.throws(() => json6902(doc, [{ op: 'remove', path: '/a/5' }]), /no index/);
  t.throws(() => json6902(doc, [{ op: 'add', path: '/b/c', value: 1 }]), /does not exist/);
});

t.test('replacements: a source field into every matching target field, whole or one delimited part', async (t) => {
  const rule = {
    apiVersion: 'v1',
    kind: 'Rule',
    metadata: { name: 'r', annotations: { base: 'https://new/ops.md', 'a.b/c': 'x' } },
    spec: { groups: [{ rules: [{ url: 'https://old/ops.md#one' }, { url: 'https://old/ops.md#two' }] }, { rules: [{ url: 'https://old/ops.md#three' }] }] },
  };
  const select = { kind: 'Rule', name: 'r' };
  const out = replace([rule], { source: { ...select, fieldPath: 'metadata.annotations.base' }, targets: [{ select, fieldPaths: ['spec.groups.*.rules.*.url'], options: { delimiter: '#', index: 0 } }] });
  t.same(out[0]!.spec.groups.flatMap((g: { rules: Array<{ url: string }> }) => g.rules.map((r) => r.url)), ['https://new/ops.md#one', 'https://new/ops.md#two', 'https://new/ops.md#three']);
  t.equal(rule.spec.groups[0]!.rules[0]!.url, 'https://old/ops.md#one', 'the input is left as it was');
  const whole = replace([rule], { source: { ...select, fieldPath: 'metadata.annotations.[a.b/c]' }, targets: [{ select, fieldPaths: ['spec.groups.1.rules.0.url'] }] });
  t.equal(whole[0]!.spec.groups[1].rules[0].url, 'x', 'a bracketed key, a list index, the whole value');
  t.throws(() => replace([rule], { source: { ...select, fieldPath: 'metadata.annotations.base' }, targets: [{ select, fieldPaths: ['spec.groups.*.rules.*.missing'] }] }), /does not exist/);
  t.throws(() => replace([rule], { source: { kind: 'Rule', name: 'other', fieldPath: 'metadata.name' }, targets: [] }), /matches 0 objects/);
});

t.test('image references split at the tag, not at a registry port', async (t) => {
  t.same(splitImage('ghcr.io/example/tollgate:0.1.0'), { name: 'ghcr.io/example/tollgate', tag: '0.1.0' });
  t.same(splitImage('registry.local:5000/tollgate'), { name: 'registry.local:5000/tollgate' });
});

t.test('components, targeted patches of both kinds, images and labels, in kustomize order', async (t) => {
  const dir = t.testdir({
    app: {
      'kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml]
components: [../component]
images:
  - { name: ghcr.io/example/tollgate, newTag: "9.9" }
labels:
  - pairs: { team: blue }
`,
      'deployment.yaml': deployment,
    },
    component: {
      'kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [cm.yaml]
patches:
  - path: smp.yaml
    target: { kind: Deployment, annotationSelector: tollgate/sidecar=true }
  - target: { kind: Deployment, name: api }
    patch: |-
      - { op: add, path: /spec/template/spec/containers/0/ports, value: [] }
`,
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { k: v }\n',
      'smp.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: any-name }
spec:
  template:
    spec:
      initContainers: [{ name: side, image: "ghcr.io/example/tollgate:0.1.0" }]
      volumes: [{ name: b, emptyDir: {} }]
`,
    },
  });
  const docs = render(`${dir}/app`);
  t.same(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['Deployment/api', 'ConfigMap/c']);
  const spec = docs[0]!.spec.template.spec;
  t.same(spec.initContainers, [{ name: 'side', image: 'ghcr.io/example/tollgate:9.9' }], 'patched in, then the image set');
  t.same(spec.volumes.map((v: { name: string }) => v.name), ['a', 'b']);
  t.same(spec.containers[0].ports, []);
  t.equal(spec.containers[0].image, 'registry.example.com/api:1.0', 'other images untouched');
  for (const doc of docs) t.equal(doc.metadata.labels?.team, 'blue', `labels reach ${doc.kind}`);
});

t.test('what the renderer does not implement, or kustomize refuses, fails loudly', async (t) => {
  const dir = t.testdir({
    unknown: { 'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: x-\n' },
    compAsResource: { 'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../comp]\n' },
    comp: { 'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n' },
    missTarget: {
      'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [d.yaml]\npatches:\n  - target: { kind: Service }\n    patch: "[{op: remove, path: /spec}]"\n',
      'd.yaml': deployment,
    },
    twice: { 'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [d.yaml, e.yaml]\n', 'd.yaml': deployment, 'e.yaml': deployment },
  });
  t.throws(() => render(`${dir}/unknown`), /does not implement "namePrefix"/);
  t.throws(() => render(`${dir}/compAsResource`), /a Component where a Kustomization is expected/);
  t.throws(() => render(`${dir}/missTarget`), /no object matches/);
  t.throws(() => render(`${dir}/twice`), /appears twice/);
});
