import { readFileSync } from 'node:fs';
import type { AdminReply } from '../context.js';
import { AdminError } from '../errors.js';
import type { RequestParts } from '../route-entry.js';

/** Files of the admin page, read once; the page is static and calls the admin API like the CLI. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
const directory = new URL('../ui/', import.meta.url);
const contents = new Map(Object.keys(FILES).map((name) => [name, readFileSync(new URL(name, directory), 'utf8')]));

/** Every /ui/ response: no inline script, no framing, no referrer, no sniffing. */
export const UI_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

export async function uiFile({ params }: RequestParts<{ file?: string }>): Promise<AdminReply> {
  const name = params.file ?? 'index.html';
  const text = contents.get(name);
  if (text === undefined) throw AdminError.of('not_found', `no page file ${name}`);
  return { status: 200, text, contentType: FILES[name]!, headers: UI_HEADERS };
}

export async function uiRedirect(): Promise<AdminReply> {
  return { status: 308, text: '', contentType: 'text/plain', headers: { ...UI_HEADERS, location: '/ui/' } };
}
