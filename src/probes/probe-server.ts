import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { authenticate } from '../auth/authenticate.js';
import { DENIALS } from '../auth/decision.js';
import { type TokenCache, UNOBSERVED } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import { sendProblem } from '../http/problem.js';
import { PROBLEMS } from '../http/problems.js';
import { requestDeadlines } from '../http/request-deadlines.js';
import { requestIdFor } from '../http/request-id.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { StoreHealth } from '../store/token-store.js';
import { LIVE, mayScrapeMetrics, type ProbeReply, readiness } from './probes.js';

export interface ProbeServerOptions {
  store: Pick<StoreHealth, 'ping' | 'backend'>;
  cache: TokenCache;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  /** `admin.metricsAuth`: /metrics asks for a token holding the admin right. */
  metricsAuth: boolean;
  /** True once shutdown began: /readyz answers 503 from then on. */
  isDraining: () => boolean;
  /** `admin.timeouts`: the same slowloris bounds as the admin API's port. */
  timeouts: { headersMs: number; requestMs: number };
}

/** What a proxy replica answers on admin.listen; the manifests' probes use these. */
export const PROBE_PATHS = ['/healthz', '/readyz', '/metrics'] as const;
type ProbePath = (typeof PROBE_PATHS)[number];

const NOT_HERE = {
  ...PROBLEMS.not_found,
  detail: 'a proxy replica serves /healthz, /readyz and /metrics on this port; the admin API and page are served by the control role',
};

/**
 * `admin.listen` of a proxy replica (docs/kubernetes.md, "Roles"): the three probes and nothing
 * else. Every other path is a 404 problem, so no admin route can be reached through a sidecar,
 * and none of the admin API's code is loaded to answer it.
 */
export function createProbeServer(options: ProbeServerOptions): Server {
  return createServer(requestDeadlines(options.timeouts), (req, res) => {
    const started = performance.now();
    const requestId = requestIdFor(req.headers['x-request-id']);
    const path = pathOf(req.url);
    const probe = (PROBE_PATHS as readonly string[]).includes(path) ? (path as ProbePath) : undefined;
    res.once('close', () =>
      options.metrics.adminRequest(probe === undefined ? 'unmatched' : `GET ${probe}`, res.statusCode, (performance.now() - started) / 1000),
    );
    // A refused request's body is never read: the connection closes after the answer instead
    // of reading on to the next request.
    const close = hasBody(req) ? { connection: 'close' } : undefined;
    if (probe === undefined) return sendProblem(res, NOT_HERE, requestId, close);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendProblem(res, { ...PROBLEMS.method_not_allowed, detail: `${req.method} is not served here; allowed: GET, HEAD` }, requestId, {
        allow: 'GET, HEAD',
        ...close,
      });
    }
    answer(probe, req, res, requestId, options).catch((err: unknown) => {
      options.logger.error({ err, requestId }, 'probe failed');
      sendProblem(res, { ...PROBLEMS.internal, detail: 'see the server log' }, requestId);
    });
  });
}

const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** The path of a request target, without its query; `?` alone or a bad target is no probe. */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

async function answer(probe: ProbePath, req: IncomingMessage, res: ServerResponse, requestId: string, options: ProbeServerOptions): Promise<void> {
  res.setHeader('x-request-id', requestId);
  if (probe === '/healthz') return sendJson(res, LIVE);
  if (probe === '/readyz') return sendJson(res, await readiness(options.store, options.isDraining()));
  if (options.metricsAuth) {
    const found = await authenticate(req.rawHeaders, options.cache, options.clock.now(), UNOBSERVED);
    if (typeof found === 'string') {
      const denial = DENIALS[found];
      return sendProblem(
        res,
        { status: denial.status, type: denial.type, title: denial.title, detail: denial.detail },
        requestId,
        found === 'store_unavailable' ? { 'retry-after': '1' } : undefined,
      );
    }
    if (!mayScrapeMetrics(found)) return sendProblem(res, { ...PROBLEMS.insufficient_scope, detail: 'metrics need a token with the admin right' }, requestId);
  }
  const registry = options.metrics.registry;
  const text = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJson(res: ServerResponse, reply: ProbeReply): void {
  const body = JSON.stringify(reply.json);
  res.writeHead(reply.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
