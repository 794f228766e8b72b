// Build: every .ts under src/, test/ and bench/ is transpiled one-to-one into dist/ (tests and
// benches import modules by path), and each executable entry is bundled into one file so that
// `xl` starts by loading a single module (cold start is measured in bench/).
import { readdirSync, statSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = ['src', 'test', 'bench'].flatMap((d) => walk(join(root, d), []));
rmSync(join(dist, 'bin'), { recursive: true, force: true });
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
const entries = { xl: 'src/cli/bin.ts', dom0d: 'src/daemon/bin.ts' };
await esbuild.build({
  entryPoints: Object.fromEntries(
    Object.entries(entries)
      .filter(([, p]) => { try { return statSync(join(root, p)).isFile(); } catch { return false; } })
      .map(([k, p]) => [k, join(root, p)]),
  ),
  outdir: join(dist, 'bin'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
console.error(`build: ${files.length} files -> ${relative(process.cwd(), dist) || '.'}`);
