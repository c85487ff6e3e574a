import type { Limits } from '../limits/limits.js';
import { describeLimits } from './limits-options.js';
import { absoluteTime } from './table.js';

// A history entry's changes as people read them: sentences, rights as lists, limits as rates,
// times as dates; never JSON (docs/cli.md, "Users, teams, rolls and leak reports").

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

/** One value as words: a list, a date, a limit, a map of labels, or "none". */
function valueText(field: string, value: unknown): string {
  if (value === null || value === undefined) return field === 'expiresAt' ? 'never' : 'none';
  if (field === 'limits') return describeLimits(value as Limits) === '-' ? 'none' : describeLimits(value as Limits);
  if (typeof value === 'string' && ISO.test(value)) return absoluteTime(value);
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? 'none' : entries.map(([key, one]) => `${key}: ${typeof one === 'object' ? JSON.stringify(one) : String(one)}`).join(', ');
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

const NAMES: Record<string, string> = {
  expiresAt: 'expiry',
  allowFrom: 'allowed addresses',
  selfRotate: 'may roll itself',
  parentId: 'lent by',
  rolledTo: 'rolled into',
  rolledFrom: 'rolled from',
};

/** One change: `rights query, stream → query`, `renamed "a" to "b"`, `expiry Dec 17, 2026 → never`; a first value alone. */
export function changeText(field: string, change: { from: unknown; to: unknown }): string {
  const label = NAMES[field] ?? field;
  if (field === 'name' && change.from !== null) return `renamed ${JSON.stringify(change.from)} to ${JSON.stringify(change.to)}`;
  if (field === 'rolledTo' || field === 'rolledFrom') return `${label} token ${String(change.to)}`;
  if (change.from === null) return `${label} ${valueText(field, change.to)}`;
  return `${label} ${valueText(field, change.from)} → ${valueText(field, change.to)}`;
}

/** Every change of an entry, as one line. */
export const changesText = (changes: Record<string, { from: unknown; to: unknown }>): string =>
  Object.entries(changes)
    .map(([field, change]) => changeText(field, change))
    .join('; ');
