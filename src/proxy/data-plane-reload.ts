import type { DecisionStep } from '../auth/decide.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { RouteTable } from '../auth/routes.js';
import type { Clock } from '../clock.js';
import type { ConfigPart } from '../config/reload.js';
import type { Config } from '../config/schema.js';
import type { DecisionServer } from '../decision/server.js';
import { AddressList } from '../http/address-bounds.js';
import type { Logger } from '../log/logger.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import type { GrpcUpstream } from './grpc-upstream.js';
import type { Http2Front } from './http2-front.js';
import type { LiveExchanges } from './live-exchanges.js';
import type { ProxyServer } from './server.js';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js';

/** The upstream pool new requests go to: replaced whole when a reload moves the upstream. */
export interface UpstreamSlot {
  pool: UpstreamPool;
}

/** What the data plane is built from, and what a reload swaps in it. */
export interface DataPlaneRunning {
  logger: Logger;
  clock: Clock;
  lastUsed: LastUsedRecorder;
  usage: UsageRecorder;
  live: LiveExchanges;
  decisions: DecisionStep;
  upstream: UpstreamSlot;
  grpc: GrpcUpstream | undefined;
  proxy: ProxyServer;
  http2: Http2Front;
  decisionServer: DecisionServer | undefined;
}

/** The upstream pool's settings from the configuration. */
export function upstreamOptions(config: Config): UpstreamPoolOptions {
  const { upstream, connections, timeouts } = config.proxy;
  return { url: upstream, connections, connectTimeoutMs: timeouts.connect, headersTimeoutMs: timeouts.headers, idleTimeoutMs: timeouts.idle };
}

/** `proxy.trustedProxies` as the decision step reads it: undefined when none is trusted. */
export function trustedProxiesOf(config: Config): AddressList | undefined {
  return config.proxy.trustedProxies.length > 0 ? new AddressList(config.proxy.trustedProxies) : undefined;
}

/** What the proxy, HTTP/2 and decision fronts share. */
export function frontSettings(config: Config) {
  return {
    forwardAuthorization: config.proxy.forwardAuthorization,
    accessLog: config.proxy.accessLog,
    // The slowloris bound on a request's head, capped: a client slower than 60 s is not served.
    headersTimeoutMs: Math.min(config.proxy.timeouts.headers, 60_000),
  };
}

/**
 * The data plane's parts of a reload (docs/configuration.md, "Reloading"), each the keys it owns
 * and how it swaps them in without closing a connection. A part added later is one entry here.
 */
export function dataPlaneParts(running: DataPlaneRunning): ConfigPart[] {
  const { logger, clock, lastUsed, usage, live, decisions, upstream, grpc, proxy, http2, decisionServer } = running;
  return [
    { keys: ['cache.lastUsedInterval'], apply: (next) => lastUsed.setInterval(next.cache.lastUsedInterval) },
    { keys: ['usage.flushInterval', 'usage.retention'], apply: (next) => usage.retune(next.usage) },
    { keys: ['proxy.endOnRevoke', 'cache.ttl'], apply: (next) => live.retune({ endOnRevoke: next.proxy.endOnRevoke, recheckMs: next.cache.ttl }) },
    {
      keys: ['proxy.upstream', 'proxy.connections', 'proxy.timeouts'],
      apply(next, previous) {
        if (next.proxy.upstream === previous.proxy.upstream && next.proxy.connections === previous.proxy.connections)
          return upstream.pool.retime(upstreamOptions(next));
        // New requests go to the new pool; the old one's busy sockets finish their exchange and close.
        const retired = upstream.pool;
        upstream.pool = new UpstreamPool(upstreamOptions(next));
        retired.retire(upstream.pool);
      },
    },
    {
      keys: ['proxy.timeouts'],
      apply(next) {
        if (grpc !== undefined) grpc.connectTimeoutMs = next.proxy.timeouts.connect;
      },
    },
    // After the pool's part: the fronts take the pool in force.
    {
      keys: ['proxy.upstream', 'proxy.connections', 'proxy.timeouts', 'proxy.accessLog', 'proxy.forwardAuthorization', 'proxy.maxConnections'],
      apply(next) {
        const front = frontSettings(next);
        proxy.apply({ ...front, upstream: upstream.pool, idleTimeoutMs: next.proxy.timeouts.idle, maxConnections: next.proxy.maxConnections });
        http2.apply({ ...front, upstream: upstream.pool });
      },
    },
    {
      keys: ['proxy.timeouts', 'proxy.accessLog', 'proxy.forwardAuthorization', 'proxy.maxConnections', 'decision.pathPrefix'],
      apply: (next) =>
        decisionServer?.apply({
          ...frontSettings(next),
          idleTimeoutMs: next.proxy.timeouts.idle,
          maxConnections: next.proxy.maxConnections,
          pathPrefix: next.decision.pathPrefix,
        }),
    },
    routesPart(decisions, live, clock, logger),
    // Read by the next request's allowFrom check; an exchange already open keeps the address it was allowed from.
    { keys: ['proxy.trustedProxies'], apply: (next) => decisions.useTrustedProxies(trustedProxiesOf(next)) },
    // Read when a shutdown begins.
    { keys: ['proxy.shutdownGrace'], apply() {} },
  ];
}

/**
 * The `routes` part of a reload: the decision step every port shares takes a new route table
 * (requests judged from now on use it, exactly as a step started with it would), then each open
 * exchange is judged again under it and one it no longer allows ends (reason `config`).
 */
export function routesPart(decisions: DecisionStep, live: LiveExchanges | undefined, clock: Clock, logger: Logger): ConfigPart {
  return {
    keys: ['routes'],
    apply(next) {
      decisions.useRoutes(new RouteTable(next.routes));
      const ended = live?.rejudge((exchange, token) => decisions.allowsStill(exchange, token, clock.now())) ?? 0;
      if (ended > 0) logger.info({ ended }, 'open exchanges the new routes no longer allow were ended');
    },
  };
}
