// `xentop` / `xl top` against real QEMU (TCG) through an autostarted dom0d: one PV guest booted
// from the test kernel with a raw disk (xvda), then batch mode read as a user's script would
// (`xentop -b -i 2 -d 1 -v -x`, `xl top -b --json`), and the full-screen mode on a pseudo-terminal
// (`script`), quit with `q`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import { childPids, pidCmdline } from '../../src/host/index.js';
import { destroyHost, makeHost, xlIn, xsRead } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

const XENTOP = join(import.meta.dirname, '..', '..', '..', 'bin', 'xentop');
const run = promisify(execFile);
let host: TestHost;
let con: GuestConsole | undefined;

before(async () => {
  const guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  writeFileSync(join(host.root, 'data.img'), '');
  truncateSync(join(host.root, 'data.img'), 8 << 20);
  writeFileSync(join(host.root, 'top.cfg'), [
    'name = "topguest"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`,
    'memory = 128', `disk = [ 'format=raw,vdev=xvda,target=${join(host.root, 'data.img')}' ]`,
  ].join('\n'));
  assert.equal((await xlIn(host, host.root, 'create', 'top.cfg')).code, 0);
  const domid = Number((await xlIn(host, host.root, 'domid', 'topguest')).out.trim());
  con = await GuestConsole.connect(xsRead(host, `/local/domain/${domid}/console/tty`));
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 120_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  // Some disk traffic the counters must show.
  assert.equal((await con.run('dd if=/dev/vda of=/dev/null bs=4k count=64 2>/dev/null')).rc, 0);
});

after(async () => {
  con?.close();
  await xlIn(host, host.root, 'destroy', 'topguest');
  await destroyHost(host);
});

test('xentop -b -d 60 ended by SIGINT ends at once, not after its interval, and by that signal', async () => {
  const child = spawn(XENTOP, ['-b', '-d', '60'], { env: host.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  for (let i = 0; i < 100 && !stdout.includes('NAME'); i++) await new Promise((r) => setTimeout(r, 100));
  const sent = Date.now();
  child.kill('SIGINT');
  // As a C xentop left to the signal's default: its caller sees 130, not a success.
  assert.equal(await exited, 'SIGINT');
  assert.ok(Date.now() - sent < 5000, `it took ${Date.now() - sent} ms`);
});

test('xentop -b -i 2 -d 1 -v -x: two tables in xentop\'s columns, the guest\'s vCPU and disk counters', async () => {
  const { stdout } = await run(XENTOP, ['-b', '-i', '2', '-d', '1', '-v', '-x'], { env: host.env });
  const lines = stdout.split('\n');
  const headers = lines.filter((l) => l.startsWith('      NAME  STATE   CPU(sec) CPU(%)'));
  assert.equal(headers.length, 2, stdout);
  const rows = lines.filter((l) => / topguest /.test(` ${l.trim().split(/\s+/)[0] ?? ''} `));
  assert.equal(rows.length, 2, stdout);
  const cols = (rows[1] as string).trim().split(/\s+/);
  // NAME STATE CPU(sec) CPU(%) MEM(k) MEM(%) MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX NETRX VBDS VBD_OO VBD_RD ...
  assert.match(cols[1] as string, /^--[-b]--[-r]$/);
  assert.deepEqual([cols[4], cols[6], cols[8], cols[9], cols[12]], ['131072', '131072', '1', '0', '1']);
  assert.ok(Number(cols[14]) > 0 && Number(cols[16]) >= 512, `VBD_RD ${cols[14]}, VBD_RSECT ${cols[16]}`);
  assert.match(stdout, /\nVCPUs\(sec\):   0: +\d+s\n/);
  assert.match(stdout, /\nVBD BlkBack 51712 \[ca: 0\]  OO: +0 {3}RD: +\d+ {3}WR: +\d+ {3}RSECT: +\d+ {3}WSECT: +\d+\n/);
  assert.match(stdout, /\n {2}Domain-0 -----r /);
});

test('xl top -b --json: one JSON object a sample', async () => {
  const r = await xlIn(host, host.root, '--json', 'top', '-b', '-i', '2', '-d', '0');
  assert.equal(r.code, 0, r.err);
  const samples = r.out.trim().split('\n').map((l) => JSON.parse(l) as { domains: Array<{ name: string; vbds: unknown[]; memKiB: number }> });
  assert.equal(samples.length, 2);
  const g = samples[1]?.domains.find((d) => d.name === 'topguest');
  assert.equal(g?.vbds.length, 1);
  assert.equal(g?.memKiB, 131072);
});

test('xentop on a terminal: the summary, the table and the key line; q quits', async () => {
  // script(1) gives xentop a pseudo-terminal and forwards its own stdin to it: `q` after a few redraws.
  const child = spawn('script', ['-q', '-e', '-c', `${XENTOP} -d 1`, '/dev/null'], { env: { ...host.env, TERM: 'xterm' } });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  setTimeout(() => child.stdin.write('q'), 2500).unref();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, stdout);
  assert.match(stdout, /xentop - \d\d:\d\d:\d\d {3}Xen 4\.17-dom0/);
  assert.match(stdout, /2 domains: \d running, \d blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown/);
  assert.match(stdout, /\x1b\[7m {6}NAME {2}STATE/);
  assert.match(stdout, /Delay {2}Networks {2}vBds {2}VCPUs {2}Repeat header {2}Sort order {2}Quit/);
});

test('xentop on a terminal ended by SIGTERM, SIGHUP or SIGINT puts the screen and cursor back', async () => {
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    const child = spawn('script', ['-q', '-e', '-c', `${XENTOP} -d 1`, '/dev/null'], { env: { ...host.env, TERM: 'xterm' } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (let i = 0; i < 100 && !stdout.includes('Delay  Networks'); i++) await new Promise((r) => setTimeout(r, 100));
    // The node process under script's shell: the one that draws.
    const descendants = (pid: number): number[] => childPids(pid).flatMap((c) => [c, ...descendants(c)]);
    const node = descendants(child.pid ?? 0).find((p) => (pidCmdline(p) ?? []).some((a) => a.endsWith('xl.cjs')));
    assert.ok(node !== undefined, stdout);
    process.kill(node, signal);
    await exited;
    assert.ok(stdout.endsWith('\x1b[?25h\x1b[?1049l') || stdout.includes('\x1b[?25h\x1b[?1049l'), `${signal}: ${JSON.stringify(stdout.slice(-80))}`);
  }
});
