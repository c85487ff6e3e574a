import type { Test } from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';

/** The fault lines `fn` is refused with; throws when it is not refused with a ConfigError. */
export const faultsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.faults;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

/** Loads `yaml` as the config file (in a test directory) with `env` over it. */
export const fromYaml = (t: Test, yaml: string, env: NodeJS.ProcessEnv = {}) => {
  const dir = t.testdir({ 'tollgate.yaml': yaml });
  return loadConfig({ path: `${dir}/tollgate.yaml`, required: true, env });
};
