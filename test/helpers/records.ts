import type { HistoryEntry, TokenRecord } from '../../src/tokens/record.js';
import { generateSecret, hashSecret, idFromHash, secretPrefix } from '../../src/tokens/secret.js';

/** A fresh token record (and its secret) with sensible defaults, for store and auth tests. */
export function makeToken(over: Partial<TokenRecord> = {}): { record: TokenRecord; secret: string } {
  const kind = over.kind ?? 'repository';
  const secret = generateSecret(kind);
  const hash = hashSecret(secret);
  const record: TokenRecord = {
    id: idFromHash(hash),
    hash,
    kind,
    name: 'test token',
    repository: 'sensors',
    user: null,
    rights: ['query', 'stream'],
    status: 'active',
    prefix: secretPrefix(secret),
    createdAt: 1_700_000_000_000,
    createdBy: 'tester',
    updatedAt: 1_700_000_000_000,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    lastUsedIp: null,
    lastUsedUserAgent: null,
    version: 1,
    parentId: null,
    ...over,
  };
  return { record, secret };
}

export function entry(action: HistoryEntry['action'], at = 1_700_000_000_000): HistoryEntry {
  return { at, actor: 'tester', action, changes: {} };
}
