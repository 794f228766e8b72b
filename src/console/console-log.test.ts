import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConsoleLog } from './console-log.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-console-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('ConsoleLog: a fresh ring per open, the file appended across opens and kept bounded', async () => {
  const path = join(root, 'console', 'a', 'console0.log');
  const log = await ConsoleLog.open(path, { capacity: 16 });
  const live: string[] = [];
  log.subscribe((c) => live.push(c.toString()));
  for (let i = 0; i < 10; i++) log.write(Buffer.from(`line${i}\n`));
  await log.close();
  assert.equal(live.join(''), Array.from({ length: 10 }, (_, i) => `line${i}\n`).join(''));
  assert.equal(log.replay().toString(), 'ne7\nline8\nline9\n');
  assert.ok(statSync(path).size <= 32);
  assert.ok(readFileSync(path, 'utf8').endsWith('line9\n'));
  // The next domain of that name replays only its own output; the file keeps the older lines.
  const next = await ConsoleLog.open(path, { capacity: 16 });
  assert.equal(next.replay().toString(), '');
  next.preload(Buffer.from('early\n'));
  next.write(Buffer.from('new\n'));
  await next.close();
  assert.equal(next.replay().toString(), 'early\nnew\n');
  assert.ok(readFileSync(path, 'utf8').endsWith('line9\nnew\n'));
});
