import type { Server } from 'node:http';
import type { AdminOptions } from '../admin/context.js';
import { DirectoryService } from '../admin/directory-service.js';
import { Invalidator, type LocalEviction } from '../admin/invalidator.js';
import { LeakBudget } from '../admin/leak-budget.js';
import { OrganizationService } from '../admin/organization-service.js';
import { createAdminServer } from '../admin/server.js';
import { TokenService } from '../admin/token-service.js';
import { UsageService } from '../admin/usage-service.js';
import type { TokenCache } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import type { ConfigPart } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import { emittingStore } from '../events/emitting-store.js';
import { Outbox } from '../events/outbox.js';
import { Limiter } from '../limits/limiter.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TokenStore, UsageStore } from '../store/token-store.js';
import type { Tracing } from '../tracing/tracing.js';
import { CONTROL_PLANE_KEYS } from './replica.js';

export interface ControlPlaneParts {
  config: Config;
  /**
   * Every role: each part below takes the ones it uses (the webhook outbox the event log, leases
   * and expiring tokens; the limiter the budget counters; the invalidator publish; the services
   * tokens, the directory, leases and usage), but the admin server's options (AdminOptions in
   * src/admin/context.ts) still take the whole store: its handlers read tokens and repositories,
   * /readyz pings it.
   */
  store: TokenStore;
  cache: TokenCache;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  fetcher: typeof fetch;
  /** Drops what this process holds of a token at once (its cache; in `all`, its open exchanges too). */
  eviction: LocalEviction;
  /** The data plane's limiter in `all` (usage reads its leases); a control replica has its own. */
  limits?: Limiter;
  /** True once shutdown began: /readyz answers 503 from then on. */
  isDraining: () => boolean;
  /** Spans for admin calls (docs/tracing.md); absent: tracing off. */
  tracing?: Tracing;
}

/**
 * The control plane (the `control` role, and half of `all`): the admin API and page, webhooks
 * out with the expiry sweeper, and the token list index the list reads. Loaded only by the
 * roles that serve it.
 */
export class ControlPlane {
  readonly tokens: TokenService;
  readonly directory: DirectoryService;
  /** Webhooks out (docs/webhooks.md). */
  readonly outbox: Outbox;
  readonly limits: Limiter;
  /** The admin port's server, not yet listening. */
  readonly admin: Server;

  /** What the admin server reads per request; a reload sets its fields anew. */
  private readonly adminOptions: AdminOptions;

  /** Usage history's retention, which a reload sets anew. */
  private readonly usageHistory: Pick<UsageStore, 'keepUsageFor'>;

  constructor({ config, store, cache, metrics, logger, clock, fetcher, eviction, limits, isDraining, tracing }: ControlPlaneParts) {
    this.usageHistory = store;
    this.outbox = new Outbox({ config: config.events, store, clock, logger, fetch: fetcher, observer: metrics });
    const events = this.outbox;
    // Every change the admin services write carries its event, webhooks or not: the audit log,
    // kept events.retention (docs/webhooks.md, docs/admin-api.md).
    store.keepEventsFor?.(config.events.retention);
    // Usage history is read here and written by the data plane; both drop what is past usage.retention.
    store.keepUsageFor?.(config.usage.retention);
    const adminStore = emittingStore(store, clock, () => events.wake());
    // A change made here takes effect here at once; the store's channel tells the other replicas.
    const invalidator = new Invalidator(eviction, store);
    this.tokens = new TokenService({
      store: adminStore,
      clock,
      invalidator,
      connectUri: config.admin.connectUri,
      maxLifetimeMs: config.admin.maxTokenLifetime,
    });
    this.directory = new DirectoryService({ store: adminStore, clock, tokens: this.tokens, invalidator });
    this.limits = limits ?? new Limiter({ store, clock, logger, observer: metrics });
    this.adminOptions = {
      store,
      cache,
      tokens: this.tokens,
      directory: this.directory,
      organizations: new OrganizationService({ store: adminStore, clock }),
      usage: new UsageService({ store, tokens: this.tokens, clock }),
      leakBudget: new LeakBudget(clock),
      outbox: events,
      settings: { maxTokenLifetimeMs: config.admin.maxTokenLifetime, expiringNoticeMs: config.events.expiringNotice },
      metrics,
      logger,
      clock,
      metricsAuth: config.admin.metricsAuth,
      isDraining,
      limits: this.limits,
      timeouts: { headersMs: config.admin.timeouts.headers, requestMs: config.admin.timeouts.request },
      tracing,
    };
    this.admin = createAdminServer(this.adminOptions);
  }

  /**
   * What a configuration reload swaps in the control plane (docs/configuration.md, "Reloading"):
   * whether /metrics asks for a token, the connect URI of new personal tokens, and the lifetime
   * cap of expiries set from then on (and shown by GET /v1/settings).
   */
  configParts(): ConfigPart[] {
    const options = this.adminOptions;
    return [
      {
        keys: CONTROL_PLANE_KEYS,
        apply: (next) => {
          options.metricsAuth = next.admin.metricsAuth;
          options.settings = { ...options.settings, maxTokenLifetimeMs: next.admin.maxTokenLifetime };
          this.tokens.retune({ connectUri: next.admin.connectUri, maxLifetimeMs: next.admin.maxTokenLifetime });
        },
      },
      { keys: ['usage.retention'], apply: (next) => this.usageHistory.keepUsageFor?.(next.usage.retention) },
    ];
  }

  /** Opens the webhook queues: started before the admin port answers, no change made here is missed. */
  start(): Promise<void> {
    return this.outbox.start();
  }

  stop(): Promise<void> {
    return this.outbox.stop();
  }
}
