// Golden cases of the xl.cfg grammar: test/golden/cfg/NAME.cfg parses to NAME.json (the
// `xl config-parse --raw` array) or fails with exactly the stderr lines of NAME.err.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../../src/common/index.js';
import { parseCfg, rawCfgSettings } from '../../src/config/index.js';

const DIR = join(import.meta.dirname, '..', '..', '..', 'test', 'golden', 'cfg');

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.cfg')).sort()) {
  const name = file.slice(0, -4);
  test(`cfg golden: ${name}`, () => {
    const text = readFileSync(join(DIR, file), 'utf8');
    const jsonPath = join(DIR, `${name}.json`);
    const errPath = join(DIR, `${name}.err`);
    assert.ok(existsSync(jsonPath) !== existsSync(errPath), `${name}: exactly one of .json and .err must exist`);
    if (existsSync(jsonPath)) {
      assert.deepEqual(rawCfgSettings(parseCfg(text, { source: file })), JSON.parse(readFileSync(jsonPath, 'utf8')));
      return;
    }
    assert.throws(() => parseCfg(text, { source: file }), (e: unknown) => {
      assert.ok(isToolstackError(e, 'CFG_SYNTAX'));
      assert.equal(`${[...(e.lines ?? []), `hint: ${e.hint ?? ''}`].join('\n')}\n`, readFileSync(errPath, 'utf8'));
      return true;
    });
  });
}
