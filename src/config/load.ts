import { readFileSync } from 'node:fs';
import { type Document, LineCounter, parseDocument, parse as parseYaml } from 'yaml';
import { DEFAULTS } from './defaults.js';
import { type Config, configSchema } from './schema.js';

/** A configuration that cannot be used; `faults` holds one line per problem, each naming its key. */
export class ConfigError extends Error {
  readonly code = 'TG_CONFIG_INVALID';
  /**
   * `faults[i]` names a key the file sets: where (`tollgate.yaml:12`). Kept apart from the
   * fault text, which reads the same whether the value came from the file or the environment.
   */
  lines: ReadonlyArray<string | undefined> = [];
  constructor(readonly faults: string[]) {
    super(faults.join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * The faults as `serve` prints them at start and logs them on a reload: one per line, indented,
 * each followed by the file and line it was found at when the file sets that key.
 */
export function formatFaults(err: ConfigError): string[] {
  return err.faults.map((fault, i) => {
    const at = err.lines[i];
    return `  ${at === undefined ? fault : `${fault} (${at})`}`.replace(/\n/g, '\n  ');
  });
}

/** Environment variables that belong to the CLI rather than to configuration keys. */
const CLI_VARIABLES = new Set(['TOLLGATE_CONFIG', 'TOLLGATE_TOKEN', 'TOLLGATE_ADMIN_URL']);

type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `store.redis.keyPrefix` -> `TOLLGATE_STORE_REDIS_KEY_PREFIX`. */
export function envName(path: readonly string[]): string {
  return `TOLLGATE_${path.map((key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

function leaves(tree: Tree, prefix: string[] = [], out: string[][] = []): string[][] {
  for (const [key, value] of Object.entries(tree)) {
    // An empty map (telemetry.otlp.headers) is one key the environment sets whole, as YAML.
    if (isTree(value) && Object.keys(value).length > 0) leaves(value, [...prefix, key], out);
    else out.push([...prefix, key]);
  }
  return out;
}

/**
 * Lays `over` on `base`. The result has no prototype and `base` is read by own keys only, so a
 * `__proto__` key in a file stays an ordinary key that validation names as unknown (on a plain
 * object it became the object's prototype and vanished without a word).
 */
export function merge(base: unknown, over: unknown): unknown {
  if (!isTree(base) || !isTree(over)) return over === undefined ? base : over;
  const out: Tree = Object.assign(Object.create(null) as Tree, base);
  for (const [key, value] of Object.entries(over)) out[key] = merge(Object.hasOwn(base, key) ? base[key] : undefined, value);
  return out;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * One key of one webhook: `TOLLGATE_EVENTS_WEBHOOKS_0_SECRET`, so a webhook's URL can stay in the
 * file while its secret comes from the environment (a Kubernetes Secret).
 */
const WEBHOOK_KEY = /^TOLLGATE_EVENTS_WEBHOOKS_(\d{1,3})_(URL|SECRET|EVENTS)$/;

interface WebhookOverride {
  name: string;
  index: number;
  key: 'url' | 'secret' | 'events';
  raw: string;
}

function envOverrides(env: NodeJS.ProcessEnv, faults: string[], webhookKeys: WebhookOverride[] = []): Tree {
  const known = new Map(leaves(DEFAULTS).map((path) => [envName(path), path]));
  const out: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('TOLLGATE_') || CLI_VARIABLES.has(name) || raw === undefined) continue;
    const webhook = WEBHOOK_KEY.exec(name);
    if (webhook) {
      webhookKeys.push({ name, index: Number(webhook[1]), key: webhook[2]!.toLowerCase() as WebhookOverride['key'], raw });
      continue;
    }
    const path = known.get(name);
    if (!path) {
      faults.push(`${name}: unknown environment variable; keys are TOLLGATE_<PATH> such as TOLLGATE_STORE_REDIS_URL`);
      continue;
    }
    const sample = path.reduce<unknown>((node, key) => (node as Tree)[key], DEFAULTS);
    // Strings stay as written (URLs, host:port); other leaves are read as YAML so "true", "128" and lists work.
    let value: unknown = raw;
    if (typeof sample !== 'string') {
      try {
        value = parseYaml(raw);
      } catch {
        faults.push(`${path.join('.')}: ${name} is not valid YAML`);
        continue;
      }
    }
    setPath(out, path, value);
  }
  return out;
}

/**
 * A YAML syntax error as one fault: the file, line and column and what is wrong, then, on lines
 * of its own, the line itself with a caret under the column. The yaml library's message ends in "at line 2, column
 * 11:" and puts the excerpt on the lines after, which the one-line-per-fault output used to cut.
 */
export function yamlFaults(path: string, text: string, err: Error & { linePos?: Array<{ line: number; col: number }> }): string[] {
  const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const at = err.linePos?.[0];
  if (!at) return [`${path}: not valid YAML: ${reason}`];
  const source = (text.split(/\r?\n/)[at.line - 1] ?? '').replace(/\t/g, ' ');
  const gutter = `${at.line} | `;
  // One fault (it names the place on its first line); the excerpt follows on lines of its own.
  return [`${path}:${at.line}:${at.col}: not valid YAML: ${reason}\n  ${gutter}${source}\n  ${' '.repeat(gutter.length + at.col - 1)}^`];
}

export interface LoadOptions {
  /** Path of the YAML file; a missing file is a fault only when `required`. */
  path: string;
  required: boolean;
  env: NodeJS.ProcessEnv;
}

/** Reads the YAML file and the environment over the defaults and validates the result, or throws ConfigError. */
export function loadConfig({ path, required, env }: LoadOptions): Config {
  const faults: string[] = [];
  let fromFile: unknown = {};
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (required || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError([`${path}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
  }
  let located: ((key: string) => string | undefined) | undefined;
  if (text !== undefined) {
    const lineCounter = new LineCounter();
    const document = parseDocument(text, { lineCounter });
    const error = document.errors[0];
    if (error !== undefined) throw new ConfigError(yamlFaults(path, text, error));
    try {
      fromFile = document.toJS() ?? {};
    } catch (err) {
      // What parses may still not resolve (an alias to no anchor, `*!`): a YAML fault, not a crash.
      throw new ConfigError(yamlFaults(path, text, err as Error));
    }
    if (!isTree(fromFile)) throw new ConfigError([`${path}: expected a map of settings at the top level`]);
    located = (key) => lineOfKey(document, lineCounter, key, path, env);
  }
  const webhookKeys: WebhookOverride[] = [];
  const fromEnv = envOverrides(env, faults, webhookKeys);
  const tree = merge(merge(DEFAULTS, fromFile), fromEnv);
  applyWebhookKeys(tree, webhookKeys, faults);
  try {
    return validate(tree, faults);
  } catch (err) {
    if (err instanceof ConfigError && located !== undefined) err.lines = err.faults.map((fault) => located(fault.slice(0, fault.indexOf(': '))));
    throw err;
  }
}

/**
 * `file:line` of the deepest part of `key` (`routes.2.path`) the file writes, or undefined when
 * the file writes none of it (the value came from the defaults or the environment).
 */
function lineOfKey(document: Document, lineCounter: LineCounter, key: string, path: string, env: NodeJS.ProcessEnv): string | undefined {
  if (key === '' || key.startsWith('TOLLGATE_')) return undefined;
  // A segment holding a dot is written quoted (`"a.b"`), so the path is split on dots outside quotes.
  const segments = key.match(/"(?:[^"\\]|\\.)*"|[^.]+/g);
  if (segments === null) return undefined;
  const parts: Array<string | number> = segments.map((part) =>
    /^\d+$/.test(part) ? Number(part) : part.startsWith('"') ? (JSON.parse(part) as string) : part,
  );
  // Set by the environment: the file's line would point at a value that is not the one refused.
  const variable = envName(parts.map(String));
  if (Object.keys(env).some((name) => name === variable || name.startsWith(`${variable}_`))) return undefined;
  for (let depth = parts.length; depth > 0; depth--) {
    const node = document.getIn(parts.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range !== undefined) return `${path}:${lineCounter.linePos(node.range[0]).line}`;
  }
  return undefined;
}

/** Lays TOLLGATE_EVENTS_WEBHOOKS_<n>_<KEY> on webhook n of the list the file (or the environment) gave. */
function applyWebhookKeys(tree: unknown, overrides: readonly WebhookOverride[], faults: string[]): void {
  if (overrides.length === 0) return;
  const events = isTree(tree) ? tree.events : undefined;
  const list = isTree(events) ? events.webhooks : undefined;
  for (const { name, index, key, raw } of overrides) {
    const webhook = Array.isArray(list) ? (list[index] as unknown) : undefined;
    if (!Array.isArray(list) || !isTree(webhook)) {
      faults.push(
        `${name}: events.webhooks has no entry ${index} (it lists ${Array.isArray(list) ? list.length : 0}); the file or TOLLGATE_EVENTS_WEBHOOKS must list the webhook`,
      );
      continue;
    }
    let value: unknown = raw;
    if (key === 'events') {
      try {
        value = parseYaml(raw);
      } catch {
        faults.push(`events.webhooks.${index}.events: ${name} is not valid YAML`);
        continue;
      }
    }
    list[index] = Object.assign(Object.create(null) as Tree, webhook, { [key]: value });
  }
}

/** `cache.ttl`, `routes.0.path`; odd keys (empty, spaces, dots) are quoted so the line stays readable. */
function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key) => (typeof key === 'string' && !/^[A-Za-z0-9_-]+$/.test(key) ? JSON.stringify(key) : String(key))).join('.');
}

/** Validates an already merged configuration tree. */
export function validate(tree: unknown, faults: string[] = []): Config {
  const result = configSchema.safeParse(tree, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = keyPath(issue.path) || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        for (const unknownKey of issue.keys) {
          faults.push(`${keyPath([...issue.path, unknownKey])}: unknown key`);
        }
      } else if (issue.code === 'invalid_type' && issue.expected === 'object') {
        faults.push(`${key}: expected a map, got ${Array.isArray(issue.input) ? 'a list' : JSON.stringify(issue.input)}`);
      } else if (issue.code === 'invalid_type' && issue.expected === 'array') {
        faults.push(`${key}: expected a list, got ${JSON.stringify(issue.input)}`);
      } else {
        faults.push(`${key}: ${issue.message}`);
      }
    }
  }
  if (result.success) crossChecks(result.data, faults);
  if (faults.length > 0) throw new ConfigError(faults);
  return result.data!;
}

/** Faults that join two keys. */
function crossChecks(config: Config, faults: string[]): void {
  const mtls = config.identity.mtls;
  // Client certificates are asked for in the proxy port's TLS handshake: no TLS, nothing to ask in.
  if (mtls.clientCa !== '' && config.proxy.tls.cert === '')
    faults.push("identity.mtls.clientCa: expected proxy.tls.cert and proxy.tls.key to be set too (client certificates ride on the proxy port's TLS)");
  if (mtls.required && mtls.clientCa === '')
    faults.push('identity.mtls.required: expected identity.mtls.clientCa to be set when client certificates are required');
}
