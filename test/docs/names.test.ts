import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DEFAULTS } from '../../src/config/defaults.js';
import { envName } from '../../src/config/load.js';
import { PROBLEMS } from '../../src/http/problems.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { readPage } from '../helpers/markdown.js';

// What the hand-written pages name (config keys, variables, metrics, problem types) exists in
// the code, so a rename there cannot leave the docs pointing at nothing. The sections headed
// "Changes arriving" hold names that land with other work, and are left out.
const root = fileURLToPath(new URL('../../', import.meta.url));
function pagesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return path === 'docs/reference' ? [] : pagesUnder(path);
    return name.endsWith('.md') ? [path] : [];
  });
}
const pages = ['README.md', ...pagesUnder('docs')].map((path) => ({
  path,
  text: readPage(path).replace(/^## Changes arriving\n[\s\S]*?(?=^## |(?![\s\S]))/m, ''),
}));

type Tree = Record<string, unknown>;
const leaves = (tree: Tree, prefix: string[] = []): string[][] =>
  Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? [[...prefix, key], ...leaves(value as Tree, [...prefix, key])] : [[...prefix, key]],
  );
const keys = new Set(leaves(DEFAULTS).map((path) => path.join('.')));
const variables = new Set([...leaves(DEFAULTS).map((path) => envName(path)), 'TOLLGATE_CONFIG', 'TOLLGATE_TOKEN', 'TOLLGATE_ADMIN_URL']);

t.test('every config key a page names is a key of the configuration', async (t) => {
  const sections = Object.keys(DEFAULTS).join('|');
  for (const { path, text } of pages) {
    for (const [, key] of text.matchAll(new RegExp(`\`((?:${sections})\\.[A-Za-z.]+[A-Za-z])\``, 'g'))) {
      // `proxy.timeouts.headers` and `.idle` style shorthands are written out in full here.
      t.ok(keys.has(key!), `${path}: ${key}`);
    }
  }
});

t.test('every TOLLGATE_ variable a page names is one the loader reads', async (t) => {
  for (const { path, text } of pages) {
    for (const [name] of text.matchAll(/\bTOLLGATE_[A-Z0-9_]+\b/g)) {
      if (/^TOLLGATE_EVENTS_WEBHOOKS_(\d+|<n>)?_?(URL|SECRET|EVENTS)?$/.test(name) || name === 'TOLLGATE_CACHE_TLL' || name === 'TOLLGATE_') continue;
      t.ok(variables.has(name), `${path}: ${name}`);
    }
  }
});

t.test('every metric a page names is in the registry', async (t) => {
  // Both roles' metrics: the store-wide gauges (tokens, expiring soon, webhook backlog) are the control plane's.
  const metrics = new Metrics({
    cacheEntries: () => 0,
    isStoreUp: async () => true,
    tokenCounts: async () => [],
    expiringSoon: async () => ({ repository: 0, personal: 0 }),
    webhookBacklog: async () => 0,
  });
  const names = new Set((metrics.registry.getMetricsAsArray() as unknown as Array<{ name: string }>).map((m) => m.name));
  for (const { path, text } of pages) {
    // Outside code blocks: nginx variables in a configuration are named tollgate_… too.
    for (const [, name] of text.replace(/^```[\s\S]*?^```$/gm, '').matchAll(/\b(tollgate_[a-z_]+[a-z])\b/g)) {
      if (name === 'tollgate_decision') continue; // the Envoy cluster (and nginx upstream) of the decision port
      t.ok(names.has(name!) || names.has(name!.replace(/_(bucket|sum|count)$/, '')), `${path}: ${name}`);
    }
  }
});

t.test('every problem type a page names is in the registry', async (t) => {
  const types = new Set<string>(Object.values(PROBLEMS).map((p) => p.type));
  for (const { path, text } of pages) {
    for (const [type] of text.matchAll(/\/problems\/[a-z-]+[a-z]/g)) t.ok(types.has(type), `${path}: ${type}`);
  }
});
