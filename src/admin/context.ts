import type { TokenCache } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import type { Outbox } from '../events/outbox.js';
import type { Limiter } from '../limits/limiter.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TokenStore } from '../store/token-store.js';
import type { Tracing } from '../tracing/tracing.js';
import type { DirectoryService } from './directory-service.js';
import type { LeakBudget } from './leak-budget.js';
import type { OrganizationService } from './organization-service.js';
import type { TokenService } from './token-service.js';
import type { UsageService } from './usage-service.js';

// The contract between the admin server and its route handlers: the parts a handler is given
// (route-entry.ts types the rest of its input from its route's entry) and what it answers. Its own file, so handlers need not import the server that imports them.

export interface AdminOptions {
  store: TokenStore;
  cache: TokenCache;
  tokens: TokenService;
  directory: DirectoryService;
  organizations: OrganizationService;
  /** Usage history per token (GET /v1/tokens/{id}/usage/history, GET /v1/usage). */
  usage: UsageService;
  leakBudget: LeakBudget;
  /** Webhooks out (GET /v1/events); absent: no events are kept. */
  outbox?: Outbox;
  /** What clients may need to know of the configuration (GET /v1/settings). */
  settings: { maxTokenLifetimeMs: number | null; expiringNoticeMs: number };
  /** Filled in by createAdminServer from the route table. */
  openapi?: Record<string, unknown>;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  metricsAuth: boolean;
  /** True once shutdown began: /readyz answers 503 from then on. */
  isDraining: () => boolean;
  /** Per-token limits, for GET /v1/tokens/{id}/usage. */
  limits?: Limiter;
  /** `admin.timeouts`: a request's head, and the whole request, must arrive within these (else 408). */
  timeouts: { headersMs: number; requestMs: number };
  /** TRACING: a server span per admin call (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
}

/** A handler's answer: a status and a JSON body, or a raw body with its content type. */
export type AdminReply = { status?: number; json: unknown } | { status?: number; text: string; contentType: string; headers?: Record<string, string> };
