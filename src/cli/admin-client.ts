import { request } from 'undici';
import { UsageError } from './args.js';
import { CliFailure } from './failure.js';

/** A thin client for the admin API, as the CLI uses it. */
export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
  ) {}

  /** From --admin-url / TOLLGATE_ADMIN_URL and TOLLGATE_TOKEN (never a flag: it would show in `ps`). */
  static fromEnvironment(adminUrl: string | undefined, env: NodeJS.ProcessEnv): AdminClient {
    const secret = env.TOLLGATE_TOKEN;
    if (!secret) throw new UsageError('set TOLLGATE_TOKEN to a token with the rights this command needs');
    const base = adminUrl ?? env.TOLLGATE_ADMIN_URL ?? 'http://127.0.0.1:9090';
    try {
      new URL(base);
    } catch {
      throw new UsageError(`--admin-url: expected a URL such as http://127.0.0.1:9090, got ${JSON.stringify(base)}`);
    }
    return new AdminClient(base.replace(/\/+$/, ''), secret);
  }

  async call<T = unknown>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res;
    try {
      res = await request(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliFailure(`cannot reach the admin API at ${this.baseUrl} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const text = await res.body.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (res.statusCode >= 400) {
      const problem = parsed as { title?: string; detail?: string } | undefined;
      throw new CliFailure(`${res.statusCode} ${problem?.title ?? 'error'}: ${problem?.detail ?? text}`);
    }
    return parsed as T;
  }
}
