/** The configuration used for every key a file and the environment leave out (docs/configuration.md). */
export const DEFAULTS = {
  // all: every part in one process (the laptop, the file store); proxy: the sidecar (proxy and
  // decision ports, probes and metrics); control: the admin API, page, webhooks and sweeper.
  role: 'all',
  proxy: {
    listen: '0.0.0.0:8080',
    upstream: 'http://127.0.0.1:8000',
    connections: 128,
    maxConnections: 10000,
    timeouts: { connect: '5s', headers: '30s', idle: '5m' },
    forwardAuthorization: false,
    endOnRevoke: true,
    accessLog: true,
    shutdownGrace: '25s',
    // gRPC calls (content-type application/grpc) go here over h2c; "" refuses them with status 14.
    grpcUpstream: '',
    // CIDRs of proxies in front of Tollgate whose first X-Forwarded-For hop counts as the client's address (allowFrom).
    trustedProxies: [],
    // PEM files (a chain is allowed); both set turn TLS on, and they are re-read when they change.
    tls: { cert: '', key: '' },
  },
  admin: {
    listen: '0.0.0.0:9090',
    metricsAuth: false,
    connectUri: 'tollgate://{host}:8080?token={secret}',
    maxTokenLifetime: '',
    // A client has this long to send a request's head, and the whole request with its body, else 408.
    timeouts: { headers: '10s', request: '60s' },
  },
  store: {
    backend: 'file',
    file: { path: './data/tollgate.jsonl' },
    // One of: `url` alone (a single node); `sentinels` + `name` (Sentinel; `url` still gives
    // password and db); `cluster` (seed nodes of a Redis Cluster). `waitReplicas`: how many
    // replicas must acknowledge each token or directory write within `waitTimeout` (Redis WAIT;
    // 0 is off, as for a single node; 1 with Sentinel, so a failover keeps a revoke).
    redis: {
      url: 'redis://127.0.0.1:6379/0',
      keyPrefix: 'tollgate:',
      commandTimeout: '250ms',
      sentinels: [],
      name: '',
      cluster: [],
      waitReplicas: 0,
      waitTimeout: '1s',
    },
  },
  cache: {
    max: 100000,
    ttl: '30s',
    negativeMax: 10000,
    negativeTtl: '5s',
    staleIfError: '60s',
    lastUsedInterval: '60s',
  },
  routes: [
    { path: '/v1/repositories/:repository/stream', methods: { POST: 'stream', PUT: 'stream', WEBSOCKET: 'stream' } },
    // Event streams are read by browsers' EventSource, which cannot set a header.
    { path: '/v1/repositories/:repository/events', tokenIn: ['header', 'query'] },
    { path: '/v1/repositories/:repository/**' },
    { path: '/health', public: true },
  ],
  // Webhooks (docs/webhooks.md): a list of {url, secret, events}; set secrets through the environment,
  // one by one (TOLLGATE_EVENTS_WEBHOOKS_0_SECRET) or as the whole list (TOLLGATE_EVENTS_WEBHOOKS).
  events: {
    expiringNotice: '7d',
    // Every admin change is an event kept this long (the audit log), whether or not a webhook is set.
    retention: '30d',
    webhooks: [],
    timeout: '10s',
    claimAfter: '30s',
    poll: '1s',
    sweepInterval: '1m',
    backoff: { initial: '5s', max: '10m' },
  },
  // Usage history per token per hour (docs/usage.md): kept `retention`, written every `flushInterval`.
  usage: { retention: '90d', flushInterval: '10s' },
  // The decision port for nginx, Envoy, Traefik and Caddy (docs/decision-api/README.md): off when empty.
  decision: { listen: '', pathPrefix: '' },
  // Workload identities (docs/workload-identity.md): JWT issuers and client certificates, both off by default.
  // jwt: a list of {issuer, audiences, jwksUri?, algorithms?, clockSkew?, user?, teams?}.
  identity: { jwt: [], mtls: { clientCa: '', required: false, user: 'sa-{spiffe.ns}-{spiffe.sa}' } },
  log: { level: 'info' },
  // OpenTelemetry traces (docs/tracing.md): off while the endpoint is "" (then nothing of the SDK is loaded).
  // endpoint: the collector's OTLP/HTTP base URL (http://otel-collector:4318); headers: sent with each export.
  // sampleRatio: share of new traces recorded; a request's own traceparent decides for its trace.
  telemetry: { otlp: { endpoint: '', headers: {} }, sampleRatio: 0.01, serviceName: 'tollgate' },
};
