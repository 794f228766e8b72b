// Build: every .ts under src/, test/ and bench/ is transpiled one-to-one into dist/ (tests and
// benches import modules by path), and each executable is bundled into dist/bin/ so that it
// starts by loading little (cold start is measured in bench/):
// - dom0d: one ES module, dist/bin/dom0d.js (with chunks for what it imports dynamically);
// - xl: CommonJS chunks with V8 code caches, run by scripts/xl-loader.cjs (dist/bin/xl.cjs): ES
//   module loading alone costs Node 20 a tenth of a `node -e 0`, each file loaded costs, and only
//   a script of our own compiled through `vm` can use a code cache. A command loads the loader,
//   the pack and its own chunks, no other command's code and no config code unless it reads one.
// Running it again gives the same dist/ (chunk names carry a hash of their content).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import * as esbuild from 'esbuild';
import { filesEndingWith, root } from './lib.mjs';

const dist = join(root, 'dist');
const LOADER = join(root, 'scripts', 'xl-loader.cjs');

const files = ['src', 'test', 'bench']
  .flatMap((d) => filesEndingWith(join(root, d), '.ts'))
  .filter((f) => !f.endsWith('.d.ts'));
mkdirSync(dist, { recursive: true });
// The build's id (src/common/build.ts): its sources and dependencies, hashed.
const buildHash = createHash('sha256');
for (const f of [...filesEndingWith(join(root, 'src'), '.ts').sort(), join(root, 'package-lock.json')]) buildHash.update(relative(root, f)).update(readFileSync(f));
const define = { __DOM0_BUILD__: JSON.stringify(buildHash.digest('hex').slice(0, 12)) };
await esbuild.build({
  define,
  entryPoints: files,
  outdir: dist,
  outbase: root,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});

// Bundles are written aside and renamed into dist/bin file by file (chunks before entries), so a
// running `xl` never loads a half-written file.
const tmpBin = join(dist, `.bin-${process.pid}`);
const bundle = {
  define,
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  splitting: true,
  logLevel: 'warning',
};
// Each executable is bundled on its own: chunks shared with another executable would carry
// that one's code into this one's start-up.
await esbuild.build({
  ...bundle,
  entryPoints: { dom0d: join(root, 'src/daemon/bin.ts') },
  outdir: tmpBin,
  format: 'esm',
  chunkNames: 'chunks/dom0d-[name]-[hash]',
});
await buildXl(join(root, 'src/cli/bin.ts'), tmpBin);

for (const f of filesEndingWith(tmpBin, '.js').filter((f) => /\/dom0d[^/]*\.js$/.test(f))) writeFileSync(f, asciiOnly(readFileSync(f, 'utf8')));

const binDir = join(dist, 'bin');
mkdirSync(join(binDir, 'chunks'), { recursive: true });
const built = filesEndingWith(tmpBin, '').sort((a, b) => Number(b.includes('/chunks/')) - Number(a.includes('/chunks/')));
const fresh = new Set(built.map((f) => join(binDir, relative(tmpBin, f))));
for (const f of built) renameSync(f, join(binDir, relative(tmpBin, f)));
// Chunks of earlier builds go 10 minutes after a build first left them out (when, is kept in
// STALE): an `xl` started before (a console session, say) may still load one it had not needed.
const STALE = join(binDir, '.stale-chunks.json');
let staleSince = {};
try {
  staleSince = JSON.parse(readFileSync(STALE, 'utf8'));
} catch {
  // no chunk was left out yet
}
const stillStale = {};
for (const f of filesEndingWith(join(binDir, 'chunks'), '')) {
  if (fresh.has(f)) continue;
  const since = staleSince[relative(binDir, f)] ?? Date.now();
  if (Date.now() - since > 10 * 60_000) rmSync(f, { force: true });
  else stillStale[relative(binDir, f)] = since;
}
writeFileSync(STALE, `${JSON.stringify(stillStale)}\n`);
rmSync(tmpBin, { recursive: true, force: true });
console.error(`build: ${files.length} files -> ${relative(process.cwd(), dist) || '.'}`);

/**
 * xl's bundle into `outDir` (see scripts/xl-loader.cjs): split as ES modules (esbuild splits only
 * those), each output then turned into CommonJS (a dynamic import becomes a require, so a chunk
 * still loads only when a command needs it; `import.meta.url` and `import.meta.dirname` become
 * the chunk's own: node:url, 108 KB of young heap, loads only for a chunk that asks a URL). The
 * entry and the chunks it imports statically make the pack; each other chunk is a file. Measured
 * (`xl list`): a pack of every chunk without config code (265 KB, its code cache 490 KB) cost ~8
 * ms more than this one (65 KB) and the few files a command loads besides. Every name carries a
 * hash of the content, so a code cache beside a file is always that file's (V8 checks little
 * more than the length); the loader, `xl.cjs`, gets the pack's and the entry's names.
 */
async function buildXl(entry, outDir) {
  const { wrap } = createRequire(import.meta.url)(LOADER);
  const { outputFiles, metafile } = await esbuild.build({
    ...bundle,
    absWorkingDir: root,
    entryPoints: { 'xl-main': entry },
    outdir: outDir,
    format: 'esm',
    entryNames: 'chunks/[name]-[hash]',
    chunkNames: 'chunks/xl-[name]-[hash]',
    outExtension: { '.js': '.fn.cjs' }, // a wrapped chunk (see xl-loader.cjs), never named as an unwrapped one was
    metafile: true,
    write: false,
  });
  // The pack: the entry and what it imports statically (what every command runs).
  const outputs = metafile.outputs;
  const entryOut = Object.keys(outputs).find((path) => outputs[path].entryPoint === relative(root, entry));
  const packed = new Set();
  for (const stack = [entryOut]; stack.length > 0;) {
    const path = stack.pop();
    if (packed.has(path)) continue;
    packed.add(path);
    for (const i of outputs[path].imports) if (i.kind === 'import-statement' && i.external !== true) stack.push(i.path);
  }
  mkdirSync(join(outDir, 'chunks'), { recursive: true });
  let entryChunk;
  let pack = '';
  for (const out of outputFiles) {
    const name = relative(outDir, out.path);
    const code = await toCommonJs(out.text, name);
    if (relative(root, out.path) === entryOut) entryChunk = name;
    if (!packed.has(relative(root, out.path))) {
      writeFileSync(out.path, wrap(code));
      writeFileSync(`${out.path}.cache`, codeCache(wrap(code), out.path));
    } else {
      pack += `${JSON.stringify(name)}: ${wrap(code)},\n`;
    }
  }
  pack = `({\n${pack}})\n`;
  const packName = `chunks/xl-pack-${createHash('sha256').update(pack).digest('hex').slice(0, 8).toUpperCase()}.js`;
  writeFileSync(join(outDir, packName), pack);
  writeFileSync(join(outDir, `${packName}.cache`), codeCache(pack, join(outDir, packName)));
  let loader = readFileSync(LOADER, 'utf8');
  for (const [constant, value] of [['PACK', packName], ['ENTRY', entryChunk]]) {
    const line = new RegExp(`^const ${constant} = '[^']*';$`, 'm');
    if (value === undefined || !line.test(loader)) throw new Error(`build: xl: no ${constant} for the loader`);
    loader = loader.replace(line, `const ${constant} = '${value}';`);
  }
  writeFileSync(join(outDir, 'xl.cjs'), loader);
}

/**
 * `text` with each non-ASCII character written `\u{…}`. esbuild escapes them in strings, templates
 * and regular expressions already; those left are in the comments it keeps, and one of them (an
 * em dash) made V8 hold dom0d's whole source as two-byte characters, twice its size, for as long
 * as dom0d runs.
 */
function asciiOnly(text) {
  return text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
}

/** An ES module of the split bundle as CommonJS; anything esbuild cannot carry over is an error. */
async function toCommonJs(text, name) {
  const usesUrl = text.includes('import.meta.url');
  const { code, warnings } = await esbuild.transform(text, {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    supported: { 'dynamic-import': false },
    sourcefile: name,
    define: { 'import.meta.dirname': '__dirname', ...(usesUrl ? { 'import.meta.url': '__chunkUrl' } : {}) },
    ...(usesUrl ? { banner: 'const __chunkUrl = require("node:url").pathToFileURL(__filename).href;' } : {}),
  });
  if (warnings.length > 0) throw new Error(`build: ${name}: ${warnings.map((w) => w.text).join('; ')}`);
  return asciiOnly(code);
}

/**
 * V8's code cache of `source` with every function compiled (not only the top level), so that a
 * cached chunk compiles nothing when it runs. V8 accepts it in a plain `node`: the flags are
 * back to the defaults when the cache is made.
 */
function codeCache(source, filename) {
  setFlagsFromString('--no-lazy');
  let script;
  try {
    script = new Script(source, { filename });
  } finally {
    setFlagsFromString('--lazy');
  }
  return script.createCachedData();
}

