import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

export const DEFAULT_CONFIG_PATH = 'config/tollgate.yaml';

/** Loads the config named by --config, else TOLLGATE_CONFIG, else the default path (optional). */
export function configFromArgs(option: string | undefined, env: NodeJS.ProcessEnv): Config {
  const named = option ?? env.TOLLGATE_CONFIG;
  return loadConfig({ path: named ?? DEFAULT_CONFIG_PATH, required: named !== undefined, env });
}
