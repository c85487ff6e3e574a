import type { Clock } from '../clock.js';
import { parseDuration } from '../config/duration.js';
import type { Directory, Invalidation, Leases, TokenRecords } from '../store/token-store.js';

/** The store roles token lifecycle uses: the tokens, the directory (grants), name claims. */
export type TokenServiceStore = TokenRecords & Directory & Leases;

import { effectiveLimits, hasLimits, type Limits, limitBeyond } from '../limits/limits.js';
import {
  ALL_REPOSITORIES,
  budgetIdOf,
  DEFAULT_ORGANIZATION,
  type HistoryEntry,
  isLent,
  iso,
  nameScopeOf,
  organizationOf,
  organizationScope,
  scopedOrganization,
  statusAt,
  type TokenRecord,
} from '../tokens/record.js';
import { generateSecret, hashesEqual, hashSecret, idFromHash, parseSecret, secretPrefix } from '../tokens/secret.js';
import type { Caller } from './caller.js';
import { connectInfo } from './connect-uri.js';
import { AdminError, conflict, forbidden, invalidRequest, notFound, PROBLEM } from './errors.js';
import type { Invalidator } from './invalidator.js';
import {
  isLentCaller,
  limitsCeiling,
  makesLent,
  mayActAs,
  reaches,
  rightsBeyond,
  rollsItself,
  type Subject,
  type TokenAction,
  tokenActions,
  withinLine,
} from './policy.js';
import type { CallerTokenView, CreateTokenBody, EditTokenBody, TokenView } from './schemas.js';
import { describeScope, holderOf } from './token-names.js';
import { queryTokens, type TokenQuery } from './token-query.js';
import { outcomeOf, toTheEnd, type UnconfirmedWrites } from './unconfirmed-writes.js';
import { viewOfToken } from './views.js';

export interface CreatedToken {
  token: TokenView;
  /** Shown once, here, and never stored. */
  secret: string;
  /** Personal tokens: the URI a phone registers with, and it as an SVG QR code data URL. */
  connectUri?: string;
  qr?: string;
}

/** A new token as the API answers its caller: with what the caller may do to it. */
export interface CreatedTokenView extends Omit<CreatedToken, 'token'> {
  token: CallerTokenView;
}

export interface BulkDeleteResult {
  deleted: string[];
  failed: Array<{ id: string; reason: 'not_found' | 'active' | 'forbidden' }>;
}

export interface TokenServiceOptions {
  store: TokenServiceStore;
  clock: Clock;
  invalidator: Invalidator;
  /** `admin.connectUri`, with `{host}` and `{secret}` placeholders. Set anew by a reload (`retune`). */
  connectUri: string;
  /** `admin.maxTokenLifetime` in ms: no expiry set through the API lies further out (null: no cap). */
  maxLifetimeMs?: number | null;
}

/** Why a bulk delete left a token, by the stable problem type of its refusal. */
const BULK_REASONS = new Map<string, BulkDeleteResult['failed'][number]['reason']>([
  [PROBLEM.notFound, 'not_found'],
  [PROBLEM.conflict, 'active'],
]);

/** The history actor of a revocation by leak report. */
const LEAK_ACTOR = 'leak-report';

/** The longest lent line followed up or down (a cycle in a damaged store ends there too). */
const MAX_LINE = 64;

/** Why a lent token was revoked with its maker: what happened to the maker. */
type MakerEnd = 'revoked' | 'deleted' | 'reported leaked' | 'rolled with no overlap';

/** How a token came to be, for createUnchecked. */
interface Made {
  /** The maker it is lent by (with `lent: true`), else null. */
  parentId: string | null;
  lent?: boolean;
  /** A roll: the budget the old token spent from, carried over. */
  budgetId?: string;
  expiresAt?: number | null;
  rolledFrom?: string;
}

/** Where a token belongs: the organization of its repository or `@org` scope (undefined for `*`, or `default`, written as before). */
type Belonging = { organization?: string };

/** How long a create or rename holds its claim on a name across replicas (it lets go when done). */
const NAME_CLAIM_MS = 10_000;

/** How often a change re-reads and re-decides when other changes keep landing first. */
const MAX_ATTEMPTS = 8;

/** A decided change: the record to write over the version it was decided on, and its history. */
interface Decided {
  next: TokenRecord;
  entry: HistoryEntry;
}

/**
 * Token lifecycle rules, independent of HTTP: scope from the admin policy (policy.ts), history
 * for every change, every change a compare-and-set so no concurrent edit can undo a revocation,
 * and eviction from every cache when access shrinks (docs/stores.md, docs/admin-api.md).
 */
export class TokenService {
  private readonly store: TokenServiceStore;
  private readonly clock: Clock;
  /** Names being created or renamed in this process right now (scope and name). */
  private readonly claims = new Set<string>();

  constructor(private readonly options: TokenServiceOptions) {
    this.store = options.store;
    this.clock = options.clock;
  }

  /** A reload set `admin.connectUri` or `admin.maxTokenLifetime`: tokens made from now on read them. */
  retune(settings: Pick<TokenServiceOptions, 'connectUri' | 'maxLifetimeMs'>): void {
    Object.assign(this.options, settings);
  }

  /** Whether the caller may see a token at all. */
  canSee(caller: Caller, record: Subject): boolean {
    return reaches(caller, 'read', record);
  }

  /**
   * A token as the API answers this caller: its view, and the actions the caller may take on it
   * now (policy.ts `tokenActions`, from the rules the methods below enforce).
   */
  async viewFor(caller: Caller, record: TokenRecord): Promise<CallerTokenView> {
    return (await this.viewsFor(caller, [record]))[0]!;
  }

  /** viewFor over a page of tokens: the makers their restores depend on are read in one batch. */
  private async viewsFor(caller: Caller, records: readonly TokenRecord[]): Promise<CallerTokenView[]> {
    const now = this.clock.now();
    // Only what the answer depends on is read: a restore of a lent token needs its maker, a lent
    // caller's bound the token's line.
    const makerIds = records.filter((record) => isLent(record) && record.status === 'revoked' && record.parentId !== null).map((record) => record.parentId!);
    const makers = new Map((makerIds.length === 0 ? [] : await this.store.getTokens(makerIds)).map((maker, i) => [makerIds[i]!, maker]));
    return Promise.all(
      records.map(async (record) => {
        const maker = record.parentId === null ? undefined : makers.get(record.parentId);
        const line = {
          makers: isLentCaller(caller) ? await this.makersOf(record) : [],
          isMakerActive: maker !== undefined && statusAt(maker, now) === 'active',
        };
        return { ...viewOfToken(record, now), actions: tokenActions(caller, record, now, line) };
      }),
    );
  }

  private async createdFor(caller: Caller, created: CreatedToken): Promise<CreatedTokenView> {
    const record = await this.store.getToken(created.token.id);
    return { ...created, token: record === undefined ? { ...created.token, actions: [] } : await this.viewFor(caller, record) };
  }

  /** Makes a token within the caller's scope; the response holds the secret, once. */
  async create(caller: Caller, body: CreateTokenBody, host: string): Promise<CreatedTokenView> {
    return this.createdFor(caller, await this.createChecked(caller, body, host));
  }

  private async createChecked(caller: Caller, body: CreateTokenBody, host: string): Promise<CreatedToken> {
    const subject = { kind: body.kind, repository: body.repository, user: body.kind === 'personal' ? (body.user ?? null) : null };
    if (!reaches(caller, 'create', subject)) throw forbidden(`repository: this token may not make ${body.kind} tokens for ${body.repository}`);
    if (subject.user !== null && !mayActAs(caller, subject.user)) {
      throw forbidden(`user: only an admin of * makes personal tokens for another user (${subject.user})`);
    }
    const extra = rightsBeyond(caller, { ...subject, rights: body.rights });
    if (extra.length > 0) throw forbidden(`rights: ${extra.join(', ')} exceed this token's own effective rights`);
    const maker = caller.identity.record;
    const lent = makesLent(caller, body.lend === true);
    const now = this.clock.now();
    const field = body.expiresIn !== undefined ? 'expiresIn' : 'expiresAt';
    const asked = expiryFrom(body, now);
    if (!lent) {
      // Independent: it belongs to its repository or user and outlives its maker.
      await this.checkLimits(caller, body.limits, { lent, repository: body.repository, maker: undefined });
      return this.createUnchecked(caller.actor, body, host, { parentId: null, lent, expiresAt: this.capped(asked, now, field) });
    }
    // Lent: never outlives, outreaches or outspends its maker.
    const expiresAt = this.capped(asked ?? maker.expiresAt, now, field);
    checkWithinParent(expiresAt, maker, field);
    await this.checkLimits(caller, body.limits, { lent, repository: body.repository, maker });
    return this.createUnchecked(caller.actor, body, host, { parentId: maker.id, lent, expiresAt });
  }

  /** Refuses limits beyond the ceiling policy.ts sets for this caller and token, naming the limit. */
  private async checkLimits(
    caller: Caller,
    limits: Limits | null | undefined,
    token: { lent: boolean; repository: string; maker: TokenRecord | undefined },
  ): Promise<void> {
    // None of its own: its repository's defaults apply, and a lent token spends its maker's budget too.
    if (!hasLimits(limits)) return;
    const ceiling = limitsCeiling(caller, {
      lent: token.lent,
      makerLimits: token.lent && token.maker !== undefined ? await this.effectiveLimitsOf(token.maker) : undefined,
      repositoryDefaults: token.lent ? undefined : await this.repositoryDefaults(token.repository),
    });
    if (ceiling === undefined) return;
    const beyond = limitBeyond(limits, ceiling.bound, ceiling.mustSet);
    if (beyond === undefined) return;
    const whose =
      ceiling.of === 'maker'
        ? `its maker's limit (${beyond.bound})`
        : `the default of repository ${token.repository} (${beyond.bound}); only an admin of * sets more`;
    throw forbidden(`limits.${beyond.name}: must be ${ceiling.mustSet ? 'set, and ' : ''}no more than ${whose}`);
  }

  /** A token's own limits, else its repository's defaults. */
  private async effectiveLimitsOf(record: TokenRecord): Promise<Limits | undefined> {
    return effectiveLimits(record.limits, hasLimits(record.limits) ? undefined : await this.repositoryDefaults(record.repository));
  }

  private async repositoryDefaults(repository: string): Promise<Limits | undefined> {
    if (repository === ALL_REPOSITORIES) return undefined;
    const limits = (await this.store.getRepository(repository))?.limits;
    return hasLimits(limits) ? limits : undefined;
  }

  /** The lent line above a token, nearest maker first (empty for an independent token). */
  private async makersOf(record: Pick<TokenRecord, 'parentId' | 'lent'>): Promise<string[]> {
    const makers: string[] = [];
    let at: Pick<TokenRecord, 'parentId' | 'lent'> | undefined = record;
    while (at !== undefined && isLent(at) && at.parentId !== null && makers.length < MAX_LINE && !makers.includes(at.parentId)) {
      makers.push(at.parentId);
      at = await this.store.getToken(at.parentId);
    }
    return makers;
  }

  /** Whether `action` on `record` is within the caller's line (always, for a caller that is not lent). */
  private async isWithinLine(caller: Caller, action: TokenAction, record: TokenRecord): Promise<boolean> {
    if (!isLentCaller(caller)) return true;
    return withinLine(caller, action, record, await this.makersOf(record));
  }

  private async requireLine(caller: Caller, action: TokenAction, record: TokenRecord): Promise<void> {
    if (await this.isWithinLine(caller, action, record)) return;
    throw forbidden(`a lent token may ${action} only tokens of its own line (itself and the tokens it lent); token ${record.id} is not`);
  }

  /** Makes a token without a caller's scope check: for `tollgate init-admin` and the demo. */
  async createUnchecked(actor: string, body: CreateTokenBody, host = 'localhost', made: Made = { parentId: null }): Promise<CreatedToken> {
    const now = this.clock.now();
    const belonging = await this.belongingOf(body.repository);
    if (body.kind === 'personal' && !(await this.store.getUser(body.user!))) {
      throw invalidRequest([{ field: 'user', message: `no user named ${body.user}` }]);
    }
    const expiresAt = made.expiresAt !== undefined ? made.expiresAt : expiryFrom(body, now);
    const subject = { kind: body.kind, repository: body.repository, user: body.kind === 'personal' ? body.user! : null };
    // A roll's new token takes the name of the token it replaces, which keeps it through the overlap.
    return this.withName(subject, body.name, made.rolledFrom === undefined ? [] : [made.rolledFrom], () =>
      this.insert(actor, body, host, made, expiresAt, belonging),
    );
  }

  /** The organization a new token on `scope` belongs to; 400 naming `repository` when the repository or organization does not exist. */
  private async belongingOf(scope: string): Promise<Belonging> {
    if (scope === ALL_REPOSITORIES) return {};
    const organization = scopedOrganization(scope);
    if (organization !== undefined) {
      if (!(await this.store.getOrganization(organization)))
        throw invalidRequest([{ field: 'repository', message: `no organization named ${organization}; create it first` }]);
      return organization === DEFAULT_ORGANIZATION ? {} : { organization };
    }
    const repository = await this.store.getRepository(scope);
    if (!repository) throw invalidRequest([{ field: 'repository', message: `no repository named ${scope}; create it first` }]);
    return repository.organization === undefined || repository.organization === DEFAULT_ORGANIZATION ? {} : { organization: repository.organization };
  }

  /**
   * Runs `work` (a create or a rename) while holding `name` in the subject's scope: claimed in this
   * process and, on a store shared by replicas, in the store, then checked free among the tokens
   * not deleted (`except`: tokens that may keep it). A name taken is a 409 naming `name`.
   */
  private async withName<T>(subject: Subject, name: string, except: readonly string[], work: () => Promise<T>): Promise<T> {
    const scope = nameScopeOf(subject);
    const taken = (by?: string) =>
      conflict(
        `name: ${describeScope(scope)} already has a token named ${JSON.stringify(name)}${by ? ` (${by})` : ' (being made right now)'}; names are unique per ${subject.kind === 'personal' ? 'user' : 'repository'}`,
      );
    const key = `${scope}\n${name}`;
    if (this.claims.has(key)) throw taken();
    this.claims.add(key);
    let claimed = false;
    try {
      if (this.store.claimName) {
        claimed = await this.store.claimName(scope, name, NAME_CLAIM_MS);
        if (!claimed) throw taken();
      }
      const holder = holderOf(await this.store.listTokens(), scope, name, except);
      if (holder !== undefined) throw taken(`token ${holder.id}`);
      return await work();
    } finally {
      this.claims.delete(key);
      if (claimed) await this.store.releaseName?.(scope, name).catch(() => undefined);
    }
  }

  private async insert(actor: string, body: CreateTokenBody, host: string, made: Made, expiresAt: number | null, belonging: Belonging): Promise<CreatedToken> {
    const now = this.clock.now();
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
        lastUsedIp: null,
        lastUsedUserAgent: null,
        version: 1,
        parentId: made.parentId,
        ...(made.lent !== undefined ? { lent: made.lent } : {}),
        ...(made.budgetId !== undefined ? { budgetId: made.budgetId } : {}),
        ...(body.limits !== undefined ? { limits: body.limits } : {}),
        ...(body.selfRotate === true ? { selfRotate: true } : {}),
        ...(body.allowFrom !== undefined && body.allowFrom.length > 0 ? { allowFrom: [...body.allowFrom] } : {}),
        ...(body.labels !== undefined && Object.keys(body.labels).length > 0 ? { labels: { ...body.labels } } : {}),
        ...belonging,
      };
      const changes = {
        kind: { from: null, to: record.kind },
        name: { from: null, to: record.name },
        repository: { from: null, to: record.repository },
        user: { from: null, to: record.user },
        rights: { from: null, to: record.rights },
        expiresAt: { from: null, to: iso(record.expiresAt) },
        parentId: { from: null, to: record.parentId },
        ...(made.lent !== undefined ? { lent: { from: null, to: made.lent } } : {}),
        ...(record.limits ? { limits: { from: null, to: record.limits } } : {}),
        ...(record.selfRotate ? { selfRotate: { from: null, to: true } } : {}),
        ...(record.allowFrom ? { allowFrom: { from: null, to: record.allowFrom } } : {}),
        ...(record.labels ? { labels: { from: null, to: record.labels } } : {}),
        ...(made.rolledFrom === undefined ? {} : { rolledFrom: { from: null, to: made.rolledFrom } }),
      };
      // An id is 64 bits of the hash; on the rare collision draw a new secret.
      if (await this.store.createToken(record, { at: now, actor, action: made.rolledFrom === undefined ? 'created' : 'rolled', changes })) {
        const created: CreatedToken = { token: viewOfToken(record, now), secret };
        if (record.kind === 'personal') Object.assign(created, await connectInfo(this.options.connectUri, host, secret));
        return created;
      }
    }
  }

  /**
   * Lists what the caller may see. A whole secret in `q` finds its token by hash, never by text.
   * The search runs over the store's summaries; only the page's full records are read, by id
   * (one that went in between is left out; the next listing no longer counts it).
   */
  async list(caller: Caller, query: TokenQuery) {
    const now = this.clock.now();
    const exactId = query.q !== undefined && parseSecret(query.q) !== undefined ? idFromHash(hashSecret(query.q)) : undefined;
    const inOrganization = await this.organizationFilter(query.organization);
    const page = queryTokens(await this.store.listTokens(), query, (record) => this.canSee(caller, record) && inOrganization(record), now, exactId);
    const records = await this.store.getTokens(page.items.map((item) => item.id));
    const items = records.filter((record): record is TokenRecord => record !== undefined && this.canSee(caller, record));
    return { items: await this.viewsFor(caller, items), total: page.total, nextCursor: page.nextCursor };
  }

  /** `organization=`: tokens on its repositories or its `@org` scope (a token on `*` is in none). */
  private async organizationFilter(organization: string | undefined): Promise<(record: Pick<TokenRecord, 'repository'>) => boolean> {
    if (organization === undefined) return () => true;
    const inside = new Set((await this.store.listRepositories()).filter((repo) => organizationOf(repo) === organization).map((repo) => repo.name));
    return (record) => inside.has(record.repository) || record.repository === organizationScope(organization);
  }

  async get(caller: Caller, id: string): Promise<CallerTokenView> {
    return this.viewFor(caller, await this.reachable(caller, 'read', id));
  }

  private async reachable(caller: Caller, action: TokenAction, id: string): Promise<TokenRecord> {
    const record = await this.store.getToken(id);
    if (!record) throw notFound(`token ${id}`);
    this.requireReach(caller, action, record);
    return record;
  }

  private requireReach(caller: Caller, action: TokenAction, record: Subject & { id: string }): void {
    if (reaches(caller, action, record)) return;
    // A caller that may read a token but not do this to it learns why; others learn only "outside".
    if (action !== 'read' && reaches(caller, 'read', record)) throw forbidden(`${action} of token ${record.id} needs the admin right on ${record.repository}`);
    throw forbidden(`token ${record.id} is outside this token's scope`);
  }

  /**
   * Reads the token, lets `decide` judge it (scope included) and writes the result as a
   * compare-and-set over the version it read; when another change landed first it reads and
   * decides again, so a decision is never written over a state it did not see. `decide`
   * answers null when there is nothing to change.
   */
  private async change(
    caller: Caller,
    action: TokenAction,
    id: string,
    decide: (record: TokenRecord, now: number) => Decided | null,
    writes?: UnconfirmedWrites,
  ): Promise<TokenRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const record = await this.reachable(caller, action, id);
      const decided = decide(record, this.clock.now());
      if (decided === null) return record;
      const outcome = await outcomeOf(writes, this.store.updateToken(decided.next, decided.entry, record.version), 'written');
      if (outcome === 'written') return { ...decided.next, version: record.version + 1 };
      if (outcome === 'missing') throw notFound(`token ${id}`);
    }
    throw conflict(`token ${id} kept changing while this request was deciding; try again`);
  }

  /** A compare-and-set like change() for a token acting on itself under selfRotate (`decide` checks it still may). */
  private async changeItself(id: string, decide: (record: TokenRecord, now: number) => Decided, writes: UnconfirmedWrites): Promise<TokenRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const record = await this.store.getToken(id);
      if (!record) throw notFound(`token ${id}`);
      const decided = decide(record, this.clock.now());
      const outcome = await outcomeOf(writes, this.store.updateToken(decided.next, decided.entry, record.version), 'written');
      if (outcome === 'written') return { ...decided.next, version: record.version + 1 };
      if (outcome === 'missing') throw notFound(`token ${id}`);
    }
    throw conflict(`token ${id} kept changing while this request was deciding; try again`);
  }

  /** Changes name, rights, expiry, limits, selfRotate, allowFrom or labels; a change of access is evicted everywhere. */
  async edit(caller: Caller, id: string, body: EditTokenBody): Promise<CallerTokenView> {
    return toTheEnd((writes) => this.editReached(caller, id, body, writes));
  }

  private async editReached(caller: Caller, id: string, body: EditTokenBody, writes: UnconfirmedWrites): Promise<CallerTokenView> {
    const current = await this.reachable(caller, 'edit', id);
    // A rename is checked against the names of its scope (a rolled token keeps the one it has).
    if (body.name !== undefined && body.name !== current.name)
      return this.withName(current, body.name, [id], () => this.editChecked(caller, id, body, current, writes));
    return this.editChecked(caller, id, body, current, writes);
  }

  private async editChecked(caller: Caller, id: string, body: EditTokenBody, current: TokenRecord, writes: UnconfirmedWrites): Promise<CallerTokenView> {
    const parent = isLent(current) ? await this.parentOf(id) : undefined;
    // Whether what hands access out for longer, wider or with other limits may be done here.
    const inLine = await this.isWithinLine(caller, 'edit', current);
    const outOfLine = (field: string) =>
      forbidden(`${field}: a lent token may change this only on tokens of its own line (itself and the tokens it lent); token ${id} is not`);
    if (body.limits !== undefined) {
      if (!inLine) throw outOfLine('limits');
      await this.checkLimits(caller, body.limits, { lent: isLent(current), repository: current.repository, maker: parent });
    }
    let changed: HistoryEntry['changes'] = {};
    const written = await this.change(
      caller,
      'edit',
      id,
      (record, now) => {
        const next: TokenRecord = { ...record, updatedAt: now };
        const changes: HistoryEntry['changes'] = {};
        if (body.name !== undefined && body.name !== record.name) {
          next.name = body.name;
          changes.name = { from: record.name, to: body.name };
        }
        if (body.rights !== undefined && body.rights.join() !== record.rights.join()) {
          const extra = rightsBeyond(caller, { ...record, rights: body.rights });
          if (extra.length > 0) throw forbidden(`rights: ${extra.join(', ')} exceed this token's own effective rights`);
          if (!inLine && body.rights.some((right) => !record.rights.includes(right))) throw outOfLine('rights');
          next.rights = [...body.rights];
          changes.rights = { from: record.rights, to: next.rights };
        }
        if (body.expiresAt !== undefined || body.expiresIn !== undefined) {
          const field = body.expiresIn !== undefined ? 'expiresIn' : 'expiresAt';
          const expiresAt = this.capped(body.expiresAt === null ? null : expiryFrom(body, now), now, field);
          if (expiresAt !== record.expiresAt) {
            // The caller's own token: an expiry may only come sooner (no action widens the caller).
            if (record.id === caller.identity.record.id) checkWithinParent(expiresAt, record, field, 'its current expiry');
            if (parent) checkWithinParent(expiresAt, parent, field, 'the expiry of the token that lent it');
            // A later expiry (or none) hands the token's rights out for longer, and revives an
            // expired token: like a restore, only within the caller's own bound.
            const lengthened = record.expiresAt !== null && (expiresAt === null || expiresAt > record.expiresAt);
            if (lengthened && !inLine) throw outOfLine(field);
            const extra = lengthened ? rightsBeyond(caller, next) : [];
            if (extra.length > 0) throw forbidden(`${field}: a later expiry would hand out ${extra.join(', ')}, beyond this token's own effective rights`);
            next.expiresAt = expiresAt;
            changes.expiresAt = { from: iso(record.expiresAt), to: iso(expiresAt) };
          }
        }
        if (body.limits !== undefined && JSON.stringify(body.limits) !== JSON.stringify(record.limits ?? null)) {
          // As with rights and expiry, no action widens the caller: a token does not set its own limits.
          if (record.id === caller.identity.record.id) throw forbidden('limits: a token cannot change its own limits');
          next.limits = body.limits;
          changes.limits = { from: record.limits ?? null, to: body.limits };
        }
        const own = record.id === caller.identity.record.id;
        if (body.selfRotate !== undefined && body.selfRotate !== (record.selfRotate === true)) {
          // Only an admin sets it on another token; none sets it on itself (no action widens the caller).
          if (own) throw forbidden('selfRotate: a token cannot change its own selfRotate');
          if (body.selfRotate) next.selfRotate = true;
          else delete next.selfRotate;
          changes.selfRotate = { from: record.selfRotate === true, to: body.selfRotate };
        }
        if (body.allowFrom !== undefined && body.allowFrom.join() !== (record.allowFrom ?? []).join()) {
          // Fewer CIDRs (or none) would let the caller's own secret work from more places.
          if (own) throw forbidden('allowFrom: a token cannot change its own allowFrom');
          if (body.allowFrom.length > 0) next.allowFrom = [...body.allowFrom];
          else delete next.allowFrom;
          changes.allowFrom = { from: record.allowFrom ?? [], to: body.allowFrom };
        }
        if (body.labels !== undefined && JSON.stringify(body.labels) !== JSON.stringify(record.labels ?? {})) {
          if (Object.keys(body.labels).length > 0) next.labels = { ...body.labels };
          else delete next.labels;
          changes.labels = { from: record.labels ?? {}, to: body.labels };
        }
        changed = changes;
        if (Object.keys(changes).length === 0) return null;
        return { next, entry: { at: now, actor: caller.actor, action: 'edited', changes } };
      },
      writes,
    );
    // New limits reach every replica at once, not after the cache TTL.
    if (changed.rights || changed.expiresAt || changed.limits || changed.allowFrom || changed.selfRotate) {
      // Its line's cached entries carry its limits (their requests spend from its budget too).
      const line = changed.limits ? (await this.descendants([id])).map((child) => child.id) : [];
      await this.invalidate({ at: written.updatedAt, type: 'tokens', ids: [id, ...line] });
      if (changed.expiresAt && written.expiresAt !== null) await this.clampChildren(caller.actor, id, written.expiresAt, writes);
      if (changed.limits) await this.limitSharers(caller.actor, written, writes);
    }
    return this.viewFor(caller, written);
  }

  /**
   * A roll's two secrets spend from one budget while the overlap runs: new limits on one are
   * set on the other too, so the budget has one set of limits (two would make each replica
   * rebuild it on every request of the other).
   */
  private async limitSharers(actor: string, edited: TokenRecord, writes: UnconfirmedWrites): Promise<void> {
    const budget = budgetIdOf(edited);
    const now = this.clock.now();
    const sharers = [...(await this.store.listTokens())]
      .filter((r) => r.id !== edited.id && budgetIdOf(r) === budget && statusAt(r, now) === 'active')
      .map((r) => r.id);
    const changed: string[] = [];
    for (const id of sharers) {
      const written = await this.applyUnchecked(
        id,
        (record, at) => {
          if (JSON.stringify(record.limits ?? null) === JSON.stringify(edited.limits ?? null)) return null;
          const changes = { limits: { from: record.limits ?? null, to: edited.limits ?? null } };
          const reason = `it spends from one budget with token ${edited.id} (a roll's overlap)`;
          return { next: { ...record, limits: edited.limits ?? null, updatedAt: at }, entry: { at, actor, action: 'edited', changes, reason } };
        },
        writes,
      );
      if (written) changed.push(id);
    }
    if (changed.length > 0) await this.invalidate({ at: this.clock.now(), type: 'tokens', ids: changed });
  }

  /** Revokes the token and every token it lent, down the line (a loan ends with its maker). */
  async revoke(caller: Caller, id: string): Promise<CallerTokenView> {
    return toTheEnd((writes) => this.revokeReached(caller, id, writes));
  }

  private async revokeReached(caller: Caller, id: string, writes: UnconfirmedWrites): Promise<CallerTokenView> {
    const written = await this.change(
      caller,
      'revoke',
      id,
      (record, now) => {
        if (record.status === 'revoked') throw conflict(`token ${id} is already revoked`);
        return statusChange(record, 'revoked', caller.actor, now);
      },
      writes,
    );
    await this.invalidate({ at: written.updatedAt, type: 'tokens', ids: [id] });
    await this.revokeLine(caller.actor, [id], 'revoked', writes);
    return this.viewFor(caller, written);
  }

  /** Restores a revoked token within the caller's bound; a lent token only while its maker is active. */
  async restore(caller: Caller, id: string): Promise<CallerTokenView> {
    await this.requireLine(caller, 'restore', await this.reachable(caller, 'restore', id));
    const parent = await this.parentOf(id);
    const written = await this.change(caller, 'restore', id, (record, now) => {
      if (record.status !== 'revoked') throw conflict(`token ${id} is not revoked`);
      const extra = rightsBeyond(caller, record);
      if (extra.length > 0) throw forbidden(`rights: restoring would hand out ${extra.join(', ')}, beyond this token's own effective rights`);
      if (isLent(record) && (parent === undefined || statusAt(parent, now) !== 'active')) {
        throw conflict(`token ${id} was lent by token ${record.parentId}, which is no longer active`);
      }
      return statusChange(record, 'active', caller.actor, now);
    });
    // Evicted too: a cached "revoked" must not outlive a restore.
    await this.invalidate({ at: written.updatedAt, type: 'tokens', ids: [id] });
    return this.viewFor(caller, written);
  }

  /** Deletes a revoked (or expired) token; its history stays, and the tokens it lent are revoked. */
  async remove(caller: Caller, id: string): Promise<void> {
    return toTheEnd((writes) => this.removeReached(caller, id, writes));
  }

  private async removeReached(caller: Caller, id: string, writes: UnconfirmedWrites): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const record = await this.reachable(caller, 'delete', id);
      const now = this.clock.now();
      if (statusAt(record, now) === 'active') throw conflict(`token ${id} is active; revoke it first`);
      const outcome = await outcomeOf(
        writes,
        this.store.deleteToken(id, { at: now, actor: caller.actor, action: 'deleted', changes: {} }, record.version),
        'written',
      );
      if (outcome === 'missing') throw notFound(`token ${id}`);
      if (outcome === 'written') {
        await this.invalidate({ at: now, type: 'tokens', ids: [id] });
        await this.revokeLine(caller.actor, [id], 'deleted', writes);
        return;
      }
    }
    throw conflict(`token ${id} kept changing while this request was deciding; try again`);
  }

  /** Deletes what it may and reports each failure with its reason. */
  async removeMany(caller: Caller, ids: string[]): Promise<BulkDeleteResult> {
    return toTheEnd((writes) => this.removeEach(caller, ids, writes));
  }

  private async removeEach(caller: Caller, ids: string[], writes: UnconfirmedWrites): Promise<BulkDeleteResult> {
    const result: BulkDeleteResult = { deleted: [], failed: [] };
    for (const id of new Set(ids)) {
      try {
        await this.removeReached(caller, id, writes);
        result.deleted.push(id);
      } catch (err) {
        if (!(err instanceof AdminError)) throw err;
        result.failed.push({ id, reason: BULK_REASONS.get(err.type) ?? 'forbidden' });
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
    const subject: Subject = record ?? {
      repository: String(created?.repository?.to ?? ''),
      kind: created?.kind?.to === 'personal' ? 'personal' : 'repository',
      user: typeof created?.user?.to === 'string' ? created.user.to : null,
    };
    this.requireReach(caller, 'history', { ...subject, id });
    return entries;
  }

  /** Revokes every active personal token of a user (the user is being deleted), and what they lent. */
  async revokeAllOf(actor: string, user: string): Promise<number> {
    return toTheEnd((writes) => this.revokeEachOf(actor, user, writes));
  }

  private async revokeEachOf(actor: string, user: string, writes: UnconfirmedWrites): Promise<number> {
    const doomed = [...(await this.store.listTokens())].filter((r) => r.user === user && r.status === 'active').map((r) => r.id);
    await this.revokeUnchecked(actor, doomed, writes);
    await this.revokeLine(actor, doomed, 'revoked', writes);
    return doomed.length;
  }

  /** The token that made `id`, read fresh; undefined when it has none or it is gone. */
  private async parentOf(id: string): Promise<TokenRecord | undefined> {
    const parentId = (await this.store.getToken(id))?.parentId;
    return parentId ? this.store.getToken(parentId) : undefined;
  }

  /**
   * Every token lent, directly or down the line, by the tokens in `roots` (from one listing),
   * each with its maker, makers before what they lent. Independent tokens are not followed:
   * they outlive their makers.
   */
  private async descendants(roots: readonly string[]): Promise<Array<{ id: string; maker: string }>> {
    const children = new Map<string, string[]>();
    for (const record of await this.store.listTokens()) {
      if (record.parentId === null || !isLent(record)) continue;
      const list = children.get(record.parentId);
      if (list) list.push(record.id);
      else children.set(record.parentId, [record.id]);
    }
    const found: Array<{ id: string; maker: string }> = [];
    const seen = new Set(roots);
    const queue = [...roots];
    while (queue.length > 0) {
      const maker = queue.shift()!;
      for (const child of children.get(maker) ?? []) {
        if (seen.has(child)) continue;
        seen.add(child);
        found.push({ id: child, maker });
        queue.push(child);
      }
    }
    return found;
  }

  /** Revokes what `roots` lent, down the line; each history names the maker and why (`end` for the first step, revoked below it). */
  private async revokeLine(actor: string, roots: readonly string[], end: MakerEnd, writes: UnconfirmedWrites): Promise<void> {
    const first = new Set(roots);
    const revoked: string[] = [];
    for (const { id, maker } of await this.descendants(roots)) {
      const reason = `its maker ${maker} was ${first.has(maker) ? end : 'revoked'}`;
      const written = await this.applyUnchecked(
        id,
        (record, now) => {
          if (record.status === 'revoked') return null;
          const decided = statusChange(record, 'revoked', actor, now);
          decided.entry.reason = reason;
          return decided;
        },
        writes,
      );
      if (written) revoked.push(id);
    }
    if (revoked.length > 0) await this.invalidate({ at: this.clock.now(), type: 'tokens', ids: revoked });
  }

  /**
   * Applies `decide` to one token by compare-and-set, with no caller to judge (cascades, rolls,
   * leak reports): read, decide, write over the version read, and on stale read and decide
   * again. True when a change was written; null from `decide` means nothing to change.
   */
  private async applyUnchecked(id: string, decide: (record: TokenRecord, now: number) => Decided | null, writes: UnconfirmedWrites): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const record = await this.store.getToken(id);
      if (!record) return false;
      const decided = decide(record, this.clock.now());
      if (decided === null) return false;
      const outcome = await outcomeOf(writes, this.store.updateToken(decided.next, decided.entry, record.version), 'written');
      if (outcome !== 'stale') return outcome === 'written';
    }
    return false;
  }

  /** Revokes each still-active token, then evicts those it revoked all at once. */
  private async revokeUnchecked(actor: string, ids: readonly string[], writes: UnconfirmedWrites): Promise<void> {
    const revoked: string[] = [];
    for (const id of ids) {
      if (await this.applyUnchecked(id, (record, now) => (record.status === 'revoked' ? null : statusChange(record, 'revoked', actor, now)), writes))
        revoked.push(id);
    }
    if (revoked.length > 0) await this.invalidate({ at: this.clock.now(), type: 'tokens', ids: revoked });
  }

  /** A maker's expiry came sooner: every token it lent, down the line, expires no later. */
  private async clampChildren(actor: string, id: string, expiresAt: number, writes: UnconfirmedWrites): Promise<void> {
    const clamped: string[] = [];
    for (const { id: child } of await this.descendants([id])) {
      const written = await this.applyUnchecked(
        child,
        (record, now) => {
          if (record.expiresAt !== null && record.expiresAt <= expiresAt) return null;
          const changes = { expiresAt: { from: iso(record.expiresAt), to: iso(expiresAt) } };
          return {
            next: { ...record, expiresAt, updatedAt: now },
            entry: { at: now, actor, action: 'edited', changes, reason: `a maker's expiry came sooner (${id})` },
          };
        },
        writes,
      );
      if (written) clamped.push(child);
    }
    if (clamped.length > 0) await this.invalidate({ at: this.clock.now(), type: 'tokens', ids: clamped });
  }

  /**
   * An expiry within `admin.maxTokenLifetime`: none asked for becomes the longest allowed, one
   * beyond it is a 400 naming the field.
   */
  private capped(expiresAt: number | null, now: number, field: string): number | null {
    const max = this.options.maxLifetimeMs ?? null;
    if (max === null) return expiresAt;
    if (expiresAt === null) return now + max;
    if (expiresAt > now + max) throw invalidRequest([{ field, message: `must be within admin.maxTokenLifetime (${iso(now + max)})` }]);
    return expiresAt;
  }

  /**
   * Rotates a token (docs/tokens.md, "Rotation"): a new secret with the same kind, name,
   * repository, user, rights, limits, expiry, `lent` and maker, spending from the same budget
   * (what was spent carries over; an overlap does not double it). The old token then expires at
   * the earlier of its own expiry and now + overlap (revoked at once for no overlap), and the
   * tokens it lent end with it: revoked at once, or held to the overlap. Both histories say
   * `rolled` and name each other.
   */
  async roll(caller: Caller, id: string, overlapMs: number, host: string): Promise<CreatedTokenView> {
    return this.createdFor(caller, await toTheEnd((writes) => this.rollChecked(caller, id, overlapMs, host, writes)));
  }

  private async rollChecked(caller: Caller, id: string, overlapMs: number, host: string, writes: UnconfirmedWrites): Promise<CreatedToken> {
    const found = await this.store.getToken(id);
    // `selfRotate`: the token rolls itself without admin; any other roll is judged by reach.
    const itself = found !== undefined && rollsItself(caller, found);
    const old = itself ? found : await this.reachable(caller, 'roll', id);
    await this.requireLine(caller, 'roll', old);
    const now = this.clock.now();
    const status = statusAt(old, now);
    if (status !== 'active') throw conflict(`token ${id} is ${status}; only an active token can be rolled`);
    if (old.rolledTo !== undefined) throw conflict(`token ${id} was rolled into token ${old.rolledTo} already; roll that one`);
    const extra = rightsBeyond(caller, old);
    if (extra.length > 0) throw forbidden(`rights: rolling would hand out ${extra.join(', ')}, beyond this token's own effective rights`);
    const body = {
      kind: old.kind,
      name: old.name,
      repository: old.repository,
      rights: old.rights,
      ...(old.user === null ? {} : { user: old.user }),
      ...(old.limits ? { limits: old.limits } : {}),
      ...(old.selfRotate ? { selfRotate: true } : {}),
      ...(old.allowFrom ? { allowFrom: old.allowFrom } : {}),
      ...(old.labels ? { labels: old.labels } : {}),
    } as CreateTokenBody;
    const made: Made = { parentId: old.parentId, budgetId: budgetIdOf(old), expiresAt: old.expiresAt, rolledFrom: old.id };
    if (old.lent !== undefined) made.lent = old.lent;
    const created = await this.createUnchecked(caller.actor, body, host, made);
    const next = created.token.id;
    // The old token is ended over the version it was decided on; if it was revoked meanwhile,
    // the new one must not outlive that revocation.
    let ended: TokenRecord;
    try {
      const end = (record: TokenRecord, at: number): Decided => {
        if (statusAt(record, at) !== 'active') throw conflict(`token ${id} changed to ${statusAt(record, at)} during the roll`);
        if (record.rolledTo !== undefined) throw conflict(`token ${id} was rolled into token ${record.rolledTo} during this roll`);
        if (itself && !rollsItself(caller, record)) throw forbidden(`token ${id} no longer has selfRotate`);
        const until = at + overlapMs;
        const changes: HistoryEntry['changes'] = { rolledTo: { from: null, to: next } };
        const record2: TokenRecord = { ...record, updatedAt: at, rolledTo: next };
        if (overlapMs === 0) {
          Object.assign(record2, { status: 'revoked', revokedAt: at });
          changes.status = { from: record.status, to: 'revoked' };
        } else if (record.expiresAt === null || until < record.expiresAt) {
          record2.expiresAt = until;
          changes.expiresAt = { from: iso(record.expiresAt), to: iso(until) };
        }
        return { next: record2, entry: { at, actor: caller.actor, action: 'rolled', changes } };
      };
      ended = itself ? await this.changeItself(id, end, writes) : await this.change(caller, 'roll', id, end, writes);
    } catch (err) {
      await this.revokeUnchecked(caller.actor, [next], writes);
      // Gone, not merely revoked: it would otherwise hold the name beside the token that stays.
      const orphan = await this.store.getToken(next);
      if (orphan)
        await this.store.deleteToken(
          next,
          { at: this.clock.now(), actor: caller.actor, action: 'deleted', changes: {}, reason: `the roll of token ${id} did not complete` },
          orphan.version,
        );
      throw err;
    }
    await this.invalidate({ at: ended.updatedAt, type: 'tokens', ids: [id] });
    if (overlapMs === 0) await this.revokeLine(caller.actor, [id], 'rolled with no overlap', writes);
    else if (ended.expiresAt !== null) await this.clampChildren(caller.actor, id, ended.expiresAt, writes);
    return created;
  }

  /**
   * Leak reports (docs/admin-api.md): each secret that belongs to an active token revokes it (actor
   * `leak-report`, history `leaked`) and what it made. Holding the secret is the proof, so no
   * caller is needed; the answer gives counts only, never which secret matched.
   */
  async reportLeaked(secrets: readonly string[]): Promise<{ received: number; revoked: number }> {
    return toTheEnd((writes) => this.revokeLeaked(secrets, writes));
  }

  private async revokeLeaked(secrets: readonly string[], writes: UnconfirmedWrites): Promise<{ received: number; revoked: number }> {
    const ended: string[] = [];
    for (const secret of new Set(secrets)) {
      if (parseSecret(secret) === undefined) continue;
      const hash = hashSecret(secret);
      const id = idFromHash(hash);
      const written = await this.applyUnchecked(
        id,
        (record, now) => {
          if (!hashesEqual(record.hash, hash) || statusAt(record, now) !== 'active') return null;
          const decided = statusChange(record, 'revoked', LEAK_ACTOR, now);
          decided.entry.action = 'leaked';
          return decided;
        },
        writes,
      );
      if (written) ended.push(id);
    }
    if (ended.length > 0) {
      await this.invalidate({ at: this.clock.now(), type: 'tokens', ids: ended });
      await this.revokeLine(LEAK_ACTOR, ended, 'reported leaked', writes);
    }
    return { received: secrets.length, revoked: ended.length };
  }

  private invalidate(message: Invalidation): Promise<void> {
    return this.options.invalidator.invalidate(message);
  }
}

/** Moves a token between active and revoked, with its history entry. */
function statusChange(record: TokenRecord, status: 'active' | 'revoked', actor: string, now: number): Decided {
  const next: TokenRecord = { ...record, status, revokedAt: status === 'revoked' ? now : null, updatedAt: now };
  const action = status === 'revoked' ? 'revoked' : 'restored';
  return { next, entry: { at: now, actor, action, changes: { status: { from: record.status, to: status } } } };
}

/** Refuses an expiry later than `limit`'s (none is latest of all). */
function checkWithinParent(expiresAt: number | null, limit: Pick<TokenRecord, 'expiresAt'>, field: string, what = "this token's own expiry"): void {
  if (limit.expiresAt === null) return;
  if (expiresAt === null || expiresAt > limit.expiresAt) {
    throw forbidden(`${field}: must be no later than ${what} (${iso(limit.expiresAt)})`);
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
