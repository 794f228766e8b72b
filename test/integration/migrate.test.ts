// `xl migrate` between two dom0 hosts on this machine (each its own DOM0_*_DIRs and dom0d), with
// xl's transport: `-s ''` makes HOST the whole command, here `env DOM0_…=<host B> xl
// migrate-receive`, so the stream runs through that child's stdin/stdout exactly as through ssh.
// One PV guest keeps a value in RAM and a counter running while it moves; steps in order:
// A → B (xl's messages, the guest's memory and counter carry on, A has no copy), then the
// failures before "go" — a receiver that is no xl, one that dies after its banner — each leaving
// the domain running at the sender under its name, then B → A back, then dom0d killed -9 at the
// sender mid-stream (the next dom0d resumes the guest there; the receiver removes its half copy).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import { destroyDomains, destroyHost, makeHost, readPid, xlIn, xsRead } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

const XL = join(import.meta.dirname, '..', '..', '..', 'bin', 'xl');
const MARK = `dom0-migrated-${process.pid}`;
let a: TestHost;
let b: TestHost;
let con: GuestConsole | undefined;

before(async () => {
  const guests = ensureGuests();
  [a, b] = [makeHost(), makeHost()];
  for (const h of [a, b]) h.env['XENSTORED_PATH'] = join(h.runDir, 'xenstored', 'socket');
  writeFileSync(join(a.root, 'mig.cfg'), [
    'name = "mig"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128',
  ].join('\n'));
  assert.equal((await xlIn(b, b.root, 'list')).code, 0);
});

after(async () => {
  con?.close();
  for (const h of [a, b]) {
    await destroyDomains(h);
    await destroyHost(h);
  }
});

/** The receiving command for host `h`: its directories, then `xl migrate-receive`. */
function receiver(h: TestHost): string {
  const vars = ['DOM0_CONFIG_DIR', 'DOM0_STATE_DIR', 'DOM0_RUN_DIR', 'DOM0_LOG_DIR', 'DOM0_TEST_API'].map((k) => `${k}=${h.env[k] ?? ''}`);
  return `env ${vars.join(' ')} ${XL} migrate-receive`;
}

async function ok(h: TestHost, ...args: string[]): Promise<Run> {
  const r = await xlIn(h, h.root, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

async function names(h: TestHost): Promise<string[]> {
  return (JSON.parse((await ok(h, 'list', '--json')).out) as Array<{ name: string; state: string }>).filter((d) => d.name !== 'Domain-0').map((d) => `${d.name}:${d.state}`);
}

async function attach(h: TestHost): Promise<GuestConsole> {
  con?.close();
  const domid = Number((await ok(h, 'domid', 'mig')).out.trim());
  con = await GuestConsole.connect(xsRead(h, `/local/domain/${domid}/console/tty`));
  return con;
}

/** The guest's counter (the last number it printed: a prompt may precede it on a console just attached). */
async function counter(c: GuestConsole): Promise<number> {
  return Number(/(\d+)\s*$/.exec((await c.run('cat /run/counter')).out)?.[1]);
}

test('xl migrate A → B: xl\'s messages, the guest\'s memory and its counter carry on, no copy left at A', async () => {
  await ok(a, 'create', 'mig.cfg');
  let c = await attach(a);
  await c.waitFor(GUEST_READY_LINE, { timeoutMs: 120_000 });
  await c.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  assert.equal((await c.run(`echo ${MARK} > /run/marker; { (i=0; while :; do i=$((i+1)); echo $i > /run/counter; usleep 50000; done) & }`)).rc, 0);
  const before = await counter(c);
  const r = await ok(a, 'migrate', '-s', '', 'mig', receiver(b));
  for (const line of ['migration sender: Target has acknowledged transfer.', 'migration sender: Giving target permission to start.',
    'migration sender: Target reports successful startup.', 'Migration successful.']) assert.ok(r.err.includes(`${line}\n`), r.err);
  assert.match(r.err, /migration target: Domain started successsfully\.\n/);
  assert.match(r.err, /migration sender: \d+ KiB of memory in \d+ ms, downtime \d+ ms\.\n/);
  assert.deepEqual(await names(a), []);
  assert.deepEqual(await names(b), ['mig:running']);
  c = await attach(b);
  await c.run('true');
  assert.match((await c.run('cat /run/marker')).out, new RegExp(`${MARK}\\s*$`));
  const after1 = await counter(c);
  await new Promise((res) => setTimeout(res, 500));
  const after2 = await counter(c);
  assert.ok(after1 > before && after2 > after1, `counter ${before} → ${after1} → ${after2}`);
});

test('a receiver that is no xl, or dies after its banner: "Migration failed, resuming at sender.", the domain runs on there', async () => {
  const notXl = 'echo this-is-not-xl-migrate-receive-but-something-else-entirely';
  let r = await xlIn(b, b.root, 'migrate', '-s', '', 'mig', notXl);
  assert.equal(r.code, 1, r.err);
  assert.ok(r.err.endsWith(`migration receiver stream contained unexpected data instead of banner\n(command run was: ${notXl} )\nMigration failed, resuming at sender.\n`), r.err);
  assert.deepEqual(await names(b), ['mig:running']);
  r = await xlIn(b, b.root, 'migrate', '-s', '', 'mig', 'printf "xl migration receiver ready, send binary domain data.\\n"; exit 1');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /Migration failed, resuming at sender\.\n/);
  assert.deepEqual(await names(b), ['mig:running']);
  const c = await attach(b);
  await c.run('true');
  const n1 = await counter(c);
  await new Promise((res) => setTimeout(res, 300));
  assert.ok((await counter(c)) > n1);
});

test('xl migrate B → A back', async () => {
  await ok(b, 'migrate', '-s', '', 'mig', receiver(a));
  assert.deepEqual(await names(b), []);
  assert.deepEqual(await names(a), ['mig:running']);
  const c = await attach(a);
  await c.run('true');
  assert.match((await c.run('cat /run/marker')).out, new RegExp(`${MARK}\\s*$`));
});

test('dom0d killed -9 at the sender during a migration: the domain runs on at the sender, nothing is left at the receiver', async () => {
  const pending = xlIn(a, a.root, 'migrate', '-s', '', 'mig', receiver(b));
  await new Promise((r) => setTimeout(r, 400));
  process.kill(readPid(a) as number, 'SIGKILL');
  const r = await pending;
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /Migration failed, resuming at sender\.\n/);
  assert.deepEqual(await names(a), ['mig:running']);
  // The receiver cleans up once its QEMU has given up on the broken stream.
  for (let i = 0; i < 100 && (await names(b)).length > 0; i++) await new Promise((res) => setTimeout(res, 200));
  assert.deepEqual(await names(b), []);
  const c = await attach(a);
  await c.run('true');
  const n1 = await counter(c);
  await new Promise((res) => setTimeout(res, 300));
  assert.ok((await counter(c)) > n1);
});
