import { call } from './admin-client.js';
import type { Harness } from './harness.js';

/** Users made as the harness's admin, and personal tokens with names unique per user (`p1`, `p2`, ...). */
export function directoryCalls(h: Harness) {
  let named = 0;
  return {
    async user(name: string, grants: Record<string, string[]>): Promise<void> {
      const res = await call(h, 'POST', '/v1/users', h.adminSecret, { name, grants });
      if (res.status !== 201) throw new Error(`user ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    personal(secret: string, body: Record<string, unknown>) {
      return call(h, 'POST', '/v1/tokens', secret, { kind: 'personal', name: `p${++named}`, ...body });
    },
  };
}
