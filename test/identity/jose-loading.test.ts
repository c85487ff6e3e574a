import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

// jose is imported only when identity.jwt names an issuer: a replica serving Tollgate's own tokens
// (the slim proxy role, whose footprint is measured) never loads it. Checked in a child process
// running the build, with a resolve hook that notes every import of jose.
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const script = (jwt: unknown[]) => `
import { registerHooks } from 'node:module';
let isLoaded = false;
registerHooks({ resolve(specifier, context, next) { if (specifier === 'jose') isLoaded = true; return next(specifier, context); } });
const { startTollgate } = await import(${JSON.stringify(`${DIST}app.js`)});
const { merge, validate } = await import(${JSON.stringify(`${DIST}config/load.js`)});
const { DEFAULTS } = await import(${JSON.stringify(`${DIST}config/defaults.js`)});
const { MemoryStore } = await import(${JSON.stringify(`${DIST}store/memory-store.js`)});
const { createLogger } = await import(${JSON.stringify(`${DIST}log/logger.js`)});
const config = validate(merge(DEFAULTS, { proxy: { listen: '127.0.0.1:0' }, admin: { listen: '127.0.0.1:0' }, store: { backend: 'memory' }, identity: { jwt: ${JSON.stringify(jwt)} } }));
const tollgate = await startTollgate(config, new MemoryStore(), createLogger('silent'), { now: () => Date.now() });
process.stdout.write(JSON.stringify({ isLoaded }));
await tollgate.shutdown(0);
process.exit(0);
`;

function run(t: Test, jwt: unknown[]): Promise<{ isLoaded: boolean }> {
  const path = join(t.testdir({}), 'start.mjs');
  writeFileSync(path, script(jwt));
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // tap's loaders would import much else
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [path], { env, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as { isLoaded: boolean }),
    ),
  );
}

t.test('with no issuer configured, jose is never imported', async (t) => {
  t.same(await run(t, []), { isLoaded: false });
});

t.test('with an issuer configured, it is imported at start', async (t) => {
  t.same(await run(t, [{ issuer: 'http://127.0.0.1:9', audiences: ['tollgate'] }]), { isLoaded: true });
});
