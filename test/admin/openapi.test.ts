import t from 'tap';
import { z } from 'zod';
import { AdminError } from '../../src/admin/errors.js';
import { DIRECTORY_POLICY, TOKEN_POLICY } from '../../src/admin/policy.js';
import { routes } from '../../src/admin/routes.js';
import { parseBody } from '../../src/admin/schemas.js';
import { call } from '../helpers/admin-client.js';
import { startHarness } from '../helpers/harness.js';

const h = await startHarness();
t.teardown(() => h.close());

t.test('the OpenAPI description is 3.1 and lists every route the server answers', async (t) => {
  const res = await call(h, 'GET', '/v1/openapi.json', undefined);
  t.equal(res.status, 200);
  const doc = res.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
  t.equal(doc.openapi, '3.1.0');
  const table = routes().filter((route) => !route.doc.isPage);
  for (const route of table) t.ok(doc.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  t.equal(documented.length, table.length, 'and nothing else');
});

t.test('every documented operation is served (none answers "no such route")', async (t) => {
  const doc = (await call(h, 'GET', '/v1/openapi.json', undefined)).body as { paths: Record<string, Record<string, unknown>> };
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const concrete = path.replace('{id}', '0123456789abcdef').replace('{name}', 'nobody');
      const res = await call(h, method.toUpperCase(), concrete, h.adminSecret, method === 'get' || method === 'delete' ? undefined : {});
      t.not(res.body?.detail, `route ${concrete} does not exist`, `${method.toUpperCase()} ${path}`);
      t.not(res.status, 405, `${method.toUpperCase()} ${path}`);
    }
  }
});

t.test('request schemas come from the validators: required fields and enums match', async (t) => {
  const doc = (await call(h, 'GET', '/v1/openapi.json', undefined)).body;
  const ref = doc.paths['/v1/tokens'].post.requestBody.content['application/json'].schema.$ref as string;
  t.equal(ref, '#/components/schemas/CreateTokenInput');
  const create = doc.components.schemas.CreateTokenInput;
  t.same([...create.required].sort(), ['kind', 'name', 'rights']);
  t.same(create.properties.kind.enum, ['repository', 'personal']);
  t.equal(create.additionalProperties, false);
  t.equal(doc.paths['/v1/tokens/{id}'].get.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/Token');
  const query = doc.paths['/v1/tokens'].get.parameters.map((p: { name: string }) => p.name).sort();
  t.same(query, ['cursor', 'expiresWithin', 'kind', 'label', 'limit', 'organization', 'q', 'repository', 'sort', 'status', 'user']);
});

type Json = Record<string, unknown>;

/** A schema with every `$ref` replaced by what it names (`#/components/schemas/X` or `#/$defs/X`). */
function inline(schema: unknown, named: (ref: string) => unknown): unknown {
  if (Array.isArray(schema)) return schema.map((item) => inline(item, named));
  if (schema === null || typeof schema !== 'object') return schema;
  const { $ref, ...rest } = schema as Json;
  if (typeof $ref === 'string') return inline({ ...(named($ref) as Json), ...rest }, named);
  return Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, inline(value, named)]));
}

/** The JSON Schema zod makes of a request schema, its definitions inlined (what validates, as JSON Schema). */
function validatorSchema(schema: z.ZodType): Json {
  const { $defs, $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
  const defs = ($defs ?? {}) as Json;
  return inline(rest, (ref) => defs[ref.replace('#/$defs/', '')]) as Json;
}

t.test('every route says who may call it: a policy action, open to every token, or no token', async (t) => {
  const actions = new Set([...Object.keys(TOKEN_POLICY), ...Object.keys(DIRECTORY_POLICY), 'read-events']);
  for (const route of routes()) {
    const name = `${route.method} ${route.path}`;
    const access = route.access as { action?: string; open?: string; auth?: string };
    const markers = [access.action, access.open, access.auth].filter((marker) => marker !== undefined);
    t.equal(markers.length, 1, `${name} declares exactly one`);
    if (access.action !== undefined) t.ok(actions.has(access.action), `${name}: ${access.action} is an action of the policy`);
    if (access.open !== undefined) t.equal(access.open, 'every-token', name);
    if (access.auth !== undefined) t.ok(access.auth === 'none' || access.auth === 'metrics', name);
  }
  const open = routes()
    .filter((route) => 'open' in route.access)
    .map((route) => `${route.method} ${route.path}`);
  t.same(open.sort(), ['GET /v1/settings', 'GET /v1/whoami'], 'only what a client asks before it knows what its token may do');
});

t.test("each operation's request schema is the JSON Schema of the very zod schema its route validates with", async (t) => {
  const doc = (await call(h, 'GET', '/v1/openapi.json', undefined)).body as { paths: Record<string, Record<string, Json>>; components: { schemas: Json } };
  const named = (ref: string) => doc.components.schemas[ref.replace('#/components/schemas/', '')];
  let bodies = 0;
  let queries = 0;
  for (const route of routes().filter((r) => !r.doc.isPage)) {
    const name = `${route.method} ${route.path}`;
    const operation = doc.paths[route.path]![route.method.toLowerCase()] as Json & {
      requestBody?: { content: Record<string, { schema: unknown }> };
      parameters: Array<{ name: string; in: string; required: boolean; schema: unknown }>;
    };
    if (route.body === undefined) t.equal(operation.requestBody, undefined, `${name} takes no body`);
    else {
      bodies++;
      t.same(inline(operation.requestBody!.content['application/json']!.schema, named), validatorSchema(route.body), `${name} body`);
    }
    const inQuery = operation.parameters.filter((p) => p.in === 'query');
    if (route.query === undefined) t.same(inQuery, [], `${name} takes no query`);
    else {
      queries++;
      const described = validatorSchema(route.query) as { properties: Json; required?: string[] };
      t.same(inQuery.map((p) => p.name).sort(), Object.keys(described.properties).sort(), `${name} query parameters`);
      for (const p of inQuery) {
        t.same(inline(p.schema, named), described.properties[p.name], `${name} ?${p.name}`);
        t.equal(p.required, described.required?.includes(p.name) ?? false, `${name} ?${p.name} required`);
      }
    }
  }
  t.equal(bodies, 13, 'every body schema was compared');
  t.ok(queries >= 6, `every query schema was compared (${queries})`);
});

t.test('the server refuses a request as its route schema does, before the handler runs', async (t) => {
  const sample: Record<string, string> = { id: '0123456789abcdef', name: 'nobody' };
  for (const route of routes().filter((r) => r.body !== undefined || r.query !== undefined)) {
    const path = route.path.replace(/\{(\w+)\}/g, (_, param: string) => sample[param]!);
    const input = { zzUnknown: '1', limit: 'many' };
    const expected = expectedFaults(route.body ?? route.query!, input);
    const res =
      route.body !== undefined
        ? await call(h, route.method, path, h.adminSecret, input)
        : await call(h, route.method, `${path}?${new URLSearchParams(input)}`, h.adminSecret);
    const name = `${route.method} ${route.path}`;
    if (expected === undefined) t.not(res.status, 400, `${name}: its schema takes it`);
    else {
      t.equal(res.status, 400, name);
      t.same(res.body.errors, expected, `${name}: the fields its schema names`);
    }
  }
});

/** What parseBody says of `input` under `schema`: its field faults, or undefined when it passes. */
function expectedFaults(schema: z.ZodType, input: unknown): unknown {
  try {
    parseBody(schema, input);
    return undefined;
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    return err.extra.errors;
  }
}
