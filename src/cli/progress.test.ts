import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { MigrationProgress } from '../api/index.js';
import type { CommandContext } from './command.js';
import { progressLine, withProgress } from './progress.js';

const AT: MigrationProgress = {
  domid: 3, name: 'g', status: 'active', transferredBytes: 48 << 20, remainingBytes: 80 << 20, totalBytes: 128 << 20,
  dirtyPagesPerSecond: 1200, pageBytes: 4096, iterations: 2, expectedDowntimeMs: 12, mbps: 900,
};

function ctxWith(progress: boolean): { ctx: CommandContext; err: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  const ctx = { progress, stderr, warn: () => undefined } as unknown as CommandContext;
  return { ctx, err: () => text };
}

test('a progress line gives RAM sent and left, the pass, the dirty rate and the expected downtime', () => {
  assert.equal(progressLine('migration sender', AT).trimEnd(),
    'migration sender: 48.0 MiB sent, 80.0 of 128.0 MiB left, pass 2, dirtying 1200 pages/s, expected downtime 12 ms');
});

test('progress is drawn with CR while the work runs and ended with a newline; none without -t or a terminal', async () => {
  let asked = 0;
  const api = { getMigrationProgress: () => Promise.resolve({ ...AT, transferredBytes: (++asked) << 20 }) };
  const on = ctxWith(true);
  const value = await withProgress(on.ctx, api, 'g', 'migration sender', new Promise((r) => setTimeout(() => r(42), 450)));
  assert.equal(value, 42);
  assert.ok(asked >= 2, `asked ${asked} times`);
  assert.match(on.err(), /^\rmigration sender: 1\.0 MiB sent, .*\rmigration sender: 2\.0 MiB sent, .*\n$/s);
  const off = ctxWith(false);
  assert.equal(await withProgress(off.ctx, api, 'g', 'migration sender', Promise.resolve(7)), 7);
  assert.equal(off.err(), '');
  // A failure still ends the line; a domain that is gone meanwhile only stops the drawing.
  const failing = ctxWith(true);
  const gone = { getMigrationProgress: () => Promise.reject(new Error('no such domain')) };
  await assert.rejects(withProgress(failing.ctx, gone, 'g', 'Saving', new Promise((_, rej) => setTimeout(() => rej(new Error('broke')), 250))), /broke/);
  assert.equal(failing.err(), '');
});
