import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
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

test('a log file that takes nothing for a while (a stalled disk) holds at most the ring in memory; the file says what it missed', async () => {
  const path = join(root, 'stalled.log');
  // Its first write stalls until the test lets it go on.
  let go!: () => void;
  const stalled = new Promise<void>((r) => (go = r));
  let writes = 0;
  const append = async (p: string, data: Buffer): Promise<void> => {
    if (writes++ === 0) await stalled;
    await appendFile(p, data);
  };
  const log = await ConsoleLog.open(path, { capacity: 256, append });
  log.write(Buffer.from('first\n'));
  const lines = Array.from({ length: 100 }, (_, i) => `line${String(i).padStart(2, '0')}\n`);
  for (const l of lines) log.write(Buffer.from(l));
  go();
  await log.close();
  const kept = lines.slice(-Math.floor(256 / 7)).join('');
  assert.equal(readFileSync(path, 'utf8'), `first\n\r\n[dom0: ${lines.join('').length - kept.length} bytes of console output not logged here: the log file took them too slowly]\r\n${kept}`);
  assert.equal(log.replay().toString(), `first\n${lines.join('')}`.slice(-256));
});

test('a renamed domain\'s log moves to its new name; a gone domain\'s log there is kept as .1, not replaced', async () => {
  const from = join(root, 'console', 'r1', 'console0.log');
  const to = join(root, 'console', 'r2', 'console0.log');
  const gone = await ConsoleLog.open(to, { capacity: 64 });
  gone.write(Buffer.from('the gone r2\n'));
  await gone.close();
  const log = await ConsoleLog.open(from, { capacity: 64 });
  log.write(Buffer.from('before\n'));
  await log.rename(to);
  log.write(Buffer.from('after\n'));
  await log.close();
  assert.equal(readFileSync(to, 'utf8'), 'before\nafter\n');
  assert.equal(readFileSync(`${to}.1`, 'utf8'), 'the gone r2\n');
});
