import { z } from 'zod';
import type { AdminRoute } from './route-entry.js';
import { problem } from './schemas.js';

type Json = Record<string, unknown>;

/**
 * A schema as JSON Schema, with named schemas (those with a `meta({ id })`) moved into
 * `components` and referenced from there.
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const { $defs, $schema: _, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
  // Input and output differ (defaults, coercion), so each gets its own component name.
  const suffix = io === 'input' ? 'Input' : '';
  const rename = (text: string) => text.replace(/"#\/\$defs\/(\w+)"/g, `"#/components/schemas/$1${suffix}"`);
  for (const [name, def] of Object.entries(($defs ?? {}) as Json)) components[name + suffix] = JSON.parse(rename(JSON.stringify(def)));
  return JSON.parse(rename(JSON.stringify(rest))) as Json;
}

/** OpenAPI 3.1 for the admin API, made from the route entries and the very schemas the server validates requests with. */
export function openApiDocument(table: AdminRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Json = {};
  for (const route of table) {
    if (route.doc.isPage) continue;
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = route.query ? queryParameters(route.query, components) : [];
    const operation: Record<string, unknown> = {
      summary: route.doc.summary,
      parameters: [...params, ...query],
      responses: {
        [String(route.doc.status)]: route.doc.response
          ? { description: 'success', content: { 'application/json': { schema: jsonSchema(route.doc.response, 'output', components) } } }
          : { description: 'success' },
        default: { description: 'a problem (RFC 9457)', content: { 'application/problem+json': { schema: jsonSchema(problem, 'output', components) } } },
      },
    };
    if (route.auth === 'token') operation.security = [{ bearer: [] }];
    // Who may call it, as the entry declares: the action the caller is judged by, or who it is open to.
    operation['x-tollgate-access'] = route.access;
    if (route.body) {
      operation.requestBody = {
        required: !route.isBodyOptional,
        content: { 'application/json': { schema: jsonSchema(route.body, 'input', components) } },
      };
    }
    const operations = paths[route.path] ?? {};
    paths[route.path] = operations;
    operations[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tollgate admin API', version: '1' },
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

function queryParameters(schema: z.ZodType, components: Json): unknown[] {
  const ref = jsonSchema(schema, 'input', components) as { $ref?: string };
  const described = (ref.$ref ? components[ref.$ref.split('/').pop()!] : ref) as { properties?: Json; required?: string[] };
  return Object.entries(described.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: described.required?.includes(name) ?? false,
    schema: property,
  }));
}
