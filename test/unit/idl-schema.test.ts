// The JSON Schema /openapi.json gives a domain config (`DomainConfig`, made from libxl's IDL by
// `idlJsonSchemas`) accepts every config xl resolves (the golden create cases and 1,000 generated
// ones, through dom0's JSON transport), and agrees with `idlFromJson`, the check dom0d makes of a
// config it is sent, on 5,000 seeded mutations of them: a member replaced by another value, or
// an unknown one added. (Two rules are not in the schema, see idl-schema.ts; no mutation here
// makes a 64-bit integer of digits or a second union member.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiDocument } from '../../src/api/index.js';
import { toJson } from '../../src/common/index.js';
import { DOMAIN_CONFIG, idlFromJson, idlToJson } from '../../src/config/index.js';
import type { DomainConfig } from '../../src/config/index.js';
import { generatedConfig, goldenConfigs } from '../support/config-corpus.js';
import { OpenApiValidator } from '../support/openapi.js';
import { rng } from '../support/rng.js';
import { generate } from '../xen-reference/generate.js';

const validator = new OpenApiValidator(openApiDocument());
const POINTER = '/components/schemas/DomainConfig';

/** The configs xl resolves of the golden create cases and of 1,000 generated cases, as dom0d sends them. */
function corpus(): unknown[] {
  const configs: DomainConfig[] = [
    ...goldenConfigs().map((g) => g.config),
    ...generate(20260813, 1000).flatMap((c) => generatedConfig(c) ?? []),
  ];
  return configs.map((c) => JSON.parse(toJson(idlToJson(DOMAIN_CONFIG, c))) as unknown);
}

const configs = corpus();

test('the DomainConfig schema accepts every config xl resolves', () => {
  assert.ok(configs.length >= 300, `only ${configs.length} configs`);
  for (const c of configs) assert.deepEqual(validator.problems(POINTER, c), [], toJson(c));
});

const VALUES: readonly unknown[] = [
  'x', '', 'True', 'False', '<default>', 'XX', '00:16:3E:00:00:01', '11112222-3333-4444-5555-66667777888A', 0, -1, 1, 255, 256, 65536,
  2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, 1.5, true, false, null, {}, [], [1], ['a'], [-1], { a: 'b' }, { a: 1 },
];

/** Every path to a member or element of `v`, containers included. */
function paths(v: unknown, at: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> {
  if (typeof v !== 'object' || v === null) return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
}

function withValue(v: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const [k, ...rest] = path as [string | number, ...Array<string | number>];
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[k] = withValue(copy[k], rest, value);
  return copy;
}

test('the DomainConfig schema and idlFromJson agree on 5,000 mutated configs', () => {
  const r = rng(20260813);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const verdicts = { accepted: 0, rejected: 0 };
  for (let i = 0; i < 5000; i++) {
    const config = pick(configs);
    const objects = paths(config).filter((p) => { const x = p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], config); return typeof x === 'object' && x !== null && !Array.isArray(x); });
    const mutated = r() < 0.2 && objects.length > 0
      ? withValue(config, [...pick(objects), 'no_such_field'], 1)
      : withValue(config, pick(paths(config)), pick(VALUES));
    const bySchema = validator.problems(POINTER, mutated).length === 0;
    let byIdl = true;
    try {
      idlFromJson(DOMAIN_CONFIG, mutated);
    } catch {
      byIdl = false;
    }
    assert.equal(bySchema, byIdl, `schema ${bySchema ? 'accepts' : 'rejects'}, idlFromJson ${byIdl ? 'accepts' : 'rejects'}: ${toJson(mutated)}`);
    verdicts[bySchema ? 'accepted' : 'rejected']++;
  }
  assert.ok(verdicts.accepted >= 300 && verdicts.rejected >= 3000, JSON.stringify(verdicts));
});
