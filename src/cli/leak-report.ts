import { readFile } from 'node:fs/promises';
import { LEAK_BODY_BYTES } from '../admin/body.js';
import type { AdminClient } from './admin-client.js';
import { UsageError } from './args.js';
import type { Prompter } from './confirm.js';
import { CliFailure } from './failure.js';

/** The most secrets one POST /v1/tokens/leaked takes (docs/admin-api.md). */
export const LEAK_CHUNK = 1000;

/** One secret a line; surrounding blanks and empty lines dropped. */
export function secretsFrom(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The secrets from `--file F` (`-` is stdin), else from stdin; stdin that is a terminal is a usage error. */
export async function readSecrets(file: string | undefined, stdin: Prompter['stdin']): Promise<string[]> {
  if (file !== undefined && file !== '-') {
    try {
      return secretsFrom(await readFile(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`--file: cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (stdin.isTTY) throw new UsageError('give --file F, or pipe the secrets on stdin, one per line');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return secretsFrom(Buffer.concat(chunks).toString('utf8'));
}

export interface LeakTotals {
  received: number;
  revoked: number;
}

/**
 * The secrets in order, in batches of at most LEAK_CHUNK whose JSON body fits in the endpoint's
 * LEAK_BODY_BYTES (it answers 413 beyond), each secret counted as it is sent: escaped, in UTF-8.
 */
export function leakBatches(secrets: readonly string[]): string[][] {
  const envelope = Buffer.byteLength('{"secrets":[]}');
  const batches: string[][] = [];
  let batch: string[] = [];
  let size = envelope;
  for (const secret of secrets) {
    const bytes = Buffer.byteLength(JSON.stringify(secret));
    // A comma before every secret but a batch's first.
    if (batch.length > 0 && (batch.length === LEAK_CHUNK || size + 1 + bytes > LEAK_BODY_BYTES)) {
      batches.push(batch);
      batch = [];
      size = envelope;
    }
    size += bytes + (batch.length > 0 ? 1 : 0);
    batch.push(secret);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Reports the secrets in the batches of `leakBatches`. When a call fails part-way, the totals of
 * the calls that went through are in the error's `done`, so the caller can say what was reported.
 */
export async function reportLeaked(client: AdminClient, secrets: readonly string[]): Promise<LeakTotals> {
  const totals: LeakTotals = { received: 0, revoked: 0 };
  for (const batch of leakBatches(secrets)) {
    try {
      const result = await client.call<LeakTotals>('POST', '/v1/tokens/leaked', { secrets: batch });
      totals.received += result.received;
      totals.revoked += result.revoked;
    } catch (err) {
      if (err instanceof CliFailure) throw new PartialLeakReport(err.message, totals);
      throw err;
    }
  }
  return totals;
}

/** A leak report that failed after `done` was reported. */
export class PartialLeakReport extends CliFailure {
  constructor(
    message: string,
    readonly done: LeakTotals,
  ) {
    super(message);
  }
}
