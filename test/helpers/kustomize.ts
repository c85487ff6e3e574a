/**
 * Renders kustomizations with `kubectl kustomize`, the renderer users run, so the deploy tests see
 * exactly the objects a cluster would be sent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

// biome-ignore lint/suspicious/noExplicitAny: a manifest is read by path, as the kubernetes-models constructors take it
type Field = any;
export type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: Field;
};

/** Why `kubectl kustomize` cannot run here, or undefined when it can. */
export function kustomizeMissing(): string | undefined {
  const probe = spawnSync('kubectl', ['kustomize', '--help'], { stdio: 'ignore' });
  if (probe.error) return `kubectl is not on this machine (${(probe.error as NodeJS.ErrnoException).code}): the deploy tests render with kubectl kustomize`;
  if (probe.status !== 0) return `kubectl kustomize exited ${probe.status}: this kubectl has no built-in kustomize`;
  return undefined;
}

/**
 * The objects `kubectl kustomize dir` renders. Paths inside a kustomization must be relative to it:
 * kustomize refuses absolute ones.
 */
export function kustomize(dir: string): Doc[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((doc) => doc.toJS() as Doc);
}
