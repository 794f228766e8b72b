/**
 * Validation of JSON against the schemas of dom0d's OpenAPI document, with Ajv (JSON Schema
 * 2020-12, strict: a schema with an unknown keyword or a keyword of the wrong type fails to
 * compile, so compiling is also a check of the document's schemas).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';

type Doc = Record<string, unknown>;

/** `~` and `/` escaped for a JSON Pointer token (RFC 6901). */
const token = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');

export class OpenApiValidator {
  readonly #ajv = new Ajv2020({ strict: true, allErrors: true });
  readonly #operations = new Map<string, string>();

  constructor(doc: Doc) {
    // The document itself is the root schema the `#/components/schemas/...` references resolve
    // in; its own members are keywords that validate nothing.
    this.#ajv.addVocabulary(Object.keys(doc));
    this.#ajv.addSchema({ ...doc, $id: 'openapi' });
    for (const [path, item] of Object.entries(doc['paths'] as Record<string, Record<string, { operationId: string }>>)) {
      for (const [method, op] of Object.entries(item)) this.#operations.set(op.operationId, `/paths/${token(path)}/${method}`);
    }
  }

  /** The compiled schema at `pointer` (a JSON Pointer into the document); throws when it does not compile. */
  compile(pointer: string): ValidateFunction {
    const v = this.#ajv.getSchema(`openapi#${pointer}`);
    if (v === undefined) throw new Error(`no schema at ${pointer}`);
    return v;
  }

  /** What is wrong with `value` as the schema at `pointer` (none: it is valid). */
  problems(pointer: string, value: unknown): string[] {
    const v = this.compile(pointer);
    return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath === '' ? '(top)' : e.instancePath} ${e.message ?? e.keyword}`);
  }

  /** The pointer of operation `id`'s request body schema, its 200 result's, or its error reply's. */
  pointer(id: string, part: 'request' | 'result' | 'error'): string {
    const op = this.#operations.get(id);
    if (op === undefined) throw new Error(`the document has no operation ${id}`);
    const content = 'content/application~1json/schema';
    return part === 'request' ? `${op}/requestBody/${content}` : `${op}/responses/${part === 'result' ? '200' : 'default'}/${content}`;
  }
}
