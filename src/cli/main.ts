// The commands, loaded by src/main.ts once it has checked the Node.js version.
import { runTollgate } from './run.js';

runTollgate(process.argv.slice(2), process).then((status) => {
  process.exit(status);
});
