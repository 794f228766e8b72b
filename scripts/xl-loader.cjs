// `xl`'s process entry: dist/bin/xl.cjs, this file with the names of PACK and ENTRY written in by
// scripts/build.mjs. xl's bundle is CommonJS chunks; the entry and the chunks it imports
// statically (what every command runs: the command table, option parsing, errors) come together
// in one script, the pack, and every other chunk (each command, the API client, config code) is a
// file of its own, loaded when first required: a command loads its own code and what it imports,
// nothing of the others'. The pack and every chunk file have a V8 code cache beside them
// (`FILE.cache`), so that start-up compiles almost nothing: Node 20 has no compile cache of its
// own for modules. A missing or rejected cache (another Node version) only costs the compile. In a
// chunk, a relative require is another chunk of the bundle; anything else goes to Node's
// `require` (builtins).
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const { Script } = require('node:vm');

/** The pack: a script whose value maps each of its chunks' paths (from here) to `wrap`'s function. */
const PACK = 'chunks/xl-pack.js';
/** xl's entry chunk, in the pack. */
const ENTRY = 'chunks/xl-main.cjs';

/** A chunk's source as the function the loader calls, as the build compiled it for its cache. */
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
  const fn = pack[relative(__dirname, file)] ?? compile(file, wrap(readFileSync(file, 'utf8')));
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
