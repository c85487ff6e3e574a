import type { Lease, Slots } from './lease.js';

// The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers-09
// (structured-field lists, RFC 9651): one item per limit, named "rate", "quota" and "streams".
// `q` the quota, `qu` its unit, `w` the window in seconds; `r` what is left, `t` seconds until
// the window resets.

interface Limited {
  readonly rate: Lease | undefined;
  readonly quota: Lease | undefined;
  readonly slots: Slots | undefined;
}

/** The RateLimit-Policy value: fixed for a token's limits, built once. */
export function policyField(limits: Limited): string {
  const items: string[] = [];
  if (limits.rate) items.push(`"rate";q=${limits.rate.cap};w=${limits.rate.perMs / 1000}`);
  if (limits.quota) items.push(`"quota";q=${limits.quota.cap};qu="content-bytes";w=${limits.quota.perMs / 1000}`);
  if (limits.slots) items.push(`"streams";q=${limits.slots.cap};qu="concurrent-requests"`);
  return items.join(', ');
}

/**
 * The RateLimit value at `now`. `r` is this replica's view: what it holds plus what the store
 * had left at its last lease (other replicas' unspent leases are not known here).
 */
export function rateLimitField(limits: Limited, now: number): string {
  let field = '';
  const { rate, quota, slots } = limits;
  if (rate !== undefined) field = `"rate";r=${remaining(rate, now)};t=${resetIn(rate, now)}`;
  if (quota !== undefined) field += `${field === '' ? '' : ', '}"quota";r=${remaining(quota, now)};t=${resetIn(quota, now)}`;
  if (slots !== undefined) field += `${field === '' ? '' : ', '}"streams";r=${Math.max(0, slots.cap - slots.inUse)}`;
  return field;
}

function remaining(lease: Lease, now: number): number {
  if (lease.windowAt(now) !== lease.window) return lease.cap;
  return Math.max(0, Math.floor(lease.balance) + lease.left);
}

function resetIn(lease: Lease, now: number): number {
  return Math.max(0, Math.ceil((lease.windowAt(now) + lease.perMs - now) / 1000));
}
