import type { Logger } from '../log/logger.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError, formatFaults } from './load.js';
import type { Config } from './schema.js';

/** What a configuration reload came to (`config_reloads_total{outcome}`, docs/configuration.md). */
export const RELOAD_OUTCOMES = ['applied', 'unchanged', 'invalid'] as const;
export type ReloadOutcome = (typeof RELOAD_OUTCOMES)[number];

/**
 * One running part that takes a new configuration in place (docs/configuration.md, "Reloading").
 * `keys` are the keys it owns, as dotted prefixes (`routes`, `proxy.timeouts`); `apply` gets the
 * whole new configuration once one of them changed, and swaps what it holds without closing a
 * connection. A key no part owns needs a restart.
 */
export interface ConfigPart {
  readonly keys: readonly string[];
  apply(next: Config, previous: Config): void;
}

/** Where reload outcomes and the generation in force are counted (the metrics, or nothing in tests). */
export interface ReloadObserver {
  configReloaded(outcome: ReloadOutcome, generation: number): void;
}

/** What one reload did: the keys applied, the keys left as they run until a restart. */
export interface ReloadResult {
  outcome: ReloadOutcome;
  generation: number;
  applied: string[];
  restartNeeded: string[];
}

type Tree = Record<string, unknown>;
const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The keys (dotted) whose values differ between two configurations, as the file writes them: a
 * list (`routes`, `events.webhooks`) is one key, and so is a value the schema turns into a map
 * (`proxy.listen`); `shape` (the defaults) says where the file has maps of keys.
 */
export function changedKeys(previous: unknown, next: unknown, shape: unknown = DEFAULTS, prefix = ''): string[] {
  if (isTree(previous) && isTree(next) && isTree(shape)) {
    const out: string[] = [];
    for (const key of new Set([...Object.keys(previous), ...Object.keys(next)])) {
      out.push(...changedKeys(previous[key], next[key], shape[key], prefix === '' ? key : `${prefix}.${key}`));
    }
    return out;
  }
  return JSON.stringify(previous) === JSON.stringify(next) ? [] : [prefix];
}

const owns = (prefix: string, key: string) => key === prefix || key.startsWith(`${prefix}.`);

function valueAt(tree: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (isTree(node) ? node[part] : undefined), tree);
}

function withValueAt(tree: unknown, key: string, value: unknown): unknown {
  const [head, ...rest] = key.split('.');
  if (!isTree(tree) || head === undefined) return value;
  return { ...tree, [head]: rest.length === 0 ? value : withValueAt(tree[head], rest.join('.'), value) };
}

export interface ConfigReloaderOptions {
  /** The configuration the process started with (generation 1). */
  config: Config;
  parts: readonly ConfigPart[];
  logger: Logger;
  observer?: ReloadObserver;
}

/**
 * Takes a new configuration into a running process: the keys some part owns are applied by
 * that part, every other changed key keeps its running value and is named in a warning, and a
 * configuration that does not load changes nothing. One log line per reload names the changed
 * keys, never their values.
 */
export class ConfigReloader {
  private running: Config;
  private generationNow = 1;

  constructor(private readonly options: ConfigReloaderOptions) {
    this.running = options.config;
  }

  /** The configuration in force: what was applied, with restart-only keys as the process started. */
  get config(): Config {
    return this.running;
  }

  get generation(): number {
    return this.generationNow;
  }

  /**
   * Loads and applies: `load` is the start-up loader (file, environment, schema); when it throws
   * a ConfigError nothing changes and the faults are logged at error, each with its line.
   */
  reload(load: () => Config, trigger: string): ReloadResult {
    let next: Config;
    try {
      next = load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.options.logger.error(
        { trigger, faults: formatFaults(err).map((line) => line.trim()) },
        'configuration not reloaded: the new file is invalid; the running configuration stays',
      );
      return this.counted({ outcome: 'invalid', generation: this.generationNow, applied: [], restartNeeded: [] });
    }
    return this.apply(next, trigger);
  }

  /** True when a change of `key` is applied while running; false when it waits for a restart. */
  isReloadable(key: string): boolean {
    return this.options.parts.some((part) => part.keys.some((prefix) => owns(prefix, key)));
  }

  /** Applies an already validated configuration (what `reload` does once the file loaded). */
  apply(next: Config, trigger = 'apply'): ReloadResult {
    const { logger, parts } = this.options;
    const previous = this.running;
    const changed = changedKeys(previous, next);
    const applied: string[] = [];
    const restartNeeded: string[] = [];
    let effective: unknown = next;
    for (const key of changed) {
      if (this.isReloadable(key)) applied.push(key);
      else {
        restartNeeded.push(key);
        effective = withValueAt(effective, key, valueAt(previous, key));
      }
    }
    if (restartNeeded.length > 0) {
      logger.warn({ trigger, keys: restartNeeded }, 'configuration keys changed that take effect only after a restart; their running values are kept');
    }
    if (applied.length === 0) {
      logger.info({ trigger, generation: this.generationNow }, 'configuration reloaded: nothing to apply');
      return this.counted({ outcome: 'unchanged', generation: this.generationNow, applied, restartNeeded });
    }
    const config = effective as Config;
    for (const part of parts) {
      if (!part.keys.some((prefix) => applied.some((key) => owns(prefix, key)))) continue;
      try {
        part.apply(config, previous);
      } catch (err) {
        // A part that cannot take the new values keeps its own; the others still take theirs.
        logger.error({ err, trigger, keys: part.keys }, 'configuration part not reloaded; it keeps its running values');
      }
    }
    this.running = config;
    this.generationNow++;
    // Key names only: a webhook secret or an exporter header is named, never shown.
    logger.info({ trigger, generation: this.generationNow, changed: applied }, 'configuration reloaded');
    return this.counted({ outcome: 'applied', generation: this.generationNow, applied, restartNeeded });
  }

  private counted(result: ReloadResult): ReloadResult {
    this.options.observer?.configReloaded(result.outcome, result.generation);
    return result;
  }
}
