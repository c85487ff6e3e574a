import { createInterface } from 'node:readline';
import { UsageError } from './args.js';
import { CliFailure } from './failure.js';

/** The streams a question is asked on; injected so a test can play the terminal. */
export interface Prompter {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** Said when a command that asks first cannot ask. */
export const NEEDS_YES = 'this command asks first, and stdin is not a terminal: give --yes to go ahead (nothing changed)';

/**
 * Asks before a change (revoke, delete); `question` is worded only when it is asked (it may
 * need a request to name the thing). `--yes` skips the question; without it, a stdin
 * that is no terminal (a script, a pipe) is bad usage (exit 2) rather than a silent yes or a
 * hang. The question goes to stderr so `-o json` output stays clean; only `y` or `yes` goes on.
 */
export async function confirm(question: () => Promise<string>, yes: boolean, prompter: Prompter): Promise<void> {
  if (yes) return;
  // Before any request: a script that forgot --yes learns so at once, with exit status 2.
  if (prompter.stdin.isTTY !== true) throw new UsageError(NEEDS_YES);
  const text = await question();
  const rl = createInterface({ input: prompter.stdin, output: prompter.stderr, terminal: false });
  try {
    prompter.stderr.write(`${text} [y/N] `);
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliFailure('not confirmed: nothing changed');
  } finally {
    rl.close();
  }
}
