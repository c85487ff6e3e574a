import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { MAX_BODY_BYTES } from './body.js';
import type { Caller } from './caller.js';
import type { AdminOptions, AdminReply } from './context.js';
import type { RouteAccess } from './policy.js';

/** The methods the admin API serves (HEAD is answered wherever GET is). */
export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** The path parameters a template names: `/v1/tokens/{id}` gives `{ id: string }`. */
export type ParamsOf<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? { [Key in Name]: string } & ParamsOf<Rest>
  : Record<never, never>;

/** What every handler gets: the request, its path parameters, and the server's parts. */
export interface RequestParts<Params = Record<string, string>> {
  req: IncomingMessage;
  params: Params;
  options: AdminOptions;
}

/** The caller of a route with a token: present for `action` and `every-token` routes, maybe for metrics, never for `auth: 'none'`. */
export type CallerPart<Access extends RouteAccess> = Access extends { auth: 'none' }
  ? unknown
  : Access extends { auth: 'metrics' }
    ? { caller?: Caller }
    : { caller: Caller };

/** A handler's input: the request parts, the caller its access gives, and its body and query as their schemas parsed them. */
export type RouteInput<Path extends string, Access extends RouteAccess, Body, Query> = RequestParts<ParamsOf<Path>> &
  CallerPart<Access> &
  (Body extends z.ZodType ? { body: z.output<Body> } : unknown) &
  (Query extends z.ZodType ? { query: z.output<Query> } : unknown);

/** One route as written in the table (routes.ts): everything the server, the policy and the OpenAPI document need. */
export interface RouteSpec<Path extends string, Access extends RouteAccess, Body extends z.ZodType | undefined, Query extends z.ZodType | undefined> {
  method: Method;
  /** OpenAPI path template, e.g. `/v1/tokens/{id}`. */
  path: Path;
  /** Who may call it (policy.ts): an action the caller is judged by, `{ open: 'every-token' }`, or `{ auth: 'none' | 'metrics' }`. */
  access: Access;
  /** The JSON body's schema: the server reads and parses the body with it before the handler runs. */
  body?: Body;
  /** The query's schema: the server parses the query string with it before the handler runs. */
  query?: Query;
  /** True: a request with no body at all is parsed as `{}` (a roll without an overlap). */
  isBodyOptional?: boolean;
  /** The largest request body taken, in bytes: 413 beyond it, by Content-Length before anything else. */
  bodyLimit?: number;
  /** Runs after the caller is judged and before the body is read: a refusal here costs no body (the leak report's budget). */
  admit?: (input: RequestParts<ParamsOf<Path>>) => void;
  handler: (input: RouteInput<Path, Access, Body, Query>) => Promise<AdminReply>;
  summary: string;
  /** Schema of the success body; none for 204 and non-JSON answers. */
  response?: z.ZodType;
  status: number;
  /** Left out of the OpenAPI description (the admin page's static files). */
  isPage?: boolean;
}

/** What the OpenAPI document says of a route besides its request schemas. */
export interface RouteDoc {
  summary: string;
  response?: z.ZodType;
  status: number;
  isPage?: boolean;
}

/** A route as the server runs it: the entry with its path compiled and its handler's types erased. */
export interface AdminRoute {
  method: Method;
  path: string;
  pattern: RegExp;
  access: RouteAccess;
  /** `token`: a valid token is needed (the access says which); `metrics`: only with admin.metricsAuth; `none`: open. */
  auth: 'token' | 'metrics' | 'none';
  body: z.ZodType | undefined;
  query: z.ZodType | undefined;
  isBodyOptional: boolean;
  bodyLimit: number;
  admit: ((input: RequestParts) => void) | undefined;
  handler: (input: RequestParts & { caller?: Caller; body?: unknown; query?: unknown }) => Promise<AdminReply>;
  doc: RouteDoc;
}

const PARAMS: Record<string, string> = { id: '[0-9a-f]{16}', name: '[a-z0-9][a-z0-9._-]{0,62}', file: '[a-z]+\\.(?:js|css|html)' };

/** Compiles one entry; its handler is typed by the entry's path, access and schemas. */
export function route<
  const Path extends string,
  const Access extends RouteAccess,
  Body extends z.ZodType | undefined = undefined,
  Query extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<Path, Access, Body, Query>): AdminRoute {
  const source = spec.path.replace(/\{(\w+)\}/g, (_, param: string) => `(?<${param}>${PARAMS[param]})`);
  return {
    method: spec.method,
    path: spec.path,
    pattern: new RegExp(`^${source}$`),
    access: spec.access,
    auth: 'auth' in spec.access ? spec.access.auth : 'token',
    body: spec.body,
    query: spec.query,
    isBodyOptional: spec.isBodyOptional === true,
    bodyLimit: spec.bodyLimit ?? MAX_BODY_BYTES,
    // The server gives each handler the input its entry declares (server.ts runs the entry).
    admit: spec.admit as AdminRoute['admit'],
    handler: spec.handler as AdminRoute['handler'],
    doc: { summary: spec.summary, status: spec.status, ...(spec.response ? { response: spec.response } : {}), ...(spec.isPage ? { isPage: true } : {}) },
  };
}
