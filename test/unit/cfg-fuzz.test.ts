// Fuzz: 10,000 seeded mutations of valid configs (xl syntax and legacy xm). Each parse ends in a
// document or a typed ToolstackError whose lines have Xen's shape; never another exception.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../../src/common/index.js';
import { evaluateLegacyConfig, parseCfgText, parseCfg } from '../../src/config/index.js';
import type { CfgDocument } from '../../src/config/index.js';
import { rng } from '../support/rng.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SEEDS = [
  ...readdirSync(join(ROOT, 'examples', 'article')).map((f) => join(ROOT, 'examples', 'article', f)),
  ...readdirSync(join(ROOT, 'test', 'golden', 'cfg')).filter((f) => f.endsWith('.json')).map((f) => join(ROOT, 'test', 'golden', 'cfg', f.replace(/\.json$/, '.cfg'))),
].map((p) => readFileSync(p, 'utf8'));


const ALPHABET = ['"', '\'', '\\', '[', ']', ',', '=', '+=', ';', '#', '\n', '\r', '\t', ' ', '(', ')', ':', '.', '-', '+', '%', 'x', 'A', '0', '9', '\0', 'é', '☃', 'if ', 'else:', '    ', 'import re\n', '\\x', '\\1', '"""'];

function mutate(text: string, r: () => number): string {
  let s = text;
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (s.length + 1));
    const len = Math.floor(r() * 8);
    switch (Math.floor(r() * 5)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + len);
        break;
      case 1:
        s = s.slice(0, at) + (ALPHABET[Math.floor(r() * ALPHABET.length)] as string) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      case 3:
        s = s.slice(0, at);
        break;
      default: {
        const lines = s.split('\n');
        const i = Math.floor(r() * lines.length);
        const j = Math.floor(r() * lines.length);
        [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
        s = lines.join('\n');
      }
    }
  }
  return s;
}

const ERROR_LINE = /^f\.cfg:-?\d+: config parsing error near (`[^]*'|<newline>|): [^\n]+$|^warning: {1,2}[^\n]+$|^Failed to parse config: Invalid argument$/;

function check(text: string): 'ok' | 'syntax' | 'legacy' {
  let doc: CfgDocument;
  try {
    doc = parseCfg(text, { source: 'f.cfg' });
  } catch (e) {
    assert.ok(isToolstackError(e, 'CFG_SYNTAX'), `not a CFG_SYNTAX error: ${String(e)}`);
    const lines = e.lines ?? [];
    assert.ok(lines.length >= 2 && lines.at(-1) === 'Failed to parse config: Invalid argument');
    for (const l of lines) assert.match(l, ERROR_LINE);
    assert.ok(e.hint !== undefined && !e.hint.includes('\n'));
    if (!parseCfgText(text, 'f.cfg').likelyPython) return 'syntax';
    try {
      evaluateLegacyConfig(text, { source: 'f.cfg' });
    } catch (le) {
      assert.ok(isToolstackError(le, 'CFG_LEGACY'), `not a CFG_LEGACY error: ${String(le)}`);
      assert.equal(le.lines?.length, 1);
      assert.match(le.message, /^f\.cfg:\d+: legacy config error: [^\n]+$/);
      return 'legacy';
    }
    return 'ok';
  }
  for (const s of doc.settings) assert.ok(s.line >= 1 && /^[a-z][._0-9a-z]*$/.test(s.name));
  return 'ok';
}

test('10,000 mutated configs: a result or a typed error, never a crash', () => {
  const r = rng(20260811);
  const seen = { ok: 0, syntax: 0, legacy: 0 };
  for (let i = 0; i < 10_000; i++) {
    const text = mutate(SEEDS[Math.floor(r() * SEEDS.length)] as string, r);
    try {
      seen[check(text)]++;
    } catch (e) {
      assert.fail(`mutation ${i} (${JSON.stringify(text.slice(0, 400))}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // The mutations exercise every outcome.
  assert.ok(seen.ok > 0 && seen.syntax > 0 && seen.legacy > 0, JSON.stringify(seen));
});
