import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { authenticate } from '../auth/authenticate.js';
import { DENIALS } from '../auth/decision.js';
import { UNOBSERVED } from '../auth/token-cache.js';
import { sendProblem } from '../http/problem.js';
import { PROBLEMS } from '../http/problems.js';
import { requestDeadlines } from '../http/request-deadlines.js';
import { requestIdFor } from '../http/request-id.js';
import { mayScrapeMetrics } from '../probes/probes.js';
import { StoreUnavailableError, StoreWriteUnconfirmed } from '../store/token-store.js';
import { bodyTooLarge, declaredLength, readJson } from './body.js';
import { type Caller, callerOf } from './caller.js';
import type { AdminOptions, AdminReply } from './context.js';
import { AdminError, notFound } from './errors.js';
import { openApiDocument } from './openapi.js';
import { routeRefusal } from './policy.js';
import type { AdminRoute, RequestParts } from './route-entry.js';
import { routes } from './routes.js';
import { parseBody } from './schemas.js';

/** A request matched to its route; else the methods its path allows (empty: no such path). */
type Match = { route: AdminRoute; params: Record<string, string> } | { allowed: string[] };

/** HEAD is answered wherever GET is (Node sends the headers and no body). */
function matchRoute(table: AdminRoute[], method: string | undefined, pathname: string): Match {
  const wanted = method === 'HEAD' ? 'GET' : method;
  const allowed: string[] = [];
  for (const candidate of table) {
    const found = candidate.pattern.exec(pathname);
    if (!found) continue;
    if (candidate.method === wanted) return { route: candidate, params: found.groups ?? {} };
    allowed.push(candidate.method);
  }
  if (allowed.includes('GET')) allowed.push('HEAD');
  return { allowed };
}

/** The admin port (docs/admin-api.md): token lifecycle API, probes and metrics. */
export function createAdminServer(options: AdminOptions): Server {
  const table = routes();
  // The caller's options are left as they were; the document is built once, for this server.
  // Every other field is read through to them, so a reload that sets one is seen by the next request.
  const served: AdminOptions = Object.assign(Object.create(options) as AdminOptions, { openapi: openApiDocument(table) });
  return createServer(requestDeadlines(options.timeouts), (req, res) => {
    const started = performance.now();
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    // The pattern, never the path: a label must not carry a token id or a user name (docs/operations.md).
    const seen = { route: 'unmatched' };
    // TRACING: the call's span is named for the same pattern when it ends.
    const span = served.tracing?.startAdmin(req.method ?? 'GET', req.rawHeaders);
    res.once('close', () => {
      served.metrics.adminRequest(seen.route, res.statusCode, (performance.now() - started) / 1000);
      span?.finish(seen.route, res.statusCode);
    });
    handle(req, res, table, seen, requestId, served).catch((err: unknown) => {
      if (err instanceof AdminError) return sendProblem(res, err.toProblem(), requestId, withClose(req, err.headers));
      if (err instanceof StoreUnavailableError) {
        served.metrics.storeError(err.op);
        const denial = DENIALS.store_unavailable;
        return sendProblem(
          res,
          // A write Redis made but no replica confirmed says so: the caller may retry it.
          { status: 503, type: denial.type, title: denial.title, detail: err instanceof StoreWriteUnconfirmed ? err.detail : denial.detail },
          requestId,
          withClose(req, { 'retry-after': '1' }),
        );
      }
      served.logger.error({ err, requestId }, 'admin request failed');
      sendProblem(res, { ...PROBLEMS.internal, detail: 'see the server log' }, requestId, withClose(req, undefined));
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  table: AdminRoute[],
  seen: { route: string },
  requestId: string,
  options: AdminOptions,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const match = matchRoute(table, req.method, url.pathname);
  if ('allowed' in match) {
    if (match.allowed.length === 0) throw notFound(`route ${url.pathname}`);
    const allow = match.allowed.join(', ');
    throw AdminError.of('method_not_allowed', `${req.method} is not served here; allowed: ${allow}`, {}, { allow });
  }
  const { route, params } = match;
  seen.route = `${route.method} ${route.path}`;
  // Before the token is looked up: an announced body over the cap costs nothing to refuse.
  if (declaredLength(req) > route.bodyLimit) throw bodyTooLarge(route.bodyLimit);
  const parts: RequestParts = { req, params, options };
  let caller: Caller | undefined;
  if (route.auth === 'token') {
    caller = await requireCaller(req, options);
    const refusal = routeRefusal(caller, route.access);
    if (refusal !== undefined) throw AdminError.of('insufficient_scope', refusal);
  }
  if (route.auth === 'metrics' && options.metricsAuth) {
    caller = await requireCaller(req, options);
    if (!mayScrapeMetrics(caller.identity)) throw AdminError.of('insufficient_scope', 'metrics need a token with the admin right');
  }
  route.admit?.(parts);
  // The entry's schemas judge the request before the handler runs; a fault names its field.
  const query = route.query === undefined ? undefined : parseBody(route.query, Object.fromEntries(url.searchParams));
  const body = route.body === undefined ? undefined : parseBody(route.body, await readBody(req, route));
  const answer = await route.handler({ ...parts, caller, query, body });
  // The route table owns the status; a handler names one only when it differs (readyz's 503).
  const reply = { ...answer, status: answer.status ?? route.doc.status } as AdminReply & { status: number };
  if (route.method !== 'GET' && reply.status < 400) audit(options, route, params, caller, requestId, reply);
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

/**
 * One audit line per admin change: who, what (method and route pattern), on which id or name,
 * under which request id. Only ids, names and counts are picked from the reply, so a secret
 * in it (create, roll) never reaches the log.
 */
function audit(
  options: AdminOptions,
  route: AdminRoute,
  params: Record<string, string>,
  caller: Caller | undefined,
  requestId: string,
  reply: AdminReply,
): void {
  const json = ('json' in reply ? reply.json : undefined) as { token?: { id?: unknown }; name?: unknown; deleted?: unknown; revoked?: unknown } | undefined;
  const made = json?.token?.id ?? (params.name === undefined ? json?.name : undefined);
  const entry: Record<string, unknown> = {
    audit: true,
    // Only the leak report runs without a caller; its history actor is `leak-report` too.
    actor: caller?.actor ?? 'leak-report',
    action: `${route.method} ${route.path}`,
    target: params.id ?? params.name ?? (typeof made === 'string' ? made : null),
    requestId,
  };
  if (params.id !== undefined && typeof made === 'string') entry.created = made; // roll: the new token
  if (Array.isArray(json?.deleted)) entry.target = json.deleted;
  if (typeof json?.revoked === 'number') entry.revoked = json.revoked;
  options.logger.info(entry, 'admin change');
}

/**
 * A refusal given before the request body was read to its end closes the connection after it
 * (RFC 9112 §9.6): otherwise node:http would read and discard the rest to reach the next request.
 */
function withClose(req: IncomingMessage, headers: Record<string, string> | undefined): Record<string, string> | undefined {
  return req.complete ? headers : { ...headers, connection: 'close' };
}

/** The request's JSON body; none at all reads as `{}` where the route allows that (a roll without an overlap). */
function readBody(req: IncomingMessage, route: AdminRoute): Promise<unknown> {
  const hasNoBody = (req.headers['content-length'] ?? '0') === '0' && req.headers['transfer-encoding'] === undefined;
  return route.isBodyOptional && hasNoBody ? Promise.resolve({}) : readJson({ req, bodyLimit: route.bodyLimit });
}

async function requireCaller(req: IncomingMessage, options: AdminOptions): Promise<Caller> {
  // Not observed as lookups: cache hits and auth latency describe the data plane alone.
  const result = await authenticate(req.rawHeaders, options.cache, options.clock.now(), UNOBSERVED);
  if (typeof result === 'string') {
    const denial = DENIALS[result];
    if (result === 'store_unavailable') throw new StoreUnavailableError('authenticate');
    throw new AdminError(denial.status, denial.type, denial.title, denial.detail);
  }
  return callerOf(result);
}
