// `xl`'s process entry: dist/bin/xl.cjs, this file with the names of PACK and ENTRY written in by
// scripts/build.mjs. xl's bundle is CommonJS chunks; the entry and the chunks it imports
// statically (what every command runs: the command table, option parsing, errors) come together
// in one script, the pack, and every other chunk (each command, the API client, config code) is a
// file of its own, loaded when first required: a command loads its own code and what it imports,
// nothing of the others'. The pack and every chunk file have a V8 code cache beside them
// (`FILE.cache`), so that start-up compiles almost nothing: Node 20 has no compile cache of its
// own for modules. A chunk file holds its chunk already wrapped as the function the loader calls
// (`wrap`), so that its source is read into one string and never copied: what `xl list` allocates
// then stays under the share of V8's young generation (~800 KB) that makes V8 collect it, a
// scavenge of 2-5 ms here. A missing or rejected cache (another Node version) only costs the
// compile. In a chunk, a relative require is another chunk of the bundle; anything else goes to Node's
// `require` (builtins).
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const { Script } = require('node:vm');

/** The pack: a script whose value maps each of its chunks' paths (from here) to `wrap`'s function. */
const PACK = 'chunks/xl-pack.js';
/** xl's entry chunk, in the pack. */
const ENTRY = 'chunks/xl-main.cjs';

/** A chunk's source as the function the loader calls: a chunk file's content, an entry of the pack. */
const wrap = (source) => `(function (exports, require, module, __filename, __dirname) {"use strict";${source}\n})`;

function compile(file, source) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // no cache: compiled from source
  }
  return new Script(source, { filename: file, cachedData }).runInThisContext();
}

const loaded = new Map();
let pack;

function load(file) {
  const known = loaded.get(file);
  if (known !== undefined) return known.exports;
  const module = { exports: {} };
  loaded.set(file, module);
  const fn = pack[relative(__dirname, file)] ?? compile(file, readFileSync(file, 'utf8'));
  const dir = dirname(file);
  const requireChunk = (spec) => (spec.startsWith('.') ? load(join(dir, spec)) : require(spec));
  fn.call(module.exports, module.exports, requireChunk, module, file, dir);
  return module.exports;
}

/** Runs xl (process.argv as Node gives it). */
function run() {
  const packFile = join(__dirname, PACK);
  pack = compile(packFile, readFileSync(packFile, 'utf8'));
  load(join(__dirname, ENTRY));
}

module.exports = { wrap, run };
if (require.main === module) run();
