// node bench/usage-recorder.mjs (after npm run build): the CPU the usage history adds to one
// request on the hot path, counting it allowed and its bytes at its end (docs/usage.md), for 1000
// tokens taking turns. The recorder alone, without the proxy around it: the proxy's own cost per
// cached GET is in RESULTS.md, so this says what share of it the history takes.

import { MemoryStore } from '../dist/store/memory-store.js';
import { UsageRecorder } from '../dist/usage/usage-recorder.js';

const clock = { now: () => Date.now() };
const recorder = new UsageRecorder(new MemoryStore(), clock, 60_000);
const tokens = Array.from({ length: 1000 }, (_, i) => ({ record: { id: `t${i}`, repository: 'bench' } }));
const n = Number(process.env.BENCH_REQUESTS ?? 10_000_000);
const run = () => {
  for (let i = 0; i < n; i++) {
    const token = tokens[i % 1000];
    recorder.allowed(token, clock.now());
    recorder.ended(token, 100, 200);
  }
};
run(); // JIT warm-up, not counted
const before = process.cpuUsage();
run();
const used = process.cpuUsage(before);
console.log(`usage history: ${(((used.user + used.system) * 1000) / n).toFixed(1)} ns CPU per request (allowed + ended, 1000 tokens, ${n} requests)`);
await recorder.stop();
