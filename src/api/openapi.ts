import { API_ROUTES, FEED_ROUTES, STREAM_ROUTES } from './routes.js';
import type { ApiRoute } from './routes.js';

/** `/v1/domains/:ref` → `/v1/domains/{ref}`, and the parameter names in order. */
function openApiPath(path: string): { readonly path: string; readonly params: string[] } {
  const params: string[] = [];
  const out = path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: out, params };
}

const JSON_OBJECT = { type: 'object' } as const;
const ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'a stable dom0 error code (ERROR_CODES)' },
        message: { type: 'string' },
        hint: { type: 'string' },
        lines: { type: 'array', items: { type: 'string' }, description: 'what xl prints for it' },
        exitCode: { type: 'integer' },
      },
    },
  },
} as const;

/**
 * The OpenAPI 3.1 document of dom0d's API, made from the one route table (`API_ROUTES`, the
 * stream and feed routes): every operation with its path parameters, POST bodies and results as
 * JSON objects (their fields are the request and result types of `ToolstackApi`), errors as
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
        ...(op['responses'] as Record<string, unknown> | undefined ?? { 200: { description: 'the result', content: { 'application/json': { schema: JSON_OBJECT } } } }),
        default: { description: 'a failure', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  };
  for (const [id, route] of Object.entries(API_ROUTES)) {
    add(id, route, route.method === 'POST' ? { requestBody: { required: false, content: { 'application/json': { schema: JSON_OBJECT } } } } : {});
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
  add('openapi', FEED_ROUTES.openapi, {});
  return {
    openapi: '3.1.0',
    info: { title: 'dom0d API', version: '1', description: 'The Xen way of running virtual machines, on QEMU: what xl does, as HTTP/JSON.' },
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Error: ERROR } },
    paths,
  };
}
