import type { Clock } from '../clock.js';
import { parseDuration } from '../config/duration.js';
import type { TokenStore } from '../store/token-store.js';
import { ALL_REPOSITORIES, toView, type TokenRecord, type TokenView } from '../tokens/record.js';
import { generateSecret, hashSecret, idFromHash, secretPrefix } from '../tokens/secret.js';
import { administers, type Caller } from './caller.js';
import { forbidden, invalidRequest, notFound } from './errors.js';
import type { CreateTokenBody } from './schemas.js';

export interface CreatedToken {
  token: TokenView;
  /** Shown once, here, and never stored. */
  secret: string;
}

/** Token lifecycle rules, independent of HTTP: scope checks and history. */
export class TokenService {
  constructor(
    private readonly store: TokenStore,
    private readonly clock: Clock,
  ) {}

  /** Makes a token; the caller must administer its repository (`*` only for `*` admins). */
  async create(caller: Caller, body: CreateTokenBody): Promise<CreatedToken> {
    if (!administers(caller, body.repository)) {
      throw forbidden(`repository: this token administers ${caller.adminScope ?? 'nothing'}, not ${body.repository}`);
    }
    return this.createUnchecked(caller.actor, body);
  }

  /** Makes a token without a caller's scope check: for `tollgate init-admin` on a new install. */
  async createUnchecked(actor: string, body: CreateTokenBody): Promise<CreatedToken> {
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
        expiresAt: { from: null, to: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString() },
      };
      // An id is 64 bits of the hash; on the rare collision draw a new secret.
      if (await this.store.createToken(record, { at: now, actor, action: 'created', changes })) {
        return { token: toView(record, now), secret };
      }
    }
  }

  /** One token, if the caller may see it. */
  async get(caller: Caller, id: string): Promise<TokenView> {
    const record = await this.store.getToken(id);
    if (!record) throw notFound(`token ${id}`);
    if (!administers(caller, record.repository)) throw forbidden(`token ${id} is outside this token's scope`);
    return toView(record, this.clock.now());
  }
}

function expiryFrom(body: CreateTokenBody, now: number): number | null {
  if (body.expiresIn !== undefined) return now + parseDuration(body.expiresIn)!;
  if (body.expiresAt !== undefined) {
    const at = Date.parse(body.expiresAt);
    if (at <= now) throw invalidRequest([{ field: 'expiresAt', message: 'expected a time in the future' }]);
    return at;
  }
  return null;
}
