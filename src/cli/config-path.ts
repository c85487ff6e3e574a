import { type LoadOptions, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

export const DEFAULT_CONFIG_PATH = 'config/tollgate.yaml';

/** Where the config comes from: --config, else TOLLGATE_CONFIG, else the default path (optional). */
export function configSource(option: string | undefined, env: NodeJS.ProcessEnv): LoadOptions {
  const named = option ?? env.TOLLGATE_CONFIG;
  return { path: named ?? DEFAULT_CONFIG_PATH, required: named !== undefined, env };
}

/** Loads the config named by --config, else TOLLGATE_CONFIG, else the default path (optional). */
export function configFromArgs(option: string | undefined, env: NodeJS.ProcessEnv): Config {
  return loadConfig(configSource(option, env));
}
