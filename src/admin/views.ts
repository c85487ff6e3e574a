import type { RepositoryRecord, TeamRecord, TokenRecord, UserRecord } from '../tokens/record.js';
import * as views from '../tokens/views.js';
import type { RepositoryView, TeamView, TokenView, UserView } from './schemas.js';

// The records' views (tokens/views.ts, which webhook events carry too), each held here to the
// schema that describes it in the OpenAPI document: a view that drifts from its schema fails to compile.

/** A token: ISO times, the status derived at `now`, and never the hash. */
export const viewOfToken: (record: TokenRecord, now: number) => TokenView = views.viewOfToken;

/** A user with their teams and the grants their personal tokens meet (own ∪ teams'). */
export const viewOfUser: (user: UserRecord, teams: readonly TeamRecord[]) => UserView = views.viewOfUser;

export const viewOfTeam: (team: TeamRecord) => TeamView = views.viewOfTeam;

export const viewOfRepository: (repo: RepositoryRecord) => RepositoryView = views.viewOfRepository;

/** History as the API shows it: ISO times, and only the fields that changed. */
export const viewOfHistory = views.viewOfHistory;
