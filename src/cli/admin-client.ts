import { request } from 'undici';
import { UsageError } from './args.js';
import { CliFailure } from './failure.js';
import { visible } from './terminal-text.js';

/** A thin client for the admin API, as the CLI uses it. */
export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    /** None for the one route that needs no token (the leak report): no Authorization header then. */
    private readonly secret: string | undefined,
  ) {}

  /**
   * From --admin-url / TOLLGATE_ADMIN_URL and TOLLGATE_TOKEN (never a flag: it would show in `ps`).
   * `tokenOptional` for a command whose route needs no token: an unset TOLLGATE_TOKEN is then no error.
   */
  static fromEnvironment(adminUrl: string | undefined, env: NodeJS.ProcessEnv, tokenOptional = false): AdminClient {
    const secret = env.TOLLGATE_TOKEN || undefined;
    if (!secret && !tokenOptional) {
      throw new UsageError(
        'TOLLGATE_TOKEN is not set: set it to a token with the rights this command needs, e.g. export TOLLGATE_TOKEN=tgr_… ' +
          '(npm start prints a demo admin token; tollgate init-admin makes the first admin token of an install)',
        '',
      );
    }
    const base = adminUrl ?? env.TOLLGATE_ADMIN_URL ?? 'http://127.0.0.1:9090';
    try {
      new URL(base);
    } catch {
      throw new UsageError(`--admin-url: expected a URL such as http://127.0.0.1:9090, got ${JSON.stringify(base)}`);
    }
    return new AdminClient(base.replace(/\/+$/, ''), secret);
  }

  async call<T = unknown>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(this.secret === undefined ? {} : { authorization: `Bearer ${this.secret}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliFailure(visible(`cannot reach the admin API at ${this.baseUrl} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`));
    }
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      // Not the admin API (a proxy's error page, a wrong URL): say so, with a short, escaped excerpt.
      const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      throw new CliFailure(visible(`${res.statusCode} from ${this.baseUrl}, not JSON: ${excerpt}`));
    }
    if (res.statusCode >= 400) {
      const problem = parsed as { title?: unknown; detail?: unknown } | undefined;
      throw new CliFailure(visible(`${res.statusCode} ${String(problem?.title ?? 'error')}: ${String(problem?.detail ?? text)}`));
    }
    return parsed as T;
  }
}
