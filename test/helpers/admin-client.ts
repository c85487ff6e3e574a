import { request } from 'undici';
import type { Harness } from './harness.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON body the tests read by path; unknown would need a cast at every read
  body: any;
}

/** Calls the admin API of a harness with a bearer secret and a JSON body. */
export async function call(h: Harness, method: string, path: string, secret: string | undefined, body?: unknown, raw?: string): Promise<Reply> {
  const hasBody = body !== undefined || raw !== undefined;
  const res = await request(`${h.admin}${path}`, {
    method: method as 'GET',
    headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.body.text();
  const isJson = /json/.test(String(res.headers['content-type'] ?? ''));
  return { status: res.statusCode, headers: res.headers, body: text && isJson ? JSON.parse(text) : text || undefined };
}
