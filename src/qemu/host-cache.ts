/**
 * Cached facts about the host (`STATE_DIR/host/NAME.json`): `{ "key": ..., "value": ... }`.
 * A cached value counts only while its key (a digest of everything the fact depends on: the
 * QEMU binary, the kernel, /dev/kvm, the CPU) still matches, so a changed host re-probes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../host/index.js';

export function hostCacheFile(stateDir: string, name: string): string {
  return join(stateDir, 'host', `${name}.json`);
}

/** A short stable digest of `parts`. */
export function cacheKey(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** The cached value when the file exists, parses, and has `key`; otherwise undefined. */
export function readHostCache<T>(file: string, key: string): T | undefined {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { key?: unknown; value?: unknown };
    return doc.key === key ? (doc.value as T) : undefined;
  } catch {
    return undefined; // missing, unreadable or corrupt: probe again
  }
}

export function writeHostCache(file: string, key: string, value: unknown): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(file, `${JSON.stringify({ key, value }, null, 2)}\n`);
}
