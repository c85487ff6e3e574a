import { readFileSync } from 'node:fs';

/** What this build is: the `build_info` metric's labels and the traces' `service.version`. */
export interface BuildInfo {
  version: string;
  node: string;
}

/**
 * This build's version (package.json, which sits one level above both src/ and dist/) and the
 * Node.js running it; `unknown` when package.json cannot be read, since a missing label must not
 * stop the process.
 */
export function readBuildInfo(packageJson: URL = new URL('../../package.json', import.meta.url)): BuildInfo {
  let version = 'unknown';
  try {
    const parsed = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
    if (typeof parsed.version === 'string') version = parsed.version;
  } catch {
    // left as unknown
  }
  return { version, node: process.version };
}
