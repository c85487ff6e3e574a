import type { AdminContext, AdminReply } from '../server.js';

/** Liveness: the process serves. */
export async function healthz(): Promise<AdminReply> {
  return { status: 200, json: { status: 'ok' } };
}

/** Readiness: the store answers and shutdown has not begun. */
export async function readyz({ options }: AdminContext): Promise<AdminReply> {
  if (options.isDraining()) return { status: 503, json: { status: 'draining' } };
  try {
    await options.store.ping();
    return { status: 200, json: { status: 'ready', store: options.store.backend } };
  } catch {
    return { status: 503, json: { status: 'store unavailable', store: options.store.backend } };
  }
}

/** Prometheus text exposition of the private registry. */
export async function metrics({ options }: AdminContext): Promise<AdminReply> {
  const registry = options.metrics.registry;
  return { status: 200, text: await registry.metrics(), contentType: registry.contentType };
}

/** The OpenAPI description, built once. */
export async function openapi({ options }: AdminContext): Promise<AdminReply> {
  return { status: 200, json: options.openapi };
}

/** The settings a client shapes its forms by: the page offers no expiry the server would refuse. */
export async function settings({ options }: AdminContext): Promise<AdminReply> {
  const { maxTokenLifetimeMs, expiringNoticeMs } = options.settings;
  return {
    status: 200,
    json: { maxTokenLifetimeSeconds: maxTokenLifetimeMs === null ? null : maxTokenLifetimeMs / 1000, expiringNoticeSeconds: expiringNoticeMs / 1000 },
  };
}
