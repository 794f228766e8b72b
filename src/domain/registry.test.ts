import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { DomainEvents } from './events.js';
import type { DomainEvent } from './events.js';
import type { NewDomain } from './record.js';
import { DomainRegistry } from './registry.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-registry-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `d${++n}`);
const dom = (name: string): NewDomain => ({ config: { c_info: { name } } });

test('reserve() allocates increasing domids from 1, unique names and uuids', async () => {
  const reg = await DomainRegistry.open(freshDir());
  const a = await reg.reserve(dom('a'));
  const b = await reg.reserve(dom('b'));
  assert.deepEqual([a.domid, b.domid, a.state], [1, 2, 'creating']);
  assert.match(a.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.notEqual(a.uuid, b.uuid);
  await assert.rejects(reg.reserve(dom('a')), (e: unknown) => isToolstackError(e, 'DOMAIN_EXISTS'));
  await assert.rejects(reg.reserve(dom('Domain-0')), (e: unknown) => isToolstackError(e, 'DOMAIN_EXISTS'));
  await assert.rejects(reg.reserve(dom('x/y')), (e: unknown) => isToolstackError(e, 'CFG_VALUE'));
});

test('a config naming its domid (xl save/migrate -D) gets it when free; the stored config does not keep it', async () => {
  const reg = await DomainRegistry.open(freshDir());
  const a = await reg.reserve({ config: { c_info: { name: 'a', domid: 7 } } });
  assert.equal(a.domid, 7);
  assert.equal(a.config.c_info?.domid, undefined);
  assert.equal((await reg.reserve(dom('b'))).domid, 1);
  await assert.rejects(reg.reserve({ config: { c_info: { name: 'c', domid: 7 } } }),
    (e: unknown) => isToolstackError(e, 'DOMAIN_EXISTS') && /domid 7: domain 'a' has it/.test((e as Error).message));
  await assert.rejects(reg.reserve({ config: { c_info: { name: 'd', domid: 40000 } } }), (e: unknown) => isToolstackError(e, 'CFG_VALUE'));
  assert.equal((await reg.reserve({ config: { c_info: { name: 'e', domid: 0 } } })).domid, 2);
});

test('of concurrent reservations of one name exactly one succeeds', async () => {
  const reg = await DomainRegistry.open(freshDir());
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => reg.reserve(dom('same'))));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.equal(reg.size, 1);
});

test('records persist atomically and reload with the same domids, names and state', async () => {
  const dir = freshDir();
  const reg = await DomainRegistry.open(dir);
  const a = await reg.reserve(dom('a'));
  await reg.reserve({ ...dom('b'), source: '/etc/xen/b.cfg', sourceText: 'name = "b"\n' });
  await reg.transition(a.domid, 'running', { qemuPid: 1234, qmpSocket: '/run/q.sock', consoles: [{ id: 'console0', kind: 'pv', index: 0, socket: '/run/c.sock', feed: '/s/c.log', tty: '/run/c.tty' }], startTime: 5 });
  await reg.rename(2, 'b2');
  await reg.flush();
  assert.deepEqual(readdirSync(dir).sort(), ['1.json', '2.json', 'next-domid']);
  const again = await DomainRegistry.open(dir);
  assert.deepEqual(again.list(), reg.list());
  assert.equal(again.byName('b2')?.domid, 2);
  assert.equal(again.byName('b2')?.sourceText, 'name = "b"\n');
  assert.equal((await again.reserve(dom('c'))).domid, 3);
});

test('domids are not reused after a destroy, even across a reload', async () => {
  const dir = freshDir();
  const reg = await DomainRegistry.open(dir);
  const a = await reg.reserve(dom('a'));
  await reg.transition(a.domid, 'dying');
  await reg.transition(a.domid, 'destroyed');
  assert.deepEqual(readdirSync(dir), ['next-domid']);
  assert.equal((await reg.reserve(dom('a'))).domid, 2);
  const again = await DomainRegistry.open(dir);
  assert.equal((await again.reserve(dom('z'))).domid, 3);
});

test('an unreadable record is reported and kept aside, its domid not handed out again; stale temp files are removed', async () => {
  const dir = freshDir();
  const reg = await DomainRegistry.open(dir);
  await reg.reserve(dom('good'));
  writeFileSync(join(dir, '7.json'), '{"version":1, "domid": 7');
  writeFileSync(join(dir, '1.json.99.1.tmp'), 'partial');
  const warnings: string[] = [];
  const again = await DomainRegistry.open(dir, { warnings });
  assert.deepEqual(again.list().map((r) => r.name), ['good']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /7\.json is unreadable \(.+\): kept as .*7\.json\.corrupt-\d+$/);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')));
  assert.ok(readdirSync(dir).some((f) => f.startsWith('7.json.corrupt-')));
  assert.equal((await again.reserve(dom('next'))).domid, 8);
});

test('a record the host cannot read now (an I/O error, not its content) stops the start and stays as it is', async () => {
  const dir = freshDir();
  const reg = await DomainRegistry.open(dir);
  await reg.reserve(dom('good'));
  // Reading it fails with ELOOP, as a disk's EIO or a full file table's EMFILE would.
  symlinkSync('5.json', join(dir, '5.json'));
  await assert.rejects(DomainRegistry.open(dir), (e: unknown) => isToolstackError(e, 'IO') && /5\.json failed: /.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('5.json')), ['5.json']);
});

test('a domid another dom0 of the host names its interfaces after is handed out only when no other is free', async () => {
  const dir = freshDir();
  const elsewhere = new Set([1, 3]);
  const reg = await DomainRegistry.open(dir, { domidElsewhere: (d) => elsewhere.has(d) });
  assert.deepEqual([(await reg.reserve(dom('a'))).domid, (await reg.reserve(dom('b'))).domid], [2, 4]);
  // Asked for by number, it is given (its vifs are then refused by name, which says whose they are).
  assert.equal((await reg.reserve({ config: { c_info: { name: 'c', domid: 1 } } })).domid, 1);
});

test('events follow persisted changes', async () => {
  const events = new DomainEvents();
  const seen: string[] = [];
  events.on((e: DomainEvent) => seen.push(e.type === 'state' ? `${e.from}>${e.to}` : e.type));
  const dir = freshDir();
  const reg = await DomainRegistry.open(dir, { events });
  const a = await reg.reserve(dom('a'));
  await reg.transition(a.domid, 'paused');
  assert.equal(JSON.parse(readFileSync(join(dir, '1.json'), 'utf8')).state, 'paused');
  await reg.rename(a.domid, 'b');
  await reg.transition(a.domid, 'dying');
  await reg.transition(a.domid, 'destroyed');
  assert.deepEqual(seen, ['created', 'creating>paused', 'renamed', 'paused>dying', 'dying>destroyed', 'destroyed']);
});

test('names: Xen\'s rules plus the file system\'s, checked for create and rename alike; uuids are unique', async () => {
  const reg = await DomainRegistry.open(freshDir());
  // A lone surrogate (the API's JSON allows one) is U+FFFD as a file name: u\ud800 and u\ud801 shared one log.
  const bad = ['', 'a/b', 'a\nb', '.', '..', 'x'.repeat(245), 'é'.repeat(123), '5', '0123', 'u\ud800', 'u\udc00x'];
  for (const name of bad) {
    await assert.rejects(reg.reserve(dom(name)), (e: unknown) => isToolstackError(e, 'CFG_VALUE') && e.message.startsWith('Invalid domain name'), JSON.stringify(name));
  }
  const ok = await reg.reserve(dom('x'.repeat(244)));
  await assert.rejects(reg.rename(ok.domid, `${'x'.repeat(244)}y`), (e: unknown) => isToolstackError(e, 'CFG_VALUE'));
  await assert.rejects(reg.reserve({ config: { c_info: { name: 'twin', uuid: ok.uuid } } }),
    (e: unknown) => isToolstackError(e, 'DOMAIN_EXISTS') && e.message.includes(ok.uuid));
  assert.equal(reg.size, 1);
  // An incoming migration shares its uuid with its sender on this host only: a stream naming
  // another domain's uuid would make two domains of one /vm/<uuid>.
  await assert.rejects(reg.reserve({ config: { c_info: { name: 'in--incoming', uuid: ok.uuid } } }, { sender: () => false }),
    (e: unknown) => isToolstackError(e, 'DOMAIN_EXISTS') && e.message.includes(ok.uuid));
  const arrived = await reg.reserve({ config: { c_info: { name: 'in--incoming', uuid: ok.uuid } } }, { sender: (r) => r.domid === ok.domid });
  assert.equal(arrived.arriving, true);
  await reg.reserve(dom('u\u{1f600}')); // a surrogate pair is one character
});

test('a rename frees the old name once the new one is on disk (a create of it meanwhile would lose it to a failed write)', async () => {
  const reg = await DomainRegistry.open(freshDir());
  const a = await reg.reserve(dom('first'));
  const renaming = reg.rename(a.domid, 'second');
  await assert.rejects(reg.reserve(dom('first')), (e: unknown) => isToolstackError(e, 'DOMAIN_EXISTS'));
  await renaming;
  assert.equal(reg.byName('first'), undefined);
  assert.equal((await reg.reserve(dom('first'))).name, 'first');
});

test('a restart keeps its name under rules made since (all digits); a name such rules refuse is not free', async () => {
  const reg = await DomainRegistry.open(freshDir());
  assert.equal(reg.nameFree('2024'), false);
  assert.equal(reg.nameFree('a/b'), false);
  const uuid = '5a5a5a5a-0000-4000-8000-000000000001';
  await reg.saveRestart({ init: { config: { c_info: { name: '2024', uuid } } }, at: Date.now(), from: 3, keepOld: false });
  const back = await reg.reserve({ config: { c_info: { name: '2024', uuid } } }, { restart: true });
  assert.equal(back.name, '2024');
});

test('a restart whose intent was dropped (an xl destroy after its timer fired) creates nothing', async () => {
  const reg = await DomainRegistry.open(freshDir());
  const uuid = '5a5a5a5a-0000-4000-8000-000000000003';
  await reg.saveRestart({ init: { config: { c_info: { name: 'back', uuid } } }, at: Date.now(), from: 3, keepOld: false });
  await reg.dropRestart(uuid);
  await assert.rejects(reg.reserve({ config: { c_info: { name: 'back', uuid } } }, { restart: true }),
    (e: unknown) => isToolstackError(e, 'DOMAIN_STATE') && /The restart of domain 'back' was cancelled/.test(e.message));
  assert.deepEqual(reg.list(), []);
});

test('a record an older dom0 wrote, named as names may no longer be (all digits), is loaded, not set aside; new names with C1 or text-direction characters are refused', async () => {
  const dir = freshDir();
  const reg = await DomainRegistry.open(dir);
  const uuid = '5a5a5a5a-0000-4000-8000-000000000002';
  await reg.saveRestart({ init: { config: { c_info: { name: '5', uuid } } }, at: Date.now(), from: 3, keepOld: false });
  const old = await reg.reserve({ config: { c_info: { name: '5', uuid } } }, { restart: true });
  // Set aside as corrupt, its running QEMU was recovered without its config after an upgrade.
  const reopened = await DomainRegistry.open(dir);
  assert.deepEqual(reopened.list().map((r) => [r.domid, r.name]), [[old.domid, '5']]);
  assert.deepEqual(readdirSync(join(dir)).filter((f) => f.includes('corrupt')), []);
  for (const name of ['web\u009b1A\u009b2K', 'a\u202eb', 'a\u2028b', 'a\u0085b', 'a\u200fb', 'a\u061cb', 'g\u200b']) {
    await assert.rejects(reopened.reserve(dom(name)), (e: unknown) => isToolstackError(e, 'CFG_VALUE') && /control, text-direction or invisible character/.test(e.message), name);
  }
});
