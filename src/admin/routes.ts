import type { z } from 'zod';
import { LEAK_BODY_BYTES, MAX_BODY_BYTES } from './body.js';
import type { AdminContext, AdminReply } from './context.js';
import * as directory from './handlers/directory.js';
import * as events from './handlers/events.js';
import * as organizations from './handlers/organizations.js';
import * as probes from './handlers/probes.js';
import * as tokens from './handlers/tokens.js';
import * as ui from './handlers/ui.js';
import * as usage from './handlers/usage.js';
import * as schemas from './schemas.js';

export interface RouteDoc {
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Schema of the success body; none for 204 and non-JSON answers. */
  response?: z.ZodType;
  status: number;
  /** Left out of the OpenAPI description (the admin page's static files). */
  isPage?: boolean;
}

export interface AdminRoute {
  method: string;
  /** OpenAPI path template, e.g. `/v1/tokens/{id}`. */
  path: string;
  pattern: RegExp;
  /** `token`: any valid token (the service judges scope); `metrics`: only with admin.metricsAuth; `none`: open. */
  auth: 'token' | 'metrics' | 'none';
  /** The largest request body taken, in bytes: 413 beyond it, by Content-Length before anything else. */
  bodyLimit: number;
  handler(context: AdminContext): Promise<AdminReply>;
  doc: RouteDoc;
}

const PARAMS: Record<string, string> = { id: '[0-9a-f]{16}', name: '[a-z0-9][a-z0-9._-]{0,62}', file: '[a-z]+\\.(?:js|css|html)' };

function route(method: string, path: string, auth: AdminRoute['auth'], handler: AdminRoute['handler'], doc: RouteDoc, bodyLimit = MAX_BODY_BYTES): AdminRoute {
  const source = path.replace(/\{(\w+)\}/g, (_, param: string) => `(?<${param}>${PARAMS[param]})`);
  return { method, path, pattern: new RegExp(`^${source}$`), auth, bodyLimit, handler, doc };
}

/** Every admin route; the OpenAPI description is built from this list and its schemas. */
export function routes(): AdminRoute[] {
  return [
    route('GET', '/healthz', 'none', probes.healthz, { summary: 'Liveness: 200 while the process serves', status: 200 }),
    route('GET', '/readyz', 'none', probes.readyz, { summary: 'Readiness: 200 when the store answers and not draining', status: 200 }),
    route('GET', '/metrics', 'metrics', probes.metrics, { summary: 'Prometheus metrics', status: 200 }),
    route('GET', '/v1/openapi.json', 'none', probes.openapi, { summary: 'This description', status: 200 }),
    route('GET', '/v1/settings', 'token', probes.settings, {
      summary: 'The lifetime cap and expiry notice clients shape their forms by',
      response: schemas.settingsView,
      status: 200,
    }),
    route('GET', '/v1/whoami', 'token', probes.whoami, {
      summary: 'The calling token, its role and its effective rights per repository',
      response: schemas.whoamiView,
      status: 200,
    }),
    route('GET', '/', 'none', ui.uiRedirect, { summary: 'The admin page', status: 308, isPage: true }),
    route('GET', '/ui', 'none', ui.uiRedirect, { summary: 'The admin page', status: 308, isPage: true }),
    route('GET', '/ui/', 'none', ui.uiFile, { summary: 'The admin page', status: 200, isPage: true }),
    route('GET', '/ui/{file}', 'none', ui.uiFile, { summary: 'The admin page files', status: 200, isPage: true }),
    route('POST', '/v1/tokens', 'token', tokens.createToken, {
      summary: 'Create a token; the secret is in this response only',
      body: schemas.createTokenBody,
      response: schemas.createdToken,
      status: 201,
    }),
    route('GET', '/v1/tokens', 'token', tokens.listTokens, {
      summary: 'List and search tokens',
      query: schemas.listTokensQuery,
      response: schemas.tokenPage,
      status: 200,
    }),
    route('POST', '/v1/tokens/delete', 'token', tokens.bulkDeleteTokens, {
      summary: 'Delete several revoked tokens',
      body: schemas.bulkDeleteBody,
      response: schemas.bulkDeleteResult,
      status: 200,
    }),
    // Anyone may call it: its body is held to what 1000 secrets need.
    route(
      'POST',
      '/v1/tokens/leaked',
      'none',
      tokens.reportLeaked,
      {
        summary: 'Report leaked secrets: each active token among them is revoked; no token needed (holding the secret is the proof)',
        body: schemas.leakedBody,
        response: schemas.leakedResult,
        status: 200,
      },
      LEAK_BODY_BYTES,
    ),
    route('GET', '/v1/tokens/{id}', 'token', tokens.getToken, { summary: 'One token', response: schemas.tokenView, status: 200 }),
    route('PATCH', '/v1/tokens/{id}', 'token', tokens.editToken, {
      summary: 'Edit name, rights or expiry',
      body: schemas.editTokenBody,
      response: schemas.tokenView,
      status: 200,
    }),
    route('DELETE', '/v1/tokens/{id}', 'token', tokens.deleteToken, { summary: 'Delete a revoked token', status: 204 }),
    route('POST', '/v1/tokens/{id}/revoke', 'token', tokens.revokeToken, { summary: 'Revoke', response: schemas.tokenView, status: 200 }),
    route('POST', '/v1/tokens/{id}/restore', 'token', tokens.restoreToken, { summary: 'Restore', response: schemas.tokenView, status: 200 }),
    route('POST', '/v1/tokens/{id}/roll', 'token', tokens.rollToken, {
      summary: 'Rotate: a new secret for the same token; the old one ends after the overlap',
      body: schemas.rollBody,
      response: schemas.createdToken,
      status: 201,
    }),
    route('GET', '/v1/tokens/{id}/history', 'token', tokens.tokenHistory, {
      summary: 'Every change, oldest first; kept after delete',
      response: schemas.historyPage,
      status: 200,
    }),
    route('GET', '/v1/tokens/{id}/usage', 'token', tokens.tokenUsage, {
      summary: "What the token's limits have spent and have left in the current windows",
      response: schemas.usageView,
      status: 200,
    }),
    route('GET', '/v1/tokens/{id}/usage/history', 'token', usage.usageHistory, {
      summary: 'Requests allowed and refused (by reason), bytes in and out, per hour or day (text/csv with Accept: text/csv)',
      query: schemas.usageHistoryQuery,
      response: schemas.usageHistoryView,
      status: 200,
    }),
    route('GET', '/v1/usage', 'token', usage.topUsage, {
      summary: 'The tokens that used the most in a window, of those the caller may read (text/csv with Accept: text/csv)',
      query: schemas.usageTopQuery,
      response: schemas.usageTopView,
      status: 200,
    }),
    route('GET', '/v1/events', 'token', events.listEvents, {
      summary: 'Recent events, newest first, with their delivery state per webhook (admins)',
      query: schemas.listEventsQuery,
      response: schemas.eventPage,
      status: 200,
    }),
    route('POST', '/v1/users', 'token', directory.createUser, {
      summary: 'Create a user',
      body: schemas.createUserBody,
      response: schemas.userView,
      status: 201,
    }),
    route('GET', '/v1/users', 'token', directory.listUsers, { summary: 'List users', query: schemas.organizationFilter, status: 200 }),
    route('GET', '/v1/users/{name}', 'token', directory.getUser, { summary: 'One user', response: schemas.userView, status: 200 }),
    route('PATCH', '/v1/users/{name}', 'token', directory.editUser, {
      summary: "Replace a user's grants, or disable or enable the user",
      body: schemas.editUserBody,
      response: schemas.userView,
      status: 200,
    }),
    route('DELETE', '/v1/users/{name}', 'token', directory.deleteUser, { summary: 'Delete a user, revoking their personal tokens', status: 204 }),
    route('POST', '/v1/teams', 'token', directory.createTeam, {
      summary: 'Create a team',
      body: schemas.createTeamBody,
      response: schemas.teamView,
      status: 201,
    }),
    route('GET', '/v1/teams', 'token', directory.listTeams, { summary: 'List teams', query: schemas.organizationFilter, status: 200 }),
    route('GET', '/v1/teams/{name}', 'token', directory.getTeam, { summary: 'One team', response: schemas.teamView, status: 200 }),
    route('PATCH', '/v1/teams/{name}', 'token', directory.editTeam, {
      summary: "Replace a team's members and/or grants",
      body: schemas.editTeamBody,
      response: schemas.teamView,
      status: 200,
    }),
    route('DELETE', '/v1/teams/{name}', 'token', directory.deleteTeam, { summary: 'Delete a team', status: 204 }),
    route('GET', '/v1/teams/{name}/history', 'token', directory.teamHistory, {
      summary: 'Every change of a team, oldest first',
      response: schemas.historyPage,
      status: 200,
    }),
    route('POST', '/v1/organizations', 'token', organizations.createOrganization, {
      summary: 'Create an organization (admins of *)',
      body: schemas.createOrganizationBody,
      response: schemas.organizationView,
      status: 201,
    }),
    route('GET', '/v1/organizations', 'token', organizations.listOrganizations, { summary: 'List the organizations the caller administers', status: 200 }),
    route('GET', '/v1/organizations/{name}', 'token', organizations.getOrganization, {
      summary: 'One organization',
      response: schemas.organizationView,
      status: 200,
    }),
    route('PATCH', '/v1/organizations/{name}', 'token', organizations.editOrganization, {
      summary: "Change an organization's display name",
      body: schemas.editOrganizationBody,
      response: schemas.organizationView,
      status: 200,
    }),
    route('DELETE', '/v1/organizations/{name}', 'token', organizations.deleteOrganization, {
      summary: 'Delete an organization that holds no repositories (409 otherwise)',
      status: 204,
    }),
    route('POST', '/v1/repositories', 'token', directory.createRepository, {
      summary: 'Create a repository',
      body: schemas.createRepositoryBody,
      response: schemas.repositoryView,
      status: 201,
    }),
    route('GET', '/v1/repositories', 'token', directory.listRepositories, { summary: 'List repositories', query: schemas.organizationFilter, status: 200 }),
    route('PATCH', '/v1/repositories/{name}', 'token', directory.editRepository, {
      summary: 'Set the default limits of its tokens that have none of their own',
      body: schemas.editRepositoryBody,
      response: schemas.repositoryView,
      status: 200,
    }),
    route('DELETE', '/v1/repositories/{name}', 'token', directory.deleteRepository, {
      summary: 'Delete a repository with no active tokens',
      status: 204,
    }),
  ];
}
