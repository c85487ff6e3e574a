import { csvOf, reasonsIn, STEPS, type Step } from '../../usage/usage-report.js';
import type { Caller } from '../caller.js';
import type { AdminReply } from '../context.js';
import { invalidRequest } from '../errors.js';
import type { RequestParts } from '../route-entry.js';
import type { UsageHistoryQuery, UsageTopQuery } from '../schemas.js';
import type { UsageWindow } from '../usage-service.js';

const DAY_MS = 86_400_000;
/** The longest window asked at once: the longest `usage.retention`. */
const MAX_WINDOW_MS = 400 * DAY_MS;
/** Without `from`: this long before `to`. */
const DEFAULT_WINDOW_MS = 7 * DAY_MS;

/** `from` and `to` on step boundaries (from down, to up); faults name the field. */
function windowOf(query: { from?: string | undefined; to?: string | undefined }, stepMs: number, now: number): UsageWindow {
  const toAt = query.to === undefined ? now : Date.parse(query.to);
  const fromAt = query.from === undefined ? toAt - DEFAULT_WINDOW_MS : Date.parse(query.from);
  const from = fromAt - (((fromAt % stepMs) + stepMs) % stepMs);
  const to = Math.ceil(toAt / stepMs) * stepMs;
  if (from >= to) throw invalidRequest([{ field: 'from', message: 'must be before to' }]);
  if (to - from > MAX_WINDOW_MS) throw invalidRequest([{ field: 'from', message: 'the window from from to to may span at most 400d' }]);
  return { from, to, stepMs };
}

/** True when the client asked for CSV (`Accept: text/csv`) rather than JSON. */
const wantsCsv = ({ req }: RequestParts<unknown>): boolean => /\btext\/csv\b/i.test(req.headers.accept ?? '');

const CSV = 'text/csv; charset=utf-8';

/** GET /v1/tokens/{id}/usage/history: one token's usage per hour or day (docs/usage.md). */
export async function usageHistory(context: RequestParts<{ id: string }> & { caller: Caller; query: UsageHistoryQuery }): Promise<AdminReply> {
  const { params, caller, options, query: parsed } = context;
  const step: Step = parsed.step ?? '1h';
  const window = windowOf(parsed, STEPS[step], options.clock.now());
  const { id, items } = await options.usage.history(caller, params.id, window);
  if (wantsCsv(context)) {
    const reasons = reasonsIn(items);
    const rows = items.map((item) => [
      item.at,
      item.allowed,
      item.refused,
      item.bytesIn,
      item.bytesOut,
      ...reasons.map((reason) => item.refusedBy[reason] ?? 0),
    ]);
    return { text: csvOf(['at', 'allowed', 'refused', 'bytesIn', 'bytesOut', ...reasons.map((reason) => `refused:${reason}`)], rows), contentType: CSV };
  }
  return { json: { id, from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), step, items } };
}

/** GET /v1/usage: the tokens that used the most in a window, of those the caller may read (docs/usage.md). */
export async function topUsage(context: RequestParts<unknown> & { caller: Caller; query: UsageTopQuery }): Promise<AdminReply> {
  const { caller, options, query: parsed } = context;
  const window = windowOf(parsed, STEPS['1h'], options.clock.now());
  const by = parsed.by ?? 'requests';
  const items = await options.usage.top(caller, { repository: parsed.repository, organization: parsed.organization }, window, parsed.top ?? 10, by);
  if (wantsCsv(context)) {
    const reasons = reasonsIn(items);
    const rows = items.map((item) => [
      item.id,
      item.name,
      item.repository,
      item.allowed,
      item.refused,
      item.bytesIn,
      item.bytesOut,
      ...reasons.map((reason) => item.refusedBy[reason] ?? 0),
    ]);
    return {
      text: csvOf(['id', 'name', 'repository', 'allowed', 'refused', 'bytesIn', 'bytesOut', ...reasons.map((reason) => `refused:${reason}`)], rows),
      contentType: CSV,
    };
  }
  return { json: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), by, items } };
}
