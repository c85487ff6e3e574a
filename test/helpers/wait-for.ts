/** Polls `check` until it returns true, failing after `timeoutMs`; for conditions with no event to await. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { what, timeoutMs = 5000, everyMs = 10 }: { what: string; timeoutMs?: number; everyMs?: number },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
