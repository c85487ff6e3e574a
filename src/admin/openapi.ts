import { z } from 'zod';
import type { AdminRoute } from './routes.js';
import { problem } from './schemas.js';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;

/** OpenAPI 3.1 for the admin API, made from the route table and the schemas that validate requests. */
export function openApiDocument(table: AdminRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of table) {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = route.doc.query ? queryParameters(route.doc.query) : [];
    const operation: Record<string, unknown> = {
      summary: route.doc.summary,
      parameters: [...params, ...query],
      responses: {
        [String(route.doc.status)]: route.doc.response
          ? { description: 'success', content: { 'application/json': { schema: jsonSchema(route.doc.response, 'output') } } }
          : { description: 'success' },
        default: { description: 'a problem (RFC 9457)', content: { 'application/problem+json': { schema: jsonSchema(problem, 'output') } } },
      },
    };
    if (route.auth === 'token') operation.security = [{ bearer: [] }];
    if (route.doc.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(route.doc.body, 'input') } } };
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tollgate admin API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

function queryParameters(schema: z.ZodType): unknown[] {
  const described = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(described.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: described.required?.includes(name) ?? false,
    schema: property,
  }));
}
