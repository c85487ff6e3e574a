import { request } from 'undici';
import { bearer, type Harness } from './harness.js';

/** The status of one GET through the harness's proxy port with `secret` as the bearer; the body is read and dropped. */
export async function proxyStatus(h: Harness, secret: string, path = '/v1/repositories/sensors/data', headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`${h.proxy}${path}`, { headers: { ...bearer(secret), ...headers } });
  await res.body.dump();
  return res.statusCode;
}
