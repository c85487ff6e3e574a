import { z } from 'zod';
import { parseCidr } from '../http/address-bounds.js';

import { EVENT_TYPES } from '../tokens/event-types.js';
import { RIGHTS } from '../tokens/record.js';
import { parseDuration, TIMER_MAX_MS } from './duration.js';
import { routePathFault } from './route-path.js';

export { RIGHTS };
/** `WEBSOCKET` is a pseudo-method: the right a WebSocket upgrade needs (else its GET right). */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'WEBSOCKET'] as const;

/** Where a route accepts the token from (off unless a route names it; `header` by default). */
export const TOKEN_SOURCES = ['header', 'query', 'protocol'] as const;

/**
 * What a key accepts, in words, kept on each schema as zod metadata (`accepts`) so the
 * generated configuration reference (src/docs/reference.ts) says what the validator checks.
 */
export interface KeyMeta {
  accepts: string;
}
const accepting = <T extends z.ZodType>(schema: T, accepts: string): T => schema.meta({ accepts } satisfies KeyMeta);

const describe = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
};

// Each leaf carries its own "expected ..., got ..." text so one fault reads as one clear line.
const notDuration = (value: unknown) => `expected a duration such as 250ms, 30s, 5m or 30d, got ${describe(value)}`;

/**
 * A duration in milliseconds within [min, max], both written as durations. Every key has its
 * own range: a timer cannot hold more than TIMER_MAX_MS (Node fires it after 1 ms instead), and a
 * timeout of 0 turns its guard off, so each range is what the key's use can stand.
 */
const duration = (min: string, max: string) => {
  const minMs = parseDuration(min);
  const maxMs = parseDuration(max);
  if (minMs === undefined || maxMs === undefined || minMs > maxMs || maxMs > TIMER_MAX_MS) {
    throw new Error(`bad duration range ${min}..${max}`);
  }
  const schema = z.unknown().transform((value, ctx) => {
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: notDuration(value) });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration from ${min} to ${max}, got ${describe(value)}` });
      return z.NEVER;
    }
    return ms;
  });
  return accepting(schema, `a duration from ${min} to ${max}`);
};

const bool = accepting(
  z.unknown().transform((value, ctx) => {
    if (typeof value === 'boolean') return value;
    ctx.addIssue({ code: 'custom', message: `expected true or false, got ${describe(value)}` });
    return z.NEVER;
  }),
  'true or false',
);

const positiveInt = (max: number) =>
  accepting(
    z.unknown().transform((value, ctx) => {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max) return value;
      ctx.addIssue({ code: 'custom', message: `expected a whole number from 1 to ${max}, got ${describe(value)}` });
      return z.NEVER;
    }),
    `a whole number from 1 to ${max}`,
  );

const wholeNumber = (max: number) =>
  accepting(
    z.unknown().transform((value, ctx) => {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max) return value;
      ctx.addIssue({ code: 'custom', message: `expected a whole number from 0 to ${max}, got ${describe(value)}` });
      return z.NEVER;
    }),
    `a whole number from 0 to ${max}`,
  );

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

/** CIDRs such as 10.0.0.0/8 or 2001:db8::/32 (a bare address is a /32 or /128). */
const cidrList = z.array(
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string' && parseCidr(value) !== undefined) return value;
    ctx.addIssue({ code: 'custom', message: `expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32, got ${describe(value)}` });
    return z.NEVER;
  }),
);

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

/**
 * A span of calendar time that no timer holds (a token's lifetime, a notice before expiry):
 * from 1h to 36500d, what the admin API accepts.
 */
const SPAN_RANGE = 'expected a duration from 1h to 36500d';
const spanMs = (value: unknown): number | undefined => {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  return ms !== undefined && ms >= 3_600_000 && ms <= 36_500 * 86_400_000 ? ms : undefined;
};
const span = z.unknown().transform((value, ctx) => {
  const ms = spanMs(value);
  if (ms !== undefined) return ms;
  ctx.addIssue({ code: 'custom', message: `${SPAN_RANGE}, got ${describe(value)}` });
  return z.NEVER;
});
/** How long the audit log keeps events: 1d to 400d (read as a time span, never a timer). */
const retention = z.unknown().transform((value, ctx) => {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms !== undefined && ms >= 86_400_000 && ms <= 400 * 86_400_000) return ms;
  ctx.addIssue({ code: 'custom', message: `expected a duration from 1d to 400d, got ${describe(value)}` });
  return z.NEVER;
});
/** As `span`, or "" for none (null). */
const optionalSpan = z.unknown().transform((value, ctx) => {
  if (value === '') return null;
  const ms = spanMs(value);
  if (ms !== undefined) return ms;
  ctx.addIssue({ code: 'custom', message: `${SPAN_RANGE} or "" for none, got ${describe(value)}` });
  return z.NEVER;
});

const text = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && value.length > 0) return value;
  ctx.addIssue({ code: 'custom', message: `expected a non-empty string, got ${describe(value)}` });
  return z.NEVER;
});

const oneOf = <T extends string>(allowed: readonly T[]) =>
  accepting(
    z.unknown().transform((value, ctx): T => {
      if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
      ctx.addIssue({ code: 'custom', message: `expected one of ${allowed.join(', ')}, got ${describe(value)}` });
      return z.NEVER;
    }),
    `one of ${allowed.join(', ')}`,
  );

const routePath = z.unknown().transform((value, ctx) => {
  const fault = routePathFault(value);
  if (fault === undefined) return value as string;
  ctx.addIssue({ code: 'custom', message: `${fault}, got ${describe(value)}` });
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

const tokenIn = z.unknown().transform((value, ctx) => {
  const allowed: readonly string[] = TOKEN_SOURCES;
  if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((source) => typeof source === 'string' && allowed.includes(source)) &&
    new Set(value).size === value.length
  ) {
    return value as (typeof TOKEN_SOURCES)[number][];
  }
  ctx.addIssue({ code: 'custom', message: `expected a non-empty list without repeats of ${TOKEN_SOURCES.join(', ')}, got ${describe(value)}` });
  return z.NEVER;
});

/** An HTTP field name (RFC 9110 §5.1 token), kept lower-case: names are matched without case. */
const headerName = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) return value.toLowerCase();
  ctx.addIssue({ code: 'custom', message: `expected a header name such as x-repository, got ${describe(value)}` });
  return z.NEVER;
});

const route = z.strictObject({
  path: routePath,
  methods: methodMap.optional(),
  public: bool.optional(),
  tokenIn: tokenIn.optional(),
  // Where a path has no :repository (gRPC paths never do), the request field naming it.
  repositoryHeader: headerName.optional(),
});

/** `h2c://host:port` of the gRPC upstream, or "" for none. */
const h2cUrl = z.unknown().transform((value, ctx) => {
  if (value === '') return '';
  try {
    if (typeof value !== 'string') throw new Error();
    const url = new URL(value);
    if (url.protocol !== 'h2c:' || !url.hostname || !url.port || (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) throw new Error();
    return `h2c://${url.host}`;
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected h2c://host:port (no path), or "" for none, got ${describe(value)}` });
    return z.NEVER;
  }
});

/** A PEM file path, or "" for none; whether it holds a usable certificate is checked at start. */
const filePath = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string') return value;
  ctx.addIssue({ code: 'custom', message: `expected a file path, or "" for none, got ${describe(value)}` });
  return z.NEVER;
});

/** Where a webhook is POSTed: any http(s) URL (a path and query are the receiver's). */
const webhookUrl = z.unknown().transform((value, ctx) => {
  try {
    if (typeof value !== 'string') throw new Error();
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    return url.href;
  } catch {
    // The URL is not echoed: it may carry a key in its query.
    ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL' });
    return z.NEVER;
  }
});

/** `whsec_` + base64 of the key bytes: the Standard Webhooks form the receivers' libraries take. */
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** A Standard Webhooks secret; never echoed in a fault line. */
const webhookSecret = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && WEBHOOK_SECRET.test(value) && value.length >= 'whsec_'.length + 24) return value;
  ctx.addIssue({ code: 'custom', message: 'expected whsec_ followed by the base64 of at least 18 random bytes (the value is not shown)' });
  return z.NEVER;
});

const eventTypes = z.unknown().transform((value, ctx) => {
  const allowed: readonly string[] = ['*', ...EVENT_TYPES];
  if (Array.isArray(value) && value.length > 0 && value.every((type) => typeof type === 'string' && allowed.includes(type))) return value as string[];
  ctx.addIssue({ code: 'custom', message: `expected a non-empty list of event types (${EVENT_TYPES.join(', ')}) or ["*"], got ${describe(value)}` });
  return z.NEVER;
});

/** The decision port's address, or "" for off (docs/decision-api/README.md): it opens only when asked for. */
const optionalListen = z.unknown().transform((value, ctx): ListenAddress | null => {
  if (value === '') return null;
  const match = typeof value === 'string' ? HOST_PORT.exec(value) : null;
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port such as 127.0.0.1:8081, or "" for off, got ${describe(value)}` });
    return z.NEVER;
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
});

/**
 * What Envoy's ext_authz `path_prefix` puts before the path it asks about: "" for none, else
 * `/` and segments of unreserved characters, no trailing slash (the original path brings its own).
 */
const pathPrefix = z.unknown().transform((value, ctx) => {
  if (value === '' || (typeof value === 'string' && /^(?:\/[A-Za-z0-9._~-]+)+$/.test(value) && !/\/\.{1,2}(?:\/|$)/.test(value))) return value as string;
  ctx.addIssue({
    code: 'custom',
    message: `expected "" or a path such as /check (segments of letters, digits, ".", "_", "~", "-"; no trailing slash), got ${describe(value)}`,
  });
  return z.NEVER;
});

const webhook = z
  .strictObject({ url: webhookUrl, secret: webhookSecret, events: eventTypes.optional() })
  .transform((hook) => ({ ...hook, events: hook.events ?? ['*'] }));

/** JWS algorithms an issuer may sign with: asymmetric only, so holding the keys to verify never lets one sign. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const jwtAlgorithms = z.unknown().transform((value, ctx): JwtAlgorithm[] => {
  const allowed: readonly string[] = JWT_ALGORITHMS;
  if (!Array.isArray(value) || value.length === 0) {
    ctx.addIssue({ code: 'custom', message: `expected a non-empty list of ${JWT_ALGORITHMS.join(', ')}, got ${describe(value)}` });
    return z.NEVER;
  }
  value.forEach((item, i) => {
    if (typeof item === 'string' && (item.toLowerCase() === 'none' || /^HS\d+$/i.test(item))) {
      // RFC 8725 §3.1-3.2: `none` verifies nothing, and an HMAC key is a shared secret anyone verifying could sign with.
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `${item} is never accepted (unsigned or shared-secret); expected one of ${JWT_ALGORITHMS.join(', ')}`,
      });
    } else if (typeof item !== 'string' || !allowed.includes(item)) {
      ctx.addIssue({ code: 'custom', path: [i], message: `expected one of ${JWT_ALGORITHMS.join(', ')}, got ${describe(item)}` });
    }
  });
  return [...new Set(value as JwtAlgorithm[])];
});

/** A template over claims or certificate fields: literal text and `{name}` or `{dotted.name}` placeholders. */
const TEMPLATE = /^(?:[^{}]|\{[A-Za-z0-9_:/-]+(?:\.[A-Za-z0-9_:/-]+)*\})+$/;
const identityTemplate = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && TEMPLATE.test(value) && value.includes('{')) return value;
  ctx.addIssue({
    code: 'custom',
    message: `expected a template with at least one {claim} such as {sub} or sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}, got ${describe(value)}`,
  });
  return z.NEVER;
});

const issuerUrl = z.unknown().transform((value, ctx) => {
  try {
    if (typeof value !== 'string') throw new Error();
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    return value;
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL, the token's iss exactly, got ${describe(value)}` });
    return z.NEVER;
  }
});

const audiences = z.unknown().transform((value, ctx) => {
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item !== '')) return value as string[];
  ctx.addIssue({ code: 'custom', message: `expected a non-empty list of audiences such as [tollgate], got ${describe(value)}` });
  return z.NEVER;
});

const claimName = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && /^[A-Za-z0-9_:/-]+(?:\.[A-Za-z0-9_:/-]+)*$/.test(value)) return value;
  ctx.addIssue({ code: 'custom', message: `expected a claim name such as groups (dots walk nested claims), got ${describe(value)}` });
  return z.NEVER;
});

/** One trusted JWT issuer (docs/workload-identity.md). */
const jwtIssuer = z
  .strictObject({
    issuer: issuerUrl,
    audiences,
    jwksUri: issuerUrl.optional(),
    algorithms: jwtAlgorithms.optional(),
    // Allowed drift between the issuer's clock and ours when reading exp and nbf.
    clockSkew: duration('0s', '5m').optional(),
    user: identityTemplate.optional(),
    teams: claimName.optional(),
  })
  .transform((entry) => ({
    issuer: entry.issuer,
    audiences: entry.audiences,
    jwksUri: entry.jwksUri ?? '',
    algorithms: entry.algorithms ?? [...DEFAULT_JWT_ALGORITHMS],
    clockSkew: entry.clockSkew ?? 30_000,
    user: entry.user ?? '{sub}',
    teams: entry.teams ?? '',
  }));

// What each shared leaf accepts, for the generated reference (the factories above say it themselves).
for (const [schema, accepts] of [
  [listen, 'host:port such as 0.0.0.0:8080'],
  [httpUrl, 'an http:// or https:// origin, no path'],
  [span, 'a duration from 1h to 36500d'],
  [optionalSpan, 'a duration from 1h to 36500d, or "" for none'],
  [text, 'a non-empty string'],
  [routePath, 'a path: literal segments, at most one :repository, /** only at the end'],
  [methodMap, `a map of method (${METHODS.join(', ')}) to right (${RIGHTS.join(', ')})`],
  [tokenIn, `a non-empty list without repeats of ${TOKEN_SOURCES.join(', ')}`],
  [headerName, 'a header name such as x-repository'],
  [h2cUrl, 'h2c://host:port, or "" for none'],
  [filePath, 'a file path, or "" for none'],
  [webhookUrl, 'an http:// or https:// URL'],
  [webhookSecret, 'whsec_ and the base64 of at least 18 random bytes'],
  [eventTypes, 'a non-empty list of event types, or ["*"]'],
  [optionalListen, 'host:port such as 127.0.0.1:8081, or "" for off'],
  [pathPrefix, '"" or a path such as /check, no trailing slash'],
  [jwtAlgorithms, `a non-empty list of ${JWT_ALGORITHMS.join(', ')} (never none or HS*)`],
  [identityTemplate, 'a template such as {sub} or sa-{kubernetes.io.namespace}-{kubernetes.io.serviceaccount.name}'],
  [issuerUrl, 'an http:// or https:// URL'],
  [audiences, 'a non-empty list of strings'],
  [claimName, 'a claim name; dots walk nested claims'],
  [cidrList, 'a list of CIDRs such as ["10.0.0.0/8", "::1/128"]'],
  [retention, 'a duration from 1d to 400d'],
] as const) {
  z.globalRegistry.add(schema, { accepts } satisfies KeyMeta);
}

/** `telemetry.otlp.endpoint`: "" (tracing off) or the collector's OTLP/HTTP base URL. */
const otlpEndpoint = z.unknown().transform((value, ctx) => {
  if (value === '') return '';
  try {
    if (typeof value !== 'string') throw new Error();
    const url = new URL(value);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) throw new Error();
    return value;
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `expected "" (off) or an http:// or https:// URL such as http://otel-collector:4318 (no query, no credentials: put them in telemetry.otlp.headers), got ${describe(value)}`,
    });
    return z.NEVER;
  }
});

/** A header name (RFC 9110 §5.1 token) to a value with no line break: sent with every export. */
const otlpHeaders = z.unknown().transform((value, ctx): Record<string, string> => {
  const isMap = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isMap) {
    ctx.addIssue({ code: 'custom', message: `expected a map of header names to values such as { authorization: "Bearer ..." }, got ${describe(value)}` });
    return z.NEVER;
  }
  const out: Record<string, string> = {};
  for (const [name, field] of Object.entries(value)) {
    // The value is never echoed: it is usually a collector's API key.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      ctx.addIssue({ code: 'custom', path: [name], message: `expected a header name (letters, digits, -), got ${JSON.stringify(name)}` });
    else if (typeof field !== 'string' || /[\r\n\0]/.test(field))
      ctx.addIssue({ code: 'custom', path: [name], message: 'expected a string without line breaks' });
    else out[name] = field;
  }
  return out;
});

/** `telemetry.sampleRatio`: the share of traces started here that are recorded. */
const sampleRatio = z.unknown().transform((value, ctx) => {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1) return value;
  ctx.addIssue({ code: 'custom', message: `expected a number from 0 to 1 such as 0.01, got ${describe(value)}` });
  return z.NEVER;
});

/** `telemetry.serviceName`: the `service.name` every span carries. */
const serviceName = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && value.length >= 1 && value.length <= 255 && !/[\u0000-\u001f]/.test(value)) return value;
  ctx.addIssue({ code: 'custom', message: `expected a name of 1 to 255 characters such as tollgate, got ${describe(value)}` });
  return z.NEVER;
});

for (const [schema, accepts] of [
  [otlpEndpoint, '"" (off) or an http:// or https:// URL; /v1/traces is added unless the path ends in it'],
  [otlpHeaders, 'a map of header names to strings'],
  [sampleRatio, 'a number from 0 to 1'],
  [serviceName, 'a name of 1 to 255 characters'],
] as const) {
  z.globalRegistry.add(schema, { accepts } satisfies KeyMeta);
}

/** What one process runs (docs/kubernetes.md, "Roles"): everything, the data plane alone, or the control plane alone. */
export const ROLES = ['all', 'proxy', 'control'] as const;
export type Role = (typeof ROLES)[number];

export const configSchema = z
  .strictObject({
    role: oneOf(ROLES),
    proxy: z.strictObject({
      listen,
      upstream: httpUrl,
      // Sockets to one upstream; more than the client connections allowed by default is a typo.
      connections: positiveInt(10_000),
      maxConnections: positiveInt(1_000_000),
      timeouts: z.strictObject({
        // Below 10 ms even a loopback connect under load times out; beyond 5 m nobody is waiting.
        connect: duration('10ms', '5m'),
        // The slowloris guard (client side, where src/app.ts caps it at 60 s) and the wait for the
        // upstream's response headers: 0 would turn the guard off.
        headers: duration('100ms', '10m'),
        // A body may stall this long either way (also the idle sweeper's and undici's body timer).
        idle: duration('1s', '24h'),
      }),
      forwardAuthorization: bool,
      accessLog: bool,
      // Exchanges already open end when their token stops allowing them (revoke, expiry, rights).
      endOnRevoke: bool,
      // A timer; at least 100 ms so a slip of unit cannot turn shutdown into cutting every request.
      shutdownGrace: duration('100ms', '1h'),
      grpcUpstream: h2cUrl,
      // Peers (load balancers, ingress) whose first X-Forwarded-For hop is taken as the client's
      // address for a token's allowFrom; from any other peer the socket's address counts.
      trustedProxies: cidrList,
      // Both set: the proxy port speaks TLS (1.2 and 1.3, ALPN h2 and http/1.1).
      tls: z.strictObject({ cert: filePath, key: filePath }).superRefine((tls, ctx) => {
        if (tls.cert === '' && tls.key !== '') ctx.addIssue({ code: 'custom', path: ['cert'], message: 'expected a PEM file when proxy.tls.key is set' });
        if (tls.key === '' && tls.cert !== '') ctx.addIssue({ code: 'custom', path: ['key'], message: 'expected a PEM file when proxy.tls.cert is set' });
      }),
    }),
    admin: z.strictObject({
      listen,
      metricsAuth: bool,
      // Caps every expiry set through the API; "no expiry" becomes this (null: no cap).
      maxTokenLifetime: optionalSpan,
      connectUri: text,
      timeouts: z.strictObject({
        // The admin port's slowloris guard for a request's head: 0 would turn it off.
        headers: duration('100ms', '10m'),
        // The whole request, head and body (1 MiB at most); a head is part of it, so it also caps
        // `headers` (node:http requires headers <= request).
        request: duration('1s', '1h'),
      }),
    }),
    store: z.strictObject({
      backend: oneOf(['file', 'redis', 'memory'] as const),
      file: z.strictObject({ path: text }),
      redis: z
        .strictObject({
          url: text,
          keyPrefix: text,
          // A store call on the request path waits this long; the connect timeout is four times it.
          commandTimeout: duration('10ms', '1m'),
          sentinels: z.array(hostPort),
          name: z.string(),
          cluster: z.array(hostPort),
          // Security writes wait for this many replicas to acknowledge them (Redis WAIT); 0 is off.
          waitReplicas: wholeNumber(16),
          // How long a security write waits for them; never 0 (WAIT 0 blocks until they answer).
          waitTimeout: duration('10ms', '1m'),
        })
        .superRefine((redis, ctx) => {
          // WAIT counts the replicas of the node that answered; on a Cluster a write's keys span
          // several masters and a MOVED or ASK redirect may answer it from a node the client never
          // names, so a WAIT could be sent to one that did not take the write and confirm nothing.
          if (redis.waitReplicas > 0 && redis.cluster.length > 0) {
            ctx.addIssue({
              code: 'custom',
              path: ['waitReplicas'],
              message: `expected 0 with cluster (Tollgate cannot wait for replicas on a Redis Cluster), got ${redis.waitReplicas}`,
            });
          }
          if (redis.sentinels.length > 0 && redis.cluster.length > 0) {
            ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'give sentinels or cluster, not both' });
          }
          if (redis.sentinels.length > 0 && redis.name === '') {
            ctx.addIssue({ code: 'custom', path: ['name'], message: 'expected the Sentinel master name (e.g. mymaster) when sentinels are set' });
          }
        }),
    }),
    cache: z.strictObject({
      // lru-cache allocates every slot at start: 10 million here and in negativeMax took 480 MB
      // and 3.3 s before the first request; a million of each is about 50 MB.
      max: positiveInt(1_000_000),
      // The backstop for a missed invalidation (docs/stores.md): a revoked token may live this long.
      ttl: duration('100ms', '1h'),
      negativeMax: positiveInt(1_000_000),
      // lru-cache reads a ttl of 0 as "never expires".
      negativeTtl: duration('100ms', '1h'),
      // Not a timer: 0 serves nothing stale; a revoked token may live this long in an outage.
      staleIfError: duration('0s', '1h'),
      // The lastUsedAt flush interval: below 1 s it is a busy loop, beyond 1 h lastUsedAt is stale.
      lastUsedInterval: duration('1s', '1h'),
    }),
    routes: z.array(route),
    events: z
      .strictObject({
        // How long before its expiry a token counts as expiring soon (tollgate_tokens_expiring_soon)
        // and gets its token.expiring event.
        expiringNotice: span,
        // The audit log: every admin change is kept this long, webhooks or not.
        retention,
        webhooks: z.array(webhook),
        // Each POST is abandoned after this long (docs/webhooks.md: 10 s).
        timeout: duration('100ms', '5m'),
        // A sender holds an event this long before another replica may take it over: more than
        // the timeout, or a slow receiver would get each event twice.
        claimAfter: duration('1s', '1h'),
        // An idle sender looks for events written by other replicas this often.
        poll: duration('10ms', '1m'),
        sweepInterval: duration('100ms', '1h'),
        backoff: z.strictObject({ initial: duration('10ms', '1h'), max: duration('10ms', '24h') }),
      })
      .superRefine((events, ctx) => {
        if (events.claimAfter <= events.timeout) ctx.addIssue({ code: 'custom', path: ['claimAfter'], message: 'must be longer than events.timeout' });
        const seen = new Set<string>();
        events.webhooks.forEach((hook, i) => {
          if (seen.has(hook.url)) ctx.addIssue({ code: 'custom', path: ['webhooks', i, 'url'], message: 'each webhook URL may appear once' });
          seen.add(hook.url);
        });
      }),
    // Usage history per token per hour (docs/usage.md).
    usage: z.strictObject({
      // Hours older than this are dropped (every store; Redis by key expiry).
      retention,
      // The data plane adds its counts to the store this often (and at shutdown): never a write per request.
      flushInterval: duration('1s', '1h'),
    }),
    decision: z.strictObject({ listen: optionalListen, pathPrefix }),
    // Workload identities beside Tollgate's tokens (docs/workload-identity.md).
    identity: z.strictObject({
      jwt: z.array(jwtIssuer).superRefine((issuers, ctx) => {
        const seen = new Set<string>();
        issuers.forEach((entry, i) => {
          if (seen.has(entry.issuer)) ctx.addIssue({ code: 'custom', path: [i, 'issuer'], message: 'each issuer may appear once' });
          seen.add(entry.issuer);
        });
      }),
      mtls: z.strictObject({
        // A PEM bundle of the CAs client certificates must chain to; "" asks for none. Re-read on change.
        clientCa: filePath,
        // True: a handshake without a valid client certificate is refused.
        required: bool,
        user: identityTemplate,
      }),
    }),
    log: z.strictObject({ level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) }),
    // OpenTelemetry traces (docs/tracing.md): off, and the SDK never loaded, while the endpoint is "".
    telemetry: z.strictObject({
      otlp: z.strictObject({ endpoint: otlpEndpoint, headers: otlpHeaders }),
      sampleRatio,
      serviceName,
    }),
  })
  .superRefine((config, ctx) => {
    // The file store is one process's journal: a proxy replica and a control replica on it would
    // each hold a copy the other never sees.
    if (config.role !== 'all' && config.store.backend === 'file') {
      ctx.addIssue({
        code: 'custom',
        path: ['role'],
        message: `expected all with store.backend file (one process holds the file store); ${config.role} needs a shared store: set store.backend to redis, got ${JSON.stringify(config.role)}`,
      });
    }
  });

/** The validated configuration: durations in milliseconds, listen addresses split. */
export type Config = z.output<typeof configSchema>;
export type RouteConfig = Config['routes'][number];
