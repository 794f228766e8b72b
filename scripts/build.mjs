// Build: every .ts under src/, test/ and bench/ is transpiled one-to-one into dist/ (tests and
// benches import modules by path), and each executable entry is bundled into one file so that
// `xl` starts by loading a single module (cold start is measured in bench/).
import { mkdirSync, rmSync, renameSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import { root, filesEndingWith } from './lib.mjs';

const dist = join(root, 'dist');

const files = ['src', 'test', 'bench']
  .flatMap((d) => filesEndingWith(join(root, d), '.ts'))
  .filter((f) => !f.endsWith('.d.ts'));
mkdirSync(dist, { recursive: true });
await esbuild.build({
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
// Each executable is bundled on its own: chunks shared with another executable would carry
// that one's code into this one's start-up.
const entries = { xl: 'src/cli/bin.ts', dom0d: 'src/daemon/bin.ts' };
for (const [name, path] of Object.entries(entries)) {
  await esbuild.build({
    entryPoints: { [name]: join(root, path) },
    outdir: tmpBin,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    splitting: true,
    chunkNames: `chunks/${name}-[name]-[hash]`,
    logLevel: 'warning',
  });
}
const binDir = join(dist, 'bin');
mkdirSync(join(binDir, 'chunks'), { recursive: true });
const built = filesEndingWith(tmpBin, '.js').sort((a, b) => Number(b.includes('/chunks/')) - Number(a.includes('/chunks/')));
const fresh = new Set(built.map((f) => join(binDir, relative(tmpBin, f))));
for (const f of built) renameSync(f, join(binDir, relative(tmpBin, f)));
// Chunks of earlier builds go once no `xl` started before this build can still be loading them.
for (const f of filesEndingWith(join(binDir, 'chunks'), '.js')) {
  if (!fresh.has(f) && Date.now() - statSync(f).mtimeMs > 10 * 60_000) rmSync(f, { force: true });
}
rmSync(tmpBin, { recursive: true, force: true });
console.error(`build: ${files.length} files -> ${relative(process.cwd(), dist) || '.'}`);
