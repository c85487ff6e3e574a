/**
 * A small stand-in for `kubectl kustomize`, for the features deploy/ uses and nothing more:
 * resources (files and directories), components (kind: Component), patches (strategic merge or
 * JSON 6902, from a file or inline, with an optional target by kind, name, labelSelector or
 * annotationSelector of `key=value` pairs), images (name, newName, newTag), labels (pairs,
 * metadata only) and replacements (inline or from a file: a source field of one object copied
 * into target fields, with `*` over list items and a delimiter/index to replace one part of a
 * value). Anything else in a kustomization is refused rather than silently ignored.
 *
 * Order, as kustomize does it: resources, then each component (its resources added, then its
 * own transformers applied to everything gathered so far), then this kustomization's patches,
 * labels, images and, last, replacements.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };
type Target = { kind?: string; name?: string; labelSelector?: string; annotationSelector?: string };
type Patch = { path?: string; patch?: string; target?: Target };
type Image = { name: string; newName?: string; newTag?: string };
type Select = { kind?: string; name?: string };
export type Replacement = {
  source: Select & { fieldPath: string };
  targets: Array<{ select: Select; fieldPaths: string[]; options?: { delimiter?: string; index?: number } }>;
};
type Kustomization = {
  apiVersion: string;
  kind?: string;
  resources?: string[];
  components?: string[];
  patches?: Patch[];
  images?: Image[];
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }>;
  replacements?: Array<Replacement | { path: string }>;
};

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches', 'images', 'labels', 'replacements']);

function read(dir: string, kind: 'Kustomization' | 'Component'): Kustomization {
  const k = parseYaml(readFileSync(resolve(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const actual = k.kind ?? 'Kustomization';
  if (actual !== kind) throw new Error(`${dir}: a ${actual} where a ${kind} is expected`);
  const apiVersion = kind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  if (k.apiVersion !== apiVersion) throw new Error(`${dir}: apiVersion ${k.apiVersion}, expected ${apiVersion}`);
  for (const key of Object.keys(k)) if (!KNOWN.has(key)) throw new Error(`${dir}: the test renderer does not implement "${key}"`);
  return k;
}

function load(dir: string, resource: string): Doc[] {
  const path = resolve(dir, resource);
  if (statSync(path).isDirectory()) return render(path);
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as Doc);
}

/** Renders the kustomization in dir. */
export function render(dir: string): Doc[] {
  const k = read(dir, 'Kustomization');
  let docs = (k.resources ?? []).flatMap((r) => load(dir, r));
  for (const component of k.components ?? []) docs = applyComponent(resolve(dir, component), docs);
  return transform(dir, k, docs);
}

function applyComponent(dir: string, docs: Doc[]): Doc[] {
  const k = read(dir, 'Component');
  let all = [...docs, ...(k.resources ?? []).flatMap((r) => load(dir, r))];
  for (const component of k.components ?? []) all = applyComponent(resolve(dir, component), all);
  return transform(dir, k, all);
}

function transform(dir: string, k: Kustomization, docs: Doc[]): Doc[] {
  let out = docs.map((d) => structuredClone(d));
  for (const patch of k.patches ?? []) out = applyPatch(out, patch, dir);
  for (const label of k.labels ?? []) {
    if (label.includeSelectors || label.includeTemplates) throw new Error('labels: only metadata labels are implemented');
    for (const doc of out) doc.metadata.labels = { ...doc.metadata.labels, ...label.pairs };
  }
  for (const image of k.images ?? []) for (const doc of out) setImage(doc, image);
  for (const entry of k.replacements ?? []) {
    const replacement = 'path' in entry ? (parseYaml(readFileSync(resolve(dir, entry.path), 'utf8')) as Replacement) : entry;
    out = replace(out, replacement, dir);
  }
  const seen = new Set<string>();
  for (const doc of out) {
    const id = `${doc.apiVersion}/${doc.kind}/${doc.metadata.name}`;
    if (seen.has(id)) throw new Error(`${dir}: ${id} appears twice`);
    seen.add(id);
  }
  return out;
}

function selectorMatches(selector: string | undefined, values: Record<string, string> | undefined): boolean {
  if (selector === undefined) return true;
  return selector.split(',').every((pair) => {
    const [key, value] = pair.split('=');
    return values?.[key!.trim()] === value?.trim();
  });
}

export function matches(doc: Doc, target: Target): boolean {
  return (
    (target.kind === undefined || doc.kind === target.kind) &&
    (target.name === undefined || doc.metadata.name === target.name) &&
    selectorMatches(target.labelSelector, doc.metadata.labels) &&
    selectorMatches(target.annotationSelector, doc.metadata.annotations)
  );
}

function applyPatch(docs: Doc[], patch: Patch, dir: string): Doc[] {
  const text = patch.path !== undefined ? readFileSync(resolve(dir, patch.path), 'utf8') : patch.patch;
  if (text === undefined) throw new Error(`${dir}: a patch without path or patch`);
  const body = parseYaml(text) as unknown;
  if (Array.isArray(body)) {
    if (!patch.target) throw new Error(`${dir}: a JSON 6902 patch needs a target`);
    const hit = docs.filter((d) => matches(d, patch.target!));
    if (hit.length === 0) throw new Error(`${dir}: no object matches the patch target ${JSON.stringify(patch.target)}`);
    return docs.map((d) => (matches(d, patch.target!) ? json6902(d, body as Operation[]) : d));
  }
  const smp = body as Doc;
  const target: Target = patch.target ?? { kind: smp.kind, name: smp.metadata.name };
  const hit = docs.filter((d) => matches(d, target));
  if (hit.length === 0) throw new Error(`${dir}: no object matches the patch target ${JSON.stringify(target)}`);
  return docs.map((d) => {
    if (!matches(d, target)) return d;
    // With a target, kustomize applies the patch whatever name it carries.
    const { metadata, ...rest } = smp;
    const { name: _name, ...meta } = metadata ?? {};
    return strategicMerge(d, { ...rest, metadata: meta, apiVersion: d.apiVersion, kind: d.kind }) as Doc;
  });
}

/**
 * Strategic merge, the subset used: maps merge key by key, null deletes a key, a list whose
 * items are all maps with a `name` merges item by item on `name` (containers, initContainers,
 * volumes, env, ports in these manifests), any other list is replaced.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isMap(base) && isMap(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = key in base ? strategicMerge(base[key], value) : value;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && [...base, ...patch].every((i) => isMap(i) && typeof i.name === 'string')) {
    const out = base.map((item) => {
      const update = patch.find((p) => p.name === item.name);
      return update ? strategicMerge(item, update) : item;
    });
    for (const item of patch) if (!base.some((b) => b.name === item.name)) out.push(item);
    return out;
  }
  return patch;
}

export type Operation = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

/** JSON Patch (RFC 6902), the subset used: add, replace and remove. */
export function json6902<T>(doc: T, ops: Operation[]): T {
  const out = structuredClone(doc) as unknown;
  for (const { op, path, value } of ops) {
    const keys = path.split('/').slice(1).map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`patch path ${path}: the root cannot be patched`);
    let parent: any = out;
    for (const key of keys) {
      parent = Array.isArray(parent) ? parent[Number(key)] : isMap(parent) ? parent[key] : undefined;
      if (parent === undefined) throw new Error(`patch path ${path}: ${key} does not exist`);
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (op !== 'add' && index === parent.length)) {
        throw new Error(`patch path ${path}: no index ${last}`);
      }
      if (op === 'add') parent.splice(index, 0, structuredClone(value));
      else if (op === 'replace') parent[index] = structuredClone(value);
      else parent.splice(index, 1);
    } else if (isMap(parent)) {
      if (op !== 'add' && !(last in parent)) throw new Error(`patch path ${path}: ${last} does not exist`);
      if (op === 'remove') delete parent[last];
      else parent[last] = structuredClone(value);
    } else {
      throw new Error(`patch path ${path}: the parent is not a map or list`);
    }
  }
  return out as T;
}

function isMap(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Splits an image reference into name and tag (digests are not used here). */
export function splitImage(image: string): { name: string; tag?: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? { name: image.slice(0, colon), tag: image.slice(colon + 1) } : { name: image };
}

function setImage(node: unknown, image: Image): void {
  if (Array.isArray(node)) {
    for (const item of node) setImage(item, image);
    return;
  }
  if (!isMap(node)) return;
  for (const key of ['containers', 'initContainers']) {
    for (const container of (node[key] as Array<{ image?: string }> | undefined) ?? []) {
      if (typeof container.image !== 'string') continue;
      const current = splitImage(container.image);
      if (current.name !== image.name) continue;
      const tag = image.newTag ?? current.tag;
      container.image = (image.newName ?? current.name) + (tag === undefined ? '' : `:${tag}`);
    }
  }
  for (const value of Object.values(node)) setImage(value, image);
}

/** A field path's keys: `a.b.*.c`, with `[x.y/z]` for a key holding dots or slashes. */
function fieldKeys(path: string): string[] {
  return [...path.matchAll(/\[([^\]]+)\]|([^.[\]]+)/g)].map((m) => (m[1] ?? m[2])!);
}

function fieldsAt(node: unknown, keys: string[], path: string): Array<{ parent: Record<string, any>; key: string }> {
  const [key, ...rest] = keys;
  if (key === undefined) return [];
  const children = key === '*' ? (Array.isArray(node) ? node : []) : isMap(node) ? [node[key]] : Array.isArray(node) ? [node[Number(key)]] : [];
  if (rest.length === 0) {
    if (key === '*' || !isMap(node) || !(key in node)) throw new Error(`replacement: ${path} does not exist`);
    return [{ parent: node, key }];
  }
  return children.flatMap((child) => {
    if (child === undefined) throw new Error(`replacement: ${path} does not exist`);
    return fieldsAt(child, rest, path);
  });
}

/** kustomize `replacements`: the source value written into each target field (or one part of it). */
export function replace(docs: Doc[], replacement: Replacement, dir = '.'): Doc[] {
  const { source, targets } = replacement;
  const from = docs.filter((d) => matches(d, source));
  if (from.length !== 1) throw new Error(`${dir}: replacement source ${JSON.stringify(source)} matches ${from.length} objects`);
  const [field] = fieldsAt(from[0], fieldKeys(source.fieldPath), source.fieldPath);
  const value = field!.parent[field!.key] as unknown;
  const out = docs.map((d) => structuredClone(d));
  for (const target of targets) {
    const hit = out.filter((d) => matches(d, target.select));
    if (hit.length === 0) throw new Error(`${dir}: no object matches the replacement target ${JSON.stringify(target.select)}`);
    for (const doc of hit) {
      for (const path of target.fieldPaths) {
        for (const { parent, key } of fieldsAt(doc, fieldKeys(path), path)) {
          const { delimiter, index } = target.options ?? {};
          if (delimiter === undefined) {
            parent[key] = structuredClone(value);
            continue;
          }
          const parts = String(parent[key]).split(delimiter);
          parts[index ?? 0] = String(value);
          parent[key] = parts.join(delimiter);
        }
      }
    }
  }
  return out;
}
