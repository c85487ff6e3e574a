import t from 'tap';
import { routes } from '../../src/admin/routes.js';
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
