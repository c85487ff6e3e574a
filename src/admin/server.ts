import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import { authenticate } from '../auth/authenticate.js';
import { DENIALS } from '../auth/decision.js';
import type { TokenCache } from '../auth/token-cache.js';
import { sendProblem } from '../http/problem.js';
import { requestIdFor } from '../http/request-id.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { StoreUnavailableError, type TokenStore } from '../store/token-store.js';
import { callerOf, type Caller } from './caller.js';
import { AdminError, notFound } from './errors.js';
import type { TokenService } from './token-service.js';
import type { DirectoryService } from './user-service.js';
import { openApiDocument } from './openapi.js';
import { routes, type AdminRoute } from './routes.js';

export interface AdminOptions {
  store: TokenStore;
  cache: TokenCache;
  tokens: TokenService;
  directory: DirectoryService;
  /** Filled in by createAdminServer from the route table. */
  openapi?: Record<string, unknown>;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  metricsAuth: boolean;
  /** True once shutdown began: /readyz answers 503 from then on. */
  isDraining: () => boolean;
}

/** What a route handler gets: the parsed request, the caller (when the route needs one), and the parts. */
export interface AdminContext {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  caller: Caller;
  options: AdminOptions;
}

/** A handler's answer: a status and a JSON body, or a raw body with its content type. */
export type AdminReply =
  | { status: number; json: unknown }
  | { status: number; text: string; contentType: string; headers?: Record<string, string> };

/** The admin port (SPEC §5): token lifecycle API, probes and metrics. */
export function createAdminServer(options: AdminOptions): Server {
  const table = routes();
  options.openapi = openApiDocument(table);
  return createServer((req, res) => {
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    handle(req, res, table, options).catch((err: unknown) => {
      if (err instanceof AdminError) return sendProblem(res, err.toProblem(), requestId);
      if (err instanceof StoreUnavailableError) {
        options.metrics.storeError(err.op);
        const denial = DENIALS.store_unavailable;
        return sendProblem(res, { status: 503, type: denial.type, title: denial.title, detail: denial.detail }, requestId, {
          'retry-after': '1',
        });
      }
      options.logger.error({ err, requestId }, 'admin request failed');
      sendProblem(res, { status: 500, type: '/problems/internal', title: 'Internal error', detail: 'see the server log' }, requestId);
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, table: AdminRoute[], options: AdminOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  let params: Record<string, string> | undefined;
  let route: AdminRoute | undefined;
  let isPathKnown = false;
  for (const candidate of table) {
    const match = candidate.pattern.exec(url.pathname);
    if (!match) continue;
    isPathKnown = true;
    if (candidate.method !== req.method) continue;
    route = candidate;
    params = match.groups ?? {};
    break;
  }
  if (!route) {
    if (isPathKnown) throw new AdminError(405, '/problems/method-not-allowed', 'Method not allowed', `${req.method} is not served here`);
    throw notFound(`route ${url.pathname}`);
  }
  let caller = undefined as unknown as Caller;
  if (route.auth === 'token') caller = await requireCaller(req, options);
  if (route.auth === 'metrics' && options.metricsAuth) {
    caller = await requireCaller(req, options);
    if (caller.adminScope === null) throw new AdminError(403, '/problems/insufficient-scope', 'Insufficient scope', 'metrics need a token with the admin right');
  }
  const reply = await route.handler({ req, params: params!, query: url.searchParams, caller, options });
  if ('json' in reply) {
    if (reply.json === undefined) {
      res.writeHead(reply.status, { 'cache-control': 'no-store' });
      res.end();
      return;
    }
    const body = JSON.stringify(reply.json);
    res.writeHead(reply.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(reply.status, { ...reply.headers, 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.text) });
    res.end(reply.text);
  }
}

async function requireCaller(req: IncomingMessage, options: AdminOptions): Promise<Caller> {
  const result = await authenticate(req.rawHeaders, options.cache, options.clock.now());
  if (typeof result === 'string') {
    const denial = DENIALS[result];
    if (result === 'store_unavailable') throw new StoreUnavailableError('authenticate');
    throw new AdminError(denial.status, denial.type, denial.title, denial.detail);
  }
  return callerOf(result);
}
