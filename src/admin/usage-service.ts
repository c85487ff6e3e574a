import type { Clock } from '../clock.js';
import type { Directory, TokenRecords, UsageStore } from '../store/token-store.js';
import type { UsedToken } from '../store/usage-log.js';
import { organizationOf, scopedOrganization } from '../tokens/record.js';
import { itemOf, seriesOf, totalOf, type UsageItem, type UsageOrder } from '../usage/usage-report.js';
import type { Caller } from './caller.js';
import { reaches } from './policy.js';
import type { TokenService } from './token-service.js';

/** A window of whole steps: [from, to), both on step boundaries. */
export interface UsageWindow {
  from: number;
  to: number;
  stepMs: number;
}

/**
 * Which tokens GET /v1/usage looks at. One place reads it (`matches`), so a filter added later
 * (an organization: the repositories it holds) is one field here and one line there.
 */
export interface UsageFilter {
  repository?: string | undefined;
  /** Tokens on the organization's repositories and on its `@org` scope (docs/organizations.md). */
  organization?: string | undefined;
}

/** Each repository's organization, read once per GET /v1/usage that filters on one. */
type OrganizationOf = ReadonlyMap<string, string>;

const matches = (filter: UsageFilter, used: UsedToken, organizations: OrganizationOf): boolean => {
  if (filter.repository !== undefined && used.repository !== filter.repository) return false;
  if (filter.organization === undefined) return true;
  // A repository deleted since has no organization to read: its tokens' usage is left out of an
  // organization's list (a `*` admin still finds it by repository or unfiltered).
  const organization = scopedOrganization(used.repository) ?? organizations.get(used.repository);
  return organization === filter.organization;
};

export interface TopToken extends Omit<UsageItem, 'at'> {
  id: string;
  /** Null when the token has been deleted since (its usage is kept until the retention drops it). */
  name: string | null;
  repository: string;
}

const figureOf = (token: TopToken, by: UsageOrder): number => (by === 'requests' ? token.allowed + token.refused : token[by]);

/** The store roles usage reads take: usage history, the tokens' records, the repositories' organizations. */
type UsageServiceStore = UsageStore & Pick<TokenRecords, 'getTokens'> & Pick<Directory, 'listRepositories'>;

/** The usage history (docs/usage.md) as the admin API serves it, under the same reach as reading a token. */
export class UsageService {
  constructor(private readonly parts: { store: UsageServiceStore; tokens: TokenService; clock: Clock }) {}

  /** One token's series over the window; 404 or 403 as reading the token would be. */
  async history(caller: Caller, id: string, window: UsageWindow): Promise<{ id: string; items: UsageItem[] }> {
    await this.parts.tokens.get(caller, id);
    const hours = await this.parts.store.usageOf(id, window.from, window.to);
    return { id, items: seriesOf(hours, window.from, window.to, window.stepMs) };
  }

  /**
   * The tokens the caller may read that used the most in the window, by `by`. A deleted token is
   * judged by the repository it had, as an admin of that repository would have seen it.
   */
  async top(caller: Caller, filter: UsageFilter, window: UsageWindow, limit: number, by: UsageOrder): Promise<TopToken[]> {
    const { store } = this.parts;
    const organizations: OrganizationOf =
      filter.organization === undefined
        ? new Map()
        : new Map((await store.listRepositories()).map((repository) => [repository.name, organizationOf(repository)]));
    const candidates = (await store.usedTokens(window.from, window.to)).filter((used) => matches(filter, used, organizations));
    const records = await store.getTokens(candidates.map((used) => used.tokenId));
    const visible = candidates
      .map((used, i) => ({ used, record: records[i] }))
      .filter(({ used, record }) => reaches(caller, 'read', record ?? { kind: 'repository', repository: used.repository, user: null }));
    const rows: TopToken[] = [];
    for (const { used, record } of visible) {
      const total = totalOf(await store.usageOf(used.tokenId, window.from, window.to));
      const { at: _at, ...figures } = itemOf(total);
      const row = { id: used.tokenId, name: record?.name ?? null, repository: record?.repository ?? used.repository, ...figures };
      if (row.allowed + row.refused + row.bytesIn + row.bytesOut > 0) rows.push(row);
    }
    rows.sort((a, b) => figureOf(b, by) - figureOf(a, by) || a.id.localeCompare(b.id));
    return rows.slice(0, limit);
  }
}
