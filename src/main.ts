#!/usr/bin/env node
// The `tollgate` command. The Node.js version is checked before anything else loads: on an older
// Node, a dependency would otherwise stop the process with a stack trace instead of a sentence.
import { nodeVersionProblem } from './cli/node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`tollgate: ${problem}\n`);
  process.exit(1);
}
await import('./cli/main.js');
