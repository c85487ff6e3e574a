import { readFileSync } from 'node:fs';

/** The fenced code blocks of README.md in `language`, in order: tests run what the README prints. */
export function readmeBlocks(language: string): string[] {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  return [...text.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]!);
}
