import type { Limits, Right, TokenRecord, TokenSummary } from '../../tokens/record.js';
import type { WriteOutcome } from '../token-store.js';

// How a token is written into one Redis hash and read back, and what the scripts answer.

const optionalTime = (value: string | undefined): number | null => (value ? Number(value) : null);

/** A token as the fields of one Redis hash (null is the empty string), less lastUsedAt and version. */
export function toFields(record: TokenRecord): string[] {
  return [
    'id',
    record.id,
    'hash',
    record.hash,
    'kind',
    record.kind,
    'name',
    record.name,
    'repository',
    record.repository,
    'user',
    record.user ?? '',
    'rights',
    record.rights.join(','),
    'status',
    record.status,
    'prefix',
    record.prefix,
    'createdAt',
    String(record.createdAt),
    'createdBy',
    record.createdBy,
    'updatedAt',
    String(record.updatedAt),
    'expiresAt',
    record.expiresAt === null ? '' : String(record.expiresAt),
    'revokedAt',
    record.revokedAt === null ? '' : String(record.revokedAt),
    'parentId',
    record.parentId ?? '',
    'lent',
    record.lent === undefined ? '' : record.lent ? '1' : '0',
    'budgetId',
    record.budgetId ?? '',
    'limits',
    record.limits ? JSON.stringify(record.limits) : '',
    'rolledTo',
    record.rolledTo ?? '',
    'selfRotate',
    record.selfRotate ? '1' : '',
    'allowFrom',
    record.allowFrom && record.allowFrom.length > 0 ? record.allowFrom.join(',') : '',
    'labels',
    record.labels && Object.keys(record.labels).length > 0 ? JSON.stringify(record.labels) : '',
    'organization',
    record.organization ?? '',
  ];
}

/** Every field, for a new token. */
export const allFields = (record: TokenRecord): string[] => [
  ...toFields(record),
  'lastUsedAt',
  record.lastUsedAt === null ? '' : String(record.lastUsedAt),
  'lastUsedIp',
  record.lastUsedIp ?? '',
  'lastUsedUserAgent',
  record.lastUsedUserAgent ?? '',
  'version',
  String(record.version),
];

/** Kind, status and expiry of a token after a change, as script arguments ('' for none). */
export const stateArgs = (record: TokenRecord | undefined): [string, string, string] => [
  record?.kind ?? '',
  record?.status ?? '',
  record === undefined || record.expiresAt === null ? '' : String(record.expiresAt),
];

/** What a compare-and-set script answered. */
export const outcomeOf = (reply: 0 | -1 | [string, string]): WriteOutcome => (reply === 0 ? 'missing' : reply === -1 ? 'stale' : 'written');

export function fromFields(fields: Record<string, string>): TokenRecord | undefined {
  if (!fields.id) return undefined;
  return {
    id: fields.id,
    hash: fields.hash ?? '',
    kind: fields.kind === 'personal' ? 'personal' : 'repository',
    name: fields.name ?? '',
    repository: fields.repository ?? '',
    user: fields.user ? fields.user : null,
    rights: fields.rights ? (fields.rights.split(',') as Right[]) : [],
    status: fields.status === 'revoked' ? 'revoked' : 'active',
    prefix: fields.prefix ?? '',
    createdAt: Number(fields.createdAt),
    createdBy: fields.createdBy ?? '',
    updatedAt: Number(fields.updatedAt),
    expiresAt: optionalTime(fields.expiresAt),
    revokedAt: optionalTime(fields.revokedAt),
    lastUsedAt: optionalTime(fields.lastUsedAt),
    lastUsedIp: fields.lastUsedIp ? fields.lastUsedIp : null,
    lastUsedUserAgent: fields.lastUsedUserAgent ? fields.lastUsedUserAgent : null,
    version: Number(fields.version ?? 0),
    parentId: fields.parentId ? fields.parentId : null,
    // Absent in hashes written before they existed, as in the other stores.
    ...(fields.lent ? { lent: fields.lent === '1' } : {}),
    ...(fields.budgetId ? { budgetId: fields.budgetId } : {}),
    // Absent when none, as a token made without limits is in the other stores.
    ...(fields.limits ? { limits: JSON.parse(fields.limits) as Limits } : {}),
    ...(fields.rolledTo ? { rolledTo: fields.rolledTo } : {}),
    ...(fields.selfRotate === '1' ? { selfRotate: true } : {}),
    ...(fields.allowFrom ? { allowFrom: fields.allowFrom.split(',') } : {}),
    ...(fields.labels ? { labels: JSON.parse(fields.labels) as Record<string, string> } : {}),
    ...(fields.organization ? { organization: fields.organization } : {}),
  };
}

/** The hash fields the list index keeps (TokenSummary), in the order HMGET answers them. */
export const SUMMARY_FIELDS = [
  'id',
  'kind',
  'name',
  'prefix',
  'repository',
  'user',
  'status',
  'createdAt',
  'expiresAt',
  'lastUsedAt',
  'parentId',
  'lent',
  'budgetId',
  'rolledTo',
  'labels',
] as const;

export function summaryFrom(values: Array<string | null>): TokenSummary | undefined {
  const [id, kind, name, prefix, repository, user, status, createdAt, expiresAt, lastUsedAt, parentId, lent, budgetId, rolledTo, labels] = values;
  if (!id) return undefined;
  return {
    id,
    kind: kind === 'personal' ? 'personal' : 'repository',
    name: name ?? '',
    prefix: prefix ?? '',
    repository: repository ?? '',
    user: user ? user : null,
    status: status === 'revoked' ? 'revoked' : 'active',
    createdAt: Number(createdAt),
    expiresAt: optionalTime(expiresAt ?? undefined),
    lastUsedAt: optionalTime(lastUsedAt ?? undefined),
    parentId: parentId ? parentId : null,
    ...(lent ? { lent: lent === '1' } : {}),
    ...(budgetId ? { budgetId } : {}),
    ...(rolledTo ? { rolledTo } : {}),
    ...(labels ? { labels: JSON.parse(labels) as Record<string, string> } : {}),
  };
}
