import { PassThrough } from 'node:stream';
import t from 'tap';
import { UsageError } from '../../src/cli/args.js';
import { confirm } from '../../src/cli/confirm.js';
import { CliFailure } from '../../src/cli/failure.js';

/** A terminal that answers `answer` (or closes unanswered). */
function terminal(answer: string | null, isTTY = true) {
  const stdin = Object.assign(new PassThrough(), { isTTY });
  let said = '';
  const stderr = {
    write: (c: string) => {
      said += c;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  if (answer === null) stdin.end();
  else stdin.end(`${answer}\n`);
  return { prompter: { stdin, stderr }, said: () => said };
}

const question = async () => 'Revoke token "ci-loader" (tgr_AbCd…)?';

t.test('on a terminal it asks on stderr and goes on only for y or yes', async (t) => {
  for (const yes of ['y', 'Y', 'yes', ' YES ']) {
    const term = terminal(yes);
    await confirm(question, false, term.prompter);
    t.equal(term.said(), 'Revoke token "ci-loader" (tgr_AbCd…)? [y/N] ', yes);
  }
  for (const no of ['', 'n', 'no', 'yess']) await t.rejects(confirm(question, false, terminal(no).prompter), CliFailure, JSON.stringify(no));
  await t.rejects(confirm(question, false, terminal(null).prompter), /not confirmed: nothing changed/, 'end of input is a no');
});

t.test('--yes skips the question; without it, no terminal is bad usage and nothing is asked', async (t) => {
  let asked = false;
  const ask = async () => {
    asked = true;
    return 'Delete?';
  };
  await confirm(ask, true, terminal(null, false).prompter);
  t.notOk(asked);
  const piped = terminal('y', false);
  await t.rejects(confirm(ask, false, piped.prompter), UsageError);
  t.notOk(asked, 'the question (which may need a request) is not even worded');
  t.equal(piped.said(), '');
});
