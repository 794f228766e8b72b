import { API_ROUTES, FEED_ROUTES, STREAM_ROUTES } from './routes.js';
import type { ApiRoute } from './routes.js';
import type { JsonSchema } from '../config/index.js';
import { API_SCHEMAS, OPERATION_SCHEMAS, SCHEMA_REF } from './schemas.js';
import type { ApiOperation } from './toolstack.js';

/** `/v1/domains/:ref` → `/v1/domains/{ref}`, and the parameter names in order. */
function openApiPath(path: string): { readonly path: string; readonly params: string[] } {
  const params: string[] = [];
  const out = path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: out, params };
}

const json = (schema: JsonSchema): Record<string, unknown> => ({ 'application/json': { schema } });

/** Whether a body of schema `s` has fields it cannot do without (an empty body is `{}`). */
function bodyRequired(s: JsonSchema): boolean {
  const ref = s['$ref'];
  const target = typeof ref === 'string' ? API_SCHEMAS[ref.slice(SCHEMA_REF.length) as keyof typeof API_SCHEMAS] : s;
  return (target['required'] as readonly string[]).length > 0;
}

/**
 * The OpenAPI 3.1 document of dom0d's API, made from the one route table (`API_ROUTES`, the
 * stream and feed routes): every operation with its path parameters, its POST body and result
 * (the JSON Schemas of `ToolstackApi`'s request and result types: `API_SCHEMAS`), errors as
 * `Error`, bearer authentication (required over TCP, this document included; the Unix socket
 * needs none).
 */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (id: string, route: ApiRoute, op: Record<string, unknown>): void => {
    const { path, params } = openApiPath(route.path);
    const item = (paths[path] ??= {});
    item[route.method.toLowerCase()] = {
      operationId: id,
      ...(params.length === 0 ? {} : { parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })) }),
      ...op,
      responses: {
        ...(op['responses'] as Record<string, unknown> | undefined),
        default: { description: 'a failure', content: json({ $ref: `${SCHEMA_REF}Error` }) },
      },
    };
  };
  for (const [id, route] of Object.entries(API_ROUTES)) {
    const { result, ...rest } = OPERATION_SCHEMAS[id as ApiOperation];
    const request = 'request' in rest ? rest.request : undefined;
    add(id, route, {
      ...(request === undefined ? {} : { requestBody: { required: bodyRequired(request), content: json(request) } }),
      responses: { 200: { description: 'the result', content: json(result) } },
    });
  }
  for (const [id, route] of Object.entries(STREAM_ROUTES)) {
    add(id, route, {
      description: `An HTTP Upgrade to \`${route.protocol}\`: after \`101 Switching Protocols\` the connection is the byte stream.`,
      responses: { 101: { description: 'the stream' } },
    });
  }
  add('events', FEED_ROUTES.events, {
    parameters: [
      { name: 'since', in: 'query', required: false, schema: { type: 'integer' }, description: 'replay the events after this id' },
      { name: 'stats', in: 'query', required: false, schema: { type: 'number' }, description: 'seconds between stats events (0: none; default 2)' },
    ],
    responses: { 200: { description: 'Server-Sent Events', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
  });
  add('openapi', FEED_ROUTES.openapi, { responses: { 200: { description: 'this document (OpenAPI 3.1)', content: json({ type: 'object' }) } } });
  return {
    openapi: '3.1.0',
    info: { title: 'dom0d API', version: '1', description: 'The Xen way of running virtual machines, on QEMU: what xl does, as HTTP/JSON.' },
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: API_SCHEMAS },
    paths,
  };
}
