import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DomainEvents, DomainRegistry } from '../domain/index.js';
import { ConsoleLog } from './console-log.js';
import { ConsoleHub } from './hub.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-console-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('ConsoleLog replays its output after a reopen and keeps the file bounded', async () => {
  const path = join(root, 'console-a.log');
  const log = await ConsoleLog.open(path, { capacity: 16 });
  const live: string[] = [];
  log.subscribe((c) => live.push(c.toString()));
  for (let i = 0; i < 10; i++) log.write(Buffer.from(`line${i}\n`));
  await log.close();
  assert.equal(live.join(''), Array.from({ length: 10 }, (_, i) => `line${i}\n`).join(''));
  assert.equal(log.replay().toString(), 'ne7\nline8\nline9\n');
  assert.ok(statSync(path).size <= 32);
  assert.ok(readFileSync(path, 'utf8').endsWith('line9\n'));
  const again = await ConsoleLog.open(path, { capacity: 16 });
  assert.equal(again.replay().toString(), log.replay().toString());
});

test('ConsoleHub opens, renames and closes logs as domains come and go', async () => {
  const events = new DomainEvents();
  const hub = new ConsoleHub(root);
  hub.follow(events);
  const reg = await DomainRegistry.open(join(root, 'domains'), { events });
  const rec = await reg.reserve({ name: 'g', config: {}, memKiB: 1024, vcpus: 1 });
  (await hub.get(rec.domid))!.write(Buffer.from('boot\n'));
  await reg.rename(rec.domid, 'h');
  const log = (await hub.get(rec.domid))!;
  await log.flushed();
  assert.equal(log.path, join(root, 'console-h.log'));
  assert.equal(readFileSync(log.path, 'utf8'), 'boot\n');
  await reg.transition(rec.domid, 'dying');
  await reg.transition(rec.domid, 'destroyed');
  assert.equal(await hub.get(rec.domid), undefined);
  await hub.closeAll();
});
