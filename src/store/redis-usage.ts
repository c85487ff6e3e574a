import { emptyHour, type UsageCount, type UsageHour } from './usage-log.js';

// The fields of a token-day usage hash: `<hour>:a` allowed, `<hour>:i` bytes in, `<hour>:o` bytes
// out, `<hour>:r:<reason>` refused for that reason (`<hour>`: the hour's start, epoch ms).

/** The field and increment pairs that add `count` (figures of zero are left out). */
export function usageFields(count: UsageCount): string[] {
  const out: string[] = [];
  const hour = count.hour;
  if (count.allowed > 0) out.push(`${hour}:a`, String(count.allowed));
  if (count.bytesIn > 0) out.push(`${hour}:i`, String(count.bytesIn));
  if (count.bytesOut > 0) out.push(`${hour}:o`, String(count.bytesOut));
  for (const reason in count.refused) if (count.refused[reason]! > 0) out.push(`${hour}:r:${reason}`, String(count.refused[reason]));
  return out;
}

/** The hours a token-day hash holds, oldest first. */
export function usageHours(fields: Record<string, string>): UsageHour[] {
  const hours = new Map<number, UsageHour>();
  for (const [field, value] of Object.entries(fields)) {
    const colon = field.indexOf(':');
    const at = Number(field.slice(0, colon));
    if (colon < 0 || !Number.isSafeInteger(at)) continue;
    let hour = hours.get(at);
    if (hour === undefined) {
      hour = emptyHour(at);
      hours.set(at, hour);
    }
    const kind = field.slice(colon + 1);
    const figure = Number(value);
    if (kind === 'a') hour.allowed = figure;
    else if (kind === 'i') hour.bytesIn = figure;
    else if (kind === 'o') hour.bytesOut = figure;
    else if (kind.startsWith('r:')) hour.refused[kind.slice(2)] = figure;
  }
  return [...hours.values()].sort((a, b) => a.hour - b.hour);
}
