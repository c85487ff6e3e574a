import { authorize, type Identity } from '../auth/authorize.js';
import { type TokenCache, UNAVAILABLE, UNKNOWN } from '../auth/token-cache.js';
import type { Clock } from '../clock.js';
import type { LiveExchange, LiveRegistry } from '../exchange/core.js';
import type { EndReason } from '../exchange/endings.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Invalidation } from '../store/token-store.js';
import type { Right } from '../tokens/record.js';

/** The exchanges open on one token, and the token as last read. */
interface TokenEntry {
  token: Identity;
  readonly exchanges: Set<LiveExchange>;
  /** When the token was last read from the store for these exchanges (the injected clock). */
  checkedAt: number;
  /** A re-check is under way. */
  checking: boolean;
  /** A message came while a re-check was under way: read once more when it ends. */
  dirty: boolean;
  /** The store could not answer the last re-check: the next sweep asks again. */
  retry: boolean;
}

export interface LiveExchangesOptions {
  cache: TokenCache;
  clock: Clock;
  metrics: Metrics;
  /** Off: exchanges are counted but never ended (`proxy.endOnRevoke: false`). Set anew by a reload. */
  endOnRevoke: boolean;
  /** The cache TTL: a token with open exchanges is read again at least this often. Set anew by a reload. */
  recheckMs: number;
  /** How often expiry is looked for (default 250 ms). */
  sweepMs?: number;
}

/**
 * Every exchange in flight, by the token it runs on, so that a change that takes access away
 * ends what is already open (docs/streams-and-protocols.md, "Revocation ends what is already open"). An invalidation
 * message (revoke, delete, edit, a user's or team's grants) has the affected tokens read again
 * and each exchange judged again for the right and repository it was allowed: gone -> ended.
 * Expiry needs no message: one sweep reads each token's `expiresAt` a few times a second, and
 * re-reads every token at the cache TTL, so a replica that missed a message still ends its
 * exchanges within that bound. Adding and removing are a map lookup and a set operation.
 */
export class LiveExchanges implements LiveRegistry {
  private readonly tokens = new Map<string, TokenEntry>();
  /** Exchanges on a public route (no token): only a reload of the routes judges them again. */
  private readonly tokenless = new Set<LiveExchange>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LiveExchangesOptions) {
    this.timer = setInterval(() => this.sweep(), options.sweepMs ?? 250);
    this.timer.unref();
  }

  add(exchange: LiveExchange): void {
    const id = exchange.identity?.tokenId;
    const token = exchange.token;
    if (id === undefined || token === undefined) {
      this.tokenless.add(exchange);
      return;
    }
    const entry = this.tokens.get(id);
    if (entry !== undefined && entry.token === token) {
      // The hot path: the token as this registry last saw it current (an invalidation that
      // finds an entry with nothing open drops it, so a kept entry's token was not invalidated).
      entry.exchanges.add(exchange);
      this.options.metrics.live[exchange.liveProtocol]++;
      return;
    }
    let current = entry;
    if (current === undefined) {
      current = { token, exchanges: new Set(), checkedAt: this.options.clock.now(), checking: false, dirty: false, retry: false };
      this.tokens.set(id, current);
    } else if (current.exchanges.size === 0) {
      // An entry kept from earlier exchanges: the record this one was allowed on is the newer.
      current.token = token;
      current.checkedAt = this.options.clock.now();
    }
    current.exchanges.add(exchange);
    this.options.metrics.live[exchange.liveProtocol]++;
    // The token was read before an invalidation this registry could not apply to it (it was
    // not registered yet): read it again now rather than at the TTL.
    if (!this.options.cache.holds(token)) this.recheck(current);
  }

  /** The exchange ended (however it ended). The emptied entry stays until the next sweep. */
  remove(exchange: LiveExchange): void {
    const id = exchange.identity?.tokenId;
    if (id === undefined) {
      this.tokenless.delete(exchange);
      return;
    }
    if (this.tokens.get(id)?.exchanges.delete(exchange) === true) this.options.metrics.live[exchange.liveProtocol]--;
  }

  /** An invalidation: read the tokens it names again (the cache has dropped them already). */
  onInvalidation(message: Invalidation): void {
    if (this.tokens.size === 0) return;
    if (message.type === 'tokens') {
      for (const id of message.ids) {
        const entry = this.tokens.get(id);
        if (entry !== undefined) this.recheck(entry);
      }
      // A maker's change is its loans' too: they are read again with it (Identity.lineEndsAt).
      for (const entry of this.tokens.values()) {
        if (entry.token.line?.some((maker) => message.ids.includes(maker.id))) this.recheck(entry);
      }
      return;
    }
    const users = message.type === 'user' ? [message.user] : message.type === 'users' ? message.users : undefined;
    // A team's change (`users`) also reaches workload identities whose credential names a team in a claim.
    const isTeamChange = message.type === 'users';
    for (const entry of this.tokens.values()) {
      const user = entry.token.record.user;
      if (users === undefined || (user !== null && users.includes(user)) || (isTeamChange && (entry.token.workload?.teams.length ?? 0) > 0))
        this.recheck(entry);
    }
  }

  /** A reload set `proxy.endOnRevoke` or `cache.ttl`: the next sweep reads them. */
  retune(settings: Pick<LiveExchangesOptions, 'endOnRevoke' | 'recheckMs'>): void {
    Object.assign(this.options, settings);
  }

  /**
   * The routes changed (a configuration reload): each open exchange is judged again on its token
   * as last read, and one `isAllowed` refuses now ends (`exchanges_ended_total{reason="config"}`).
   */
  rejudge(isAllowed: (exchange: LiveExchange, token: Identity | undefined) => boolean): number {
    if (!this.options.endOnRevoke) return 0;
    let ended = 0;
    // One on a route that was public and is no more has no token to go on.
    for (const exchange of [...this.tokenless]) {
      if (isAllowed(exchange, undefined)) continue;
      exchange.end('config');
      this.tokenless.delete(exchange);
      ended++;
    }
    for (const entry of this.tokens.values()) {
      for (const exchange of [...entry.exchanges]) {
        if (isAllowed(exchange, entry.token)) continue;
        this.end(exchange, 'config');
        ended++;
      }
    }
    return ended;
  }

  /** Messages may have been missed: every token with open exchanges is read again. */
  onReset(): void {
    for (const entry of this.tokens.values()) this.recheck(entry);
  }

  private recheck(entry: TokenEntry): void {
    if (entry.exchanges.size === 0) {
      // Nothing open to judge; the entry goes, so the next exchange on this token is checked
      // against the cache rather than taken for current (see add).
      if (!entry.checking) this.tokens.delete(entry.token.record.id);
      return;
    }
    if (entry.checking) {
      entry.dirty = true;
      return;
    }
    entry.checking = true;
    entry.dirty = false;
    this.options.cache.resolve(entry.token.record.hash).then(
      (resolution) => {
        entry.checking = false;
        // What was read may predate a message that came meanwhile: read again.
        if (entry.dirty) return this.recheck(entry);
        // The store cannot say: nothing is ended on a guess, and the next sweep asks again.
        entry.retry = resolution === UNAVAILABLE;
        if (resolution === UNAVAILABLE) return;
        entry.checkedAt = this.options.clock.now();
        if (resolution === UNKNOWN) return this.endAll(entry, 'revoked');
        entry.token = resolution;
        this.judge(entry);
      },
      () => {
        entry.checking = false;
        entry.retry = true;
        if (entry.dirty) this.recheck(entry);
      },
    );
  }

  /** Each exchange against the token as now read: the right it was allowed, on its repository. */
  private judge(entry: TokenEntry): void {
    if (!this.options.endOnRevoke) return;
    const record = entry.token.record;
    const now = this.options.clock.now();
    // A disabled user's tokens and identities stop as a revoked token does.
    if (record.status !== 'active' || entry.token.isUserDisabled === true) return this.endAll(entry, 'revoked');
    if (record.expiresAt !== null && record.expiresAt <= now) return this.endAll(entry, 'expired');
    for (const exchange of [...entry.exchanges]) {
      const identity = exchange.identity!;
      if (!authorize(entry.token, identity.right as Right, identity.repository, now).allowed) this.end(exchange, 'rights');
    }
  }

  private endAll(entry: TokenEntry, reason: EndReason): void {
    if (!this.options.endOnRevoke) return;
    for (const exchange of [...entry.exchanges]) this.end(exchange, reason);
  }

  /** The exchange counts its own end (exchanges_ended_total), once; here it just leaves the registry. */
  private end(exchange: LiveExchange, reason: EndReason): void {
    exchange.end(reason);
    this.remove(exchange);
  }

  private sweep(): void {
    const now = this.options.clock.now();
    for (const [id, entry] of this.tokens) {
      if (entry.exchanges.size === 0) {
        if (!entry.checking) this.tokens.delete(id);
        continue;
      }
      const expiresAt = entry.token.record.expiresAt;
      if (this.options.endOnRevoke && expiresAt !== null && expiresAt <= now) {
        this.endAll(entry, 'expired');
        continue;
      }
      // A store that could not answer is asked again; every token is read again at the TTL.
      if (entry.retry || now - entry.checkedAt >= this.options.recheckMs) this.recheck(entry);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
