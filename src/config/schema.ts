import { z } from 'zod';
import { parseDuration } from './duration.js';

import { RIGHTS } from '../tokens/record.js';
export { RIGHTS };
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const describe = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
};

// Each leaf carries its own "expected ..., got ..." text so one fault reads as one clear line.
const duration = z.unknown().transform((value, ctx) => {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 250ms, 30s, 5m or 30d, got ${describe(value)}` });
    return z.NEVER;
  }
  return ms;
});

const bool = z.unknown().transform((value, ctx) => {
  if (typeof value === 'boolean') return value;
  ctx.addIssue({ code: 'custom', message: `expected true or false, got ${describe(value)}` });
  return z.NEVER;
});

const positiveInt = (max: number) =>
  z.unknown().transform((value, ctx) => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max) return value;
    ctx.addIssue({ code: 'custom', message: `expected a whole number from 1 to ${max}, got ${describe(value)}` });
    return z.NEVER;
  });

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export interface ListenAddress {
  host: string;
  port: number;
}

const listen = z.unknown().transform((value, ctx): ListenAddress => {
  const match = typeof value === 'string' ? HOST_PORT.exec(value) : null;
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port such as 0.0.0.0:8080, got ${describe(value)}` });
    return z.NEVER;
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
});

/** `host:port` of a Redis node or Sentinel. */
const hostPort = listen;

const httpUrl = z.unknown().transform((value, ctx) => {
  try {
    if (typeof value !== 'string') throw new Error();
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    if (url.pathname !== '/' || url.search || url.hash) throw new Error();
    return url.origin;
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected an origin such as http://127.0.0.1:8000 (no path), got ${describe(value)}` });
    return z.NEVER;
  }
});

const text = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && value.length > 0) return value;
  ctx.addIssue({ code: 'custom', message: `expected a non-empty string, got ${describe(value)}` });
  return z.NEVER;
});

const oneOf = <T extends string>(allowed: readonly T[]) =>
  z.unknown().transform((value, ctx): T => {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    ctx.addIssue({ code: 'custom', message: `expected one of ${allowed.join(', ')}, got ${describe(value)}` });
    return z.NEVER;
  });

const ROUTE_PATH = /^\/(?:[A-Za-z0-9._~!$&'()*+,;=@-]+|:repository|\*\*)?(?:\/(?:[A-Za-z0-9._~!$&'()*+,;=@-]+|:repository|\*\*))*$/;

const routePath = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && ROUTE_PATH.test(value) && !/\*\*\/./.test(value)) return value;
  ctx.addIssue({
    code: 'custom',
    message: `expected a path of literal segments, :repository and a final /**, got ${describe(value)}`,
  });
  return z.NEVER;
});

type Method = (typeof METHODS)[number];
type Right = (typeof RIGHTS)[number];

const methodMap = z.unknown().transform((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: `expected a map of HTTP method to right, got ${describe(value)}` });
    return z.NEVER;
  }
  const out: Partial<Record<Method, Right>> = {};
  for (const [method, right] of Object.entries(value)) {
    if (!(METHODS as readonly string[]).includes(method)) {
      ctx.addIssue({ code: 'custom', path: [method], message: `expected a method, one of ${METHODS.join(', ')}, got ${describe(method)}` });
    } else if (!(RIGHTS as readonly string[]).includes(right as string)) {
      ctx.addIssue({ code: 'custom', path: [method], message: `expected a right, one of ${RIGHTS.join(', ')}, got ${describe(right)}` });
    } else {
      out[method as Method] = right as Right;
    }
  }
  return out;
});

const route = z.strictObject({
  path: routePath,
  methods: methodMap.optional(),
  public: bool.optional(),
});

export const configSchema = z.strictObject({
  proxy: z.strictObject({
    listen,
    upstream: httpUrl,
    connections: positiveInt(100_000),
    maxConnections: positiveInt(1_000_000),
    timeouts: z.strictObject({ connect: duration, headers: duration, idle: duration }),
    forwardAuthorization: bool,
    accessLog: bool,
    shutdownGrace: duration,
  }),
  admin: z.strictObject({
    listen,
    metricsAuth: bool,
    connectUri: text,
  }),
  store: z.strictObject({
    backend: oneOf(['file', 'redis', 'memory'] as const),
    file: z.strictObject({ path: text }),
    redis: z
      .strictObject({ url: text, keyPrefix: text, commandTimeout: duration, sentinels: z.array(hostPort), name: z.string(), cluster: z.array(hostPort) })
      .superRefine((redis, ctx) => {
        if (redis.sentinels.length > 0 && redis.cluster.length > 0) {
          ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'give sentinels or cluster, not both' });
        }
        if (redis.sentinels.length > 0 && redis.name === '') {
          ctx.addIssue({ code: 'custom', path: ['name'], message: 'expected the Sentinel master name (e.g. mymaster) when sentinels are set' });
        }
      }),
  }),
  cache: z.strictObject({
    max: positiveInt(10_000_000),
    ttl: duration,
    negativeMax: positiveInt(10_000_000),
    negativeTtl: duration,
    staleIfError: duration,
    lastUsedInterval: duration,
  }),
  routes: z.array(route),
  log: z.strictObject({ level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) }),
});

/** The validated configuration: durations in milliseconds, listen addresses split. */
export type Config = z.output<typeof configSchema>;
export type RouteConfig = Config['routes'][number];
