// The deploy/ manifests, rendered with `kubectl kustomize`: skipped, with the reason, on a machine
// without kubectl (the checks live in manifests.checks.ts, loaded only when they can run).
import t from 'tap';
import { kustomizeMissing } from '../helpers/kustomize.js';

const missing = kustomizeMissing();
if (missing) t.plan(0, missing);
else await import('./manifests.checks.js');
