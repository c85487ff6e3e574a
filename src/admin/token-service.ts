import { effectiveRights } from '../auth/authorize.js';
import type { Clock } from '../clock.js';
import { parseDuration } from '../config/duration.js';
import type { Invalidation, TokenStore } from '../store/token-store.js';
import { ALL_REPOSITORIES, statusAt, toView, type HistoryEntry, type Right, type TokenRecord, type TokenView } from '../tokens/record.js';
import { generateSecret, hashSecret, idFromHash, parseSecret, secretPrefix } from '../tokens/secret.js';
import { administers, type Caller } from './caller.js';
import { AdminError, conflict, forbidden, invalidRequest, notFound } from './errors.js';
import type { CreateTokenBody, EditTokenBody } from './schemas.js';
import { queryTokens, type TokenQuery } from './token-query.js';

export interface CreatedToken {
  token: TokenView;
  /** Shown once, here, and never stored. */
  secret: string;
  /** Personal tokens: the URI a phone registers with, and it as an SVG QR code data URL. */
  connectUri?: string;
  qr?: string;
}

export interface BulkDeleteResult {
  deleted: string[];
  failed: Array<{ id: string; reason: 'not_found' | 'active' | 'forbidden' }>;
}

/** Drops cached tokens in this process at once (the store's channel tells the other replicas). */
export interface LocalEviction {
  apply(message: Invalidation): void;
}

export interface TokenServiceOptions {
  store: TokenStore;
  clock: Clock;
  eviction: LocalEviction;
  /** `admin.connectUri`, with `{host}` and `{secret}` placeholders. */
  connectUri: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Token lifecycle rules, independent of HTTP: who may see and change which token, history for
 * every change, and eviction from every cache when access shrinks (SPEC §4, §5).
 */
export class TokenService {
  private readonly store: TokenStore;
  private readonly clock: Clock;

  constructor(private readonly options: TokenServiceOptions) {
    this.store = options.store;
    this.clock = options.clock;
  }

  /** Whether the caller may see and act on a token at all. */
  canSee(caller: Caller, record: Readonly<TokenRecord>): boolean {
    if (caller.adminScope !== null) return administers(caller, record.repository);
    // Without admin, a personal token manages its own user's personal tokens only.
    const own = caller.identity.record;
    return own.kind === 'personal' && record.kind === 'personal' && record.user === own.user;
  }

  /** Makes a token within the caller's scope; the response holds the secret, once. */
  async create(caller: Caller, body: CreateTokenBody, host: string): Promise<CreatedToken> {
    if (caller.adminScope !== null) {
      if (!administers(caller, body.repository)) {
        throw forbidden(`repository: this token administers ${caller.adminScope}, not ${body.repository}`);
      }
    } else {
      this.checkSelfService(caller, body.kind, body.user, body.repository, body.rights);
    }
    return this.createUnchecked(caller.actor, body, host);
  }

  /** A personal token without admin may make personal tokens for its own user, no wider than itself. */
  private checkSelfService(caller: Caller, kind: string, user: string | undefined, repository: string, rights: readonly Right[]): void {
    const own = caller.identity.record;
    if (own.kind !== 'personal') throw forbidden('this token holds no admin right');
    if (kind !== 'personal' || user !== own.user) throw forbidden(`user: a personal token may only make personal tokens for ${own.user}`);
    if (own.repository !== ALL_REPOSITORIES && repository !== own.repository) {
      throw forbidden(`repository: this token covers ${own.repository} only`);
    }
    const allowed = this.allowedRights(caller, repository);
    const extra = rights.filter((right) => !allowed.includes(right));
    if (extra.length > 0) throw forbidden(`rights: ${extra.join(', ')} exceed this token's own effective rights`);
  }

  private allowedRights(caller: Caller, repository: string): Right[] {
    if (repository !== ALL_REPOSITORIES) return effectiveRights(caller.identity, repository);
    const granted = new Set(Object.values(caller.identity.grants ?? {}).flat());
    return caller.identity.record.rights.filter((right) => granted.has(right));
  }

  /** Makes a token without a caller's scope check: for `tollgate init-admin` and the demo. */
  async createUnchecked(actor: string, body: CreateTokenBody, host = 'localhost'): Promise<CreatedToken> {
    const now = this.clock.now();
    if (body.repository !== ALL_REPOSITORIES && !(await this.store.getRepository(body.repository))) {
      throw invalidRequest([{ field: 'repository', message: `no repository named ${body.repository}; create it first` }]);
    }
    if (body.kind === 'personal' && !(await this.store.getUser(body.user!))) {
      throw invalidRequest([{ field: 'user', message: `no user named ${body.user}` }]);
    }
    const expiresAt = expiryFrom(body, now);
    for (;;) {
      const secret = generateSecret(body.kind);
      const hash = hashSecret(secret);
      const record: TokenRecord = {
        id: idFromHash(hash),
        hash,
        kind: body.kind,
        name: body.name,
        repository: body.repository,
        user: body.kind === 'personal' ? body.user! : null,
        rights: [...body.rights],
        status: 'active',
        prefix: secretPrefix(secret),
        createdAt: now,
        createdBy: actor,
        updatedAt: now,
        expiresAt,
        revokedAt: null,
        lastUsedAt: null,
      };
      const changes = {
        kind: { from: null, to: record.kind },
        name: { from: null, to: record.name },
        repository: { from: null, to: record.repository },
        user: { from: null, to: record.user },
        rights: { from: null, to: record.rights },
        expiresAt: { from: null, to: iso(record.expiresAt) },
      };
      // An id is 64 bits of the hash; on the rare collision draw a new secret.
      if (await this.store.createToken(record, { at: now, actor, action: 'created', changes })) {
        const created: CreatedToken = { token: toView(record, now), secret };
        if (record.kind === 'personal') {
          created.connectUri = this.options.connectUri
            .replaceAll('{host}', host)
            .replaceAll('{secret}', encodeURIComponent(secret));
          // Loaded on the first personal token: ~10 MiB a sidecar that never makes one should not carry.
          const { default: QRCode } = await import('qrcode');
          created.qr = `data:image/svg+xml;base64,${Buffer.from(await QRCode.toString(created.connectUri, { type: 'svg' })).toString('base64')}`;
        }
        return created;
      }
    }
  }

  /** Lists what the caller may see. A whole secret in `q` finds its token by hash, never by text. */
  async list(caller: Caller, query: TokenQuery) {
    const now = this.clock.now();
    const exactId = query.q !== undefined && parseSecret(query.q) !== undefined ? idFromHash(hashSecret(query.q)) : undefined;
    const page = queryTokens(await this.store.listTokens(), query, (record) => this.canSee(caller, record), now, exactId);
    return { items: page.items.map((record) => toView(record as TokenRecord, now)), total: page.total, nextCursor: page.nextCursor };
  }

  async get(caller: Caller, id: string): Promise<TokenView> {
    return toView(await this.visible(caller, id), this.clock.now());
  }

  private async visible(caller: Caller, id: string): Promise<TokenRecord> {
    const record = await this.store.getToken(id);
    if (!record) throw notFound(`token ${id}`);
    if (!this.canSee(caller, record)) throw forbidden(`token ${id} is outside this token's scope`);
    return record;
  }

  private requireAdmin(caller: Caller, what: string): void {
    if (caller.adminScope === null) throw forbidden(`${what} needs the admin right`);
  }

  /** Changes name, rights or expiry; any change to rights or expiry is evicted everywhere. */
  async edit(caller: Caller, id: string, body: EditTokenBody): Promise<TokenView> {
    this.requireAdmin(caller, 'editing a token');
    const record = await this.visible(caller, id);
    const now = this.clock.now();
    const next: TokenRecord = { ...record, updatedAt: now };
    const changes: HistoryEntry['changes'] = {};
    if (body.name !== undefined && body.name !== record.name) {
      next.name = body.name;
      changes.name = { from: record.name, to: body.name };
    }
    if (body.rights !== undefined && body.rights.join() !== record.rights.join()) {
      next.rights = [...body.rights];
      changes.rights = { from: record.rights, to: next.rights };
    }
    if (body.expiresAt !== undefined || body.expiresIn !== undefined) {
      const expiresAt = body.expiresAt === null ? null : expiryFrom(body, now);
      if (expiresAt !== record.expiresAt) {
        next.expiresAt = expiresAt;
        changes.expiresAt = { from: iso(record.expiresAt), to: iso(expiresAt) };
      }
    }
    if (Object.keys(changes).length === 0) return toView(record, now);
    await this.write(next, { at: now, actor: caller.actor, action: 'edited', changes });
    if (changes.rights || changes.expiresAt) await this.invalidate({ at: now, type: 'tokens', ids: [id] });
    return toView(next, now);
  }

  async revoke(caller: Caller, id: string): Promise<TokenView> {
    const record = await this.visible(caller, id);
    if (record.status === 'revoked') throw conflict(`token ${id} is already revoked`);
    return this.setStatus(record, 'revoked', caller.actor);
  }

  async restore(caller: Caller, id: string): Promise<TokenView> {
    const record = await this.visible(caller, id);
    if (record.status !== 'revoked') throw conflict(`token ${id} is not revoked`);
    return this.setStatus(record, 'active', caller.actor);
  }

  /** Moves a token between active and revoked, with history; evicted either way (a cached "revoked" must not outlive a restore). */
  private async setStatus(record: TokenRecord, status: 'active' | 'revoked', actor: string): Promise<TokenView> {
    const now = this.clock.now();
    const next: TokenRecord = { ...record, status, revokedAt: status === 'revoked' ? now : null, updatedAt: now };
    const action = status === 'revoked' ? 'revoked' : 'restored';
    await this.write(next, { at: now, actor, action, changes: { status: { from: record.status, to: status } } });
    await this.invalidate({ at: now, type: 'tokens', ids: [record.id] });
    return toView(next, now);
  }

  /** Deletes a revoked (or expired) token; its history stays. */
  async remove(caller: Caller, id: string): Promise<void> {
    this.requireAdmin(caller, 'deleting a token');
    const record = await this.visible(caller, id);
    const now = this.clock.now();
    if (statusAt(record, now) === 'active') throw conflict(`token ${id} is active; revoke it first`);
    if (!(await this.store.deleteToken(id, { at: now, actor: caller.actor, action: 'deleted', changes: {} }))) throw notFound(`token ${id}`);
    await this.invalidate({ at: now, type: 'tokens', ids: [id] });
  }

  /** Deletes what it may and reports each failure with its reason. */
  async removeMany(caller: Caller, ids: string[]): Promise<BulkDeleteResult> {
    this.requireAdmin(caller, 'deleting tokens');
    const result: BulkDeleteResult = { deleted: [], failed: [] };
    for (const id of new Set(ids)) {
      try {
        await this.remove(caller, id);
        result.deleted.push(id);
      } catch (err) {
        if (!(err instanceof AdminError)) throw err;
        result.failed.push({ id, reason: err.status === 404 ? 'not_found' : err.status === 409 ? 'active' : 'forbidden' });
      }
    }
    return result;
  }

  /** History, oldest first, also after delete (scope judged from the token or its creation entry). */
  async history(caller: Caller, id: string): Promise<HistoryEntry[]> {
    const record = await this.store.getToken(id);
    const entries = await this.store.history(id);
    if (!record && entries.length === 0) throw notFound(`token ${id}`);
    const created = entries.find((entry) => entry.action === 'created')?.changes;
    const subject = record ?? {
      repository: String(created?.repository?.to ?? ''),
      kind: created?.kind?.to as TokenRecord['kind'],
      user: (created?.user?.to ?? null) as string | null,
    };
    if (!this.canSee(caller, subject as TokenRecord)) throw forbidden(`token ${id} is outside this token's scope`);
    return entries;
  }

  /** Revokes every active personal token of a user (the user is being deleted). */
  async revokeAllOf(actor: string, user: string): Promise<number> {
    const doomed = [...(await this.store.listTokens())].filter((r) => r.user === user && r.status === 'active').map((r) => r.id);
    for (const id of doomed) {
      // Listed records may lag the store by a write: read each one fresh before changing it.
      const record = await this.store.getToken(id);
      if (record?.status === 'active') await this.setStatus(record, 'revoked', actor);
    }
    return doomed.length;
  }

  private async write(record: TokenRecord, entry: HistoryEntry): Promise<void> {
    if (!(await this.store.updateToken(record, entry))) throw notFound(`token ${record.id}`);
  }

  /** Evicts here at once, then tells the other replicas through the store. */
  async invalidate(message: Invalidation): Promise<void> {
    this.options.eviction.apply(message);
    await this.store.publish(message);
  }
}

function expiryFrom(body: { expiresIn?: string | undefined; expiresAt?: string | null | undefined }, now: number): number | null {
  if (body.expiresIn !== undefined) return now + parseDuration(body.expiresIn)!;
  if (body.expiresAt !== undefined && body.expiresAt !== null) {
    const at = Date.parse(body.expiresAt);
    if (at <= now) throw invalidRequest([{ field: 'expiresAt', message: 'expected a time in the future' }]);
    return at;
  }
  return null;
}
