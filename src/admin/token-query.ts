import { type ShownStatus, shownStatusAt, type TokenSummary } from '../tokens/record.js';
import { invalidRequest } from './errors.js';

export const SORT_FIELDS = ['name', 'user', 'repository', 'kind', 'status', 'createdAt', 'expiresAt', 'lastUsedAt'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface SortKey {
  field: SortField;
  descending: boolean;
}

/** A list request after validation (`GET /v1/tokens`, docs/admin-api.md). */
export interface TokenQuery {
  q?: string;
  status?: ShownStatus;
  /** Tokens carrying this label (`key`, `value`). */
  label?: { key: string; value: string };
  kind?: 'repository' | 'personal';
  repository?: string;
  /** Tokens of this organization (docs/organizations.md); TokenService filters by it, knowing where repositories belong. */
  organization?: string;
  user?: string;
  /** Active tokens whose expiry is at or before this time (epoch ms). */
  expiresBefore?: number;
  sort: SortKey[];
  limit: number;
  cursor?: string;
}

/** A page of summaries (fetch their full records by id to show them). */
export interface TokenPage {
  items: Readonly<TokenSummary>[];
  total: number;
  nextCursor: string | null;
}

type SortValue = string | number | null;

const sortValueOf = (record: Readonly<TokenSummary>, field: SortField, now: number): SortValue => {
  switch (field) {
    case 'status':
      return shownStatusAt(record, now);
    case 'user':
      return record.user;
    default:
      return record[field];
  }
};

/** Nulls (no user, no expiry, never used) sort last in either direction, like "unknown". */
function compareValues(a: SortValue, b: SortValue, descending: boolean): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const order = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  return descending ? -order : order;
}

/** A total order: the sort keys, then the id, so pages never repeat or skip a token. */
function makeComparator(sort: SortKey[], now: number) {
  return (a: Readonly<TokenSummary>, b: Readonly<TokenSummary>): number => {
    for (const key of sort) {
      const order = compareValues(sortValueOf(a, key.field, now), sortValueOf(b, key.field, now), key.descending);
      if (order !== 0) return order;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

/**
 * Parses `sort=name,-createdAt`. Each field at most once (so at most the eight fields): a
 * repeated key changes no order but multiplied the cost of every comparison.
 */
export function parseSort(text: string | null): SortKey[] {
  if (text === null || text === '') return [{ field: 'createdAt', descending: true }];
  const keys: SortKey[] = [];
  for (const part of text.split(',')) {
    const descending = part.startsWith('-');
    const name = descending ? part.slice(1) : part;
    const field = SORT_FIELDS.find((known) => known === name);
    if (field === undefined) {
      throw invalidRequest([{ field: 'sort', message: `unknown sort field ${JSON.stringify(name)}; allowed: ${SORT_FIELDS.join(', ')}` }]);
    }
    if (keys.some((key) => key.field === field)) {
      throw invalidRequest([{ field: 'sort', message: `${field} appears more than once; name each field at most once` }]);
    }
    keys.push({ field, descending });
  }
  return keys;
}

// The cursor names the last item of a page by its sort values and id, plus the sort it belongs to.
interface Cursor {
  s: string;
  v: SortValue[];
  id: string;
}

const sortSignature = (sort: SortKey[]) => sort.map((k) => (k.descending ? '-' : '') + k.field).join(',');

function encodeCursor(sort: SortKey[], record: Readonly<TokenSummary>, now: number): string {
  const cursor: Cursor = { s: sortSignature(sort), v: sort.map((k) => sortValueOf(record, k.field, now)), id: record.id };
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string, sort: SortKey[]): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (cursor.s === sortSignature(sort) && Array.isArray(cursor.v) && typeof cursor.id === 'string') return cursor;
  } catch {
    // fall through to the 400
  }
  throw invalidRequest([{ field: 'cursor', message: 'not a cursor from this listing (the sort must stay the same)' }]);
}

/**
 * Filters, sorts and pages tokens in one pass: matches are counted and only the best `limit`
 * after the cursor are kept in order (insertion into a short sorted array), so a page costs
 * O(n log limit) rather than a sort of every match.
 */
export function queryTokens(
  all: Iterable<Readonly<TokenSummary>>,
  query: TokenQuery,
  isVisible: (record: Readonly<TokenSummary>) => boolean,
  now: number,
  exactId?: string,
): TokenPage {
  const compare = makeComparator(query.sort, now);
  const needle = query.q?.toLowerCase();
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.sort);
  const page: Readonly<TokenSummary>[] = [];
  let total = 0;
  for (const record of all) {
    if (!isVisible(record)) continue;
    if (exactId !== undefined) {
      if (record.id !== exactId) continue;
    } else if (needle !== undefined && !matchesText(record, needle)) continue;
    if (query.kind !== undefined && record.kind !== query.kind) continue;
    if (query.repository !== undefined && record.repository !== query.repository) continue;
    if (query.user !== undefined && record.user !== query.user) continue;
    if (query.status !== undefined && shownStatusAt(record, now) !== query.status) continue;
    if (
      query.label !== undefined &&
      (record.labels === undefined || !Object.hasOwn(record.labels, query.label.key) || record.labels[query.label.key] !== query.label.value)
    )
      continue;
    if (query.expiresBefore !== undefined && (record.expiresAt === null || record.expiresAt > query.expiresBefore || shownStatusAt(record, now) !== 'active'))
      continue;
    total++;
    if (after !== undefined && compareToCursor(record, after, query.sort, now) <= 0) continue;
    if (page.length === query.limit + 1 && compare(record, page[page.length - 1]!) >= 0) continue;
    insertSorted(page, record, compare);
    if (page.length > query.limit + 1) page.pop();
  }
  const hasMore = page.length > query.limit;
  if (hasMore) page.pop();
  const last = page[page.length - 1];
  return { items: page, total, nextCursor: hasMore && last ? encodeCursor(query.sort, last, now) : null };
}

function matchesText(record: Readonly<TokenSummary>, needle: string): boolean {
  return (
    record.name.toLowerCase().includes(needle) ||
    record.prefix.toLowerCase().includes(needle) ||
    record.repository.includes(needle) ||
    record.id.includes(needle) ||
    record.user?.includes(needle) ||
    (record.labels !== undefined && matchesLabels(record.labels, needle))
  );
}

/** A label matches as `key`, `value` or `key: value` / `key=value` text. */
function matchesLabels(labels: Readonly<Record<string, string>>, needle: string): boolean {
  for (const key of Object.keys(labels)) {
    const value = labels[key]!.toLowerCase();
    if (key.includes(needle) || value.includes(needle) || `${key}: ${value}`.includes(needle) || `${key}=${value}`.includes(needle)) return true;
  }
  return false;
}

function insertSorted(
  page: Readonly<TokenSummary>[],
  record: Readonly<TokenSummary>,
  compare: (a: Readonly<TokenSummary>, b: Readonly<TokenSummary>) => number,
) {
  let lo = 0;
  let hi = page.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(page[mid]!, record) <= 0) lo = mid + 1;
    else hi = mid;
  }
  page.splice(lo, 0, record);
}

/** Orders a record against the cursor position: > 0 when the record comes after it. */
function compareToCursor(record: Readonly<TokenSummary>, cursor: Cursor, sort: SortKey[], now: number): number {
  for (let i = 0; i < sort.length; i++) {
    const key = sort[i]!;
    const order = compareValues(sortValueOf(record, key.field, now), cursor.v[i] ?? null, key.descending);
    if (order !== 0) return order;
  }
  return record.id < cursor.id ? -1 : record.id > cursor.id ? 1 : 0;
}
