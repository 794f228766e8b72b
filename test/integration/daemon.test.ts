import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { apiRequest } from '../../src/api/index.js';
import type { DomainInfo } from '../../src/api/index.js';
import { XenstoreClient, XenstoreError } from '../../src/xenstore/index.js';
import { parseCpuList } from '../../src/host/index.js';
import { alive, destroyHost, DOM0D, dom0dPids, makeHost, readPid, registerDomain, waitGone, XL, xl, xsExists } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

const hosts: TestHost[] = [];
function host(): TestHost {
  const h = makeHost();
  hosts.push(h);
  return h;
}
after(async () => {
  for (const h of hosts) await destroyHost(h);
});

const HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n';
const DOM0_ROW = /^Domain-0 {33} {4}0 [ \d]{5} [ \d]{5}     r-----  [ \d]{5}\d\.\d\n/;

test('dom0d keeps nothing of the process of the first xl: its open descriptors, nice value, CPU affinity, I/O class and OOM score', () => {
  const h = host();
  const lock = join(h.root, 'lock');
  // A script's lock (flock's idiom) and a pinned, niced, idle-I/O, OOM-first xl: before, dom0d and
  // every QEMU held the lock for good and ran with all the rest, whatever the guests' configs said.
  const r = spawnSync('bash', ['-c', `exec 200>${lock}; echo 300 > /proc/self/oom_score_adj; exec taskset -c 0 nice -n 15 ionice -c 3 ${XL} list`], { env: h.env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const pid = readPid(h)!;
  assert.equal(readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; } }).filter((l) => l === lock).length, 0, 'the lock is not held');
  assert.equal(spawnSync('flock', ['-n', lock, 'true']).status, 0, 'the lock can be taken');
  for (const tid of readdirSync(`/proc/${pid}/task`)) assert.equal(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[16], '0', `thread ${tid}'s nice value`);
  const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const allowed = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.deepEqual(parseCpuList(allowed ?? ''), parseCpuList(online), 'every online CPU');
  assert.match(execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }), /^(?:none|best-effort)/);
  assert.equal(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '0');
  assert.match(readFileSync(join(h.logDir, 'dom0d.log'), 'utf8'), /put back what the process that started dom0d gave it: descriptors .*200.* closed; nice 15 to 0; CPU affinity 0 to/);
});

test('the first xl command starts dom0d, which serves api.sock (0600) and Domain-0 in Xen\'s format', async () => {
  const h = host();
  const r = await xl(h, 'list');
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.startsWith(HEADER), r.out);
  assert.match(r.out.slice(HEADER.length), DOM0_ROW);
  assert.equal(statSync(h.socket).mode & 0o777, 0o600);
  assert.ok(existsSync(join(h.runDir, 'xenstored', 'socket')));
  const pid = readPid(h)!;
  assert.ok(alive(pid));
  assert.deepEqual(dom0dPids(h), [pid]);
  assert.match(readFileSync(join(h.logDir, 'dom0d.log'), 'utf8'), /serving .*api\.sock/);
  const again = await xl(h, 'list');
  assert.equal(readPid(h), pid, 'a running dom0d is reused');
  assert.equal(again.code, 0);
});

test('commands that need no daemon do not start one', async () => {
  const h = host();
  assert.equal((await xl(h, 'help')).code, 0);
  assert.equal((await xl(h, 'list', '-h')).code, 0);
  const cfg = join(h.root, 'g.cfg');
  writeFileSync(cfg, 'name = "g"\nmemory = 128\nkernel = "/boot/vmlinuz"\n');
  assert.equal((await xl(h, '-N', 'create', '-q', cfg)).code, 0);
  assert.equal(existsSync(h.socket) || existsSync(h.pidFile), false);
});

test('a second dom0d on the same run directory refuses to start', async () => {
  const h = host();
  await xl(h, 'list');
  const pid = readPid(h)!;
  const second = spawnSync(DOM0D, ['run'], { env: h.env, encoding: 'utf8', timeout: 10_000 });
  assert.equal(second.status, 1);
  assert.match(second.stderr, new RegExp(`dom0d is already running \\(pid ${pid}, `));
  assert.equal(readPid(h), pid);
  assert.equal((await xl(h, 'list')).code, 0);
  // Nor does one on the same state directory with another run directory (it took the first's
  // running domains for crashed ones and destroyed their records).
  const otherRun = join(h.root, 'run2');
  const third = spawnSync(DOM0D, ['run'], { env: { ...h.env, DOM0_RUN_DIR: otherRun }, encoding: 'utf8', timeout: 10_000 });
  assert.equal(third.status, 1, third.stderr);
  assert.match(third.stderr, new RegExp(`dom0d \\(pid ${pid}\\) already serves `));
  assert.equal(existsSync(join(otherRun, 'dom0d.pid')), false, 'its own run directory\'s lock is given back');
  // Nor one on the same log directory (they rotated each other's QEMU logs, mixed their consoles').
  const fourth = spawnSync(DOM0D, ['run'], { env: { ...h.env, DOM0_RUN_DIR: otherRun, DOM0_STATE_DIR: join(h.root, 'state2') }, encoding: 'utf8', timeout: 10_000 });
  assert.equal(fourth.status, 1, fourth.stderr);
  assert.match(fourth.stderr, new RegExp(`dom0d \\(pid ${pid}\\) already logs to `));
  assert.equal(existsSync(join(h.root, 'state2', 'dom0d.pid')), false, 'its own state directory\'s lock is given back');
  assert.equal((await xl(h, 'list')).code, 0);
});

test('kill -9 of dom0d: the next xl command restarts it and it re-adopts every domain', async () => {
  const h = host();
  assert.equal((await xl(h, 'list')).code, 0);
  await registerDomain(h, 'web', 524288, 2);
  await registerDomain(h, 'db');
  const before = JSON.parse((await xl(h, 'list', '--json')).out) as DomainInfo[];
  const oldPid = readPid(h)!;
  process.kill(oldPid, 'SIGKILL');
  await waitGone(oldPid);
  const r = await xl(h, 'list');
  assert.equal(r.code, 0, r.err);
  const newPid = readPid(h)!;
  assert.notEqual(newPid, oldPid);
  assert.deepEqual(dom0dPids(h), [newPid]);
  const rows = r.out.split('\n').slice(1, -1);
  assert.equal(rows.length, 3);
  assert.equal(rows[1], 'web                                          1   512     2     r-----       0.0');
  assert.equal(rows[2], 'db                                           2   256     1     r-----       0.0');
  const afterRestart = JSON.parse((await xl(h, 'list', '--json')).out) as DomainInfo[];
  const ids = (l: DomainInfo[]) => l.slice(1).map((d) => [d.domid, d.name, d.uuid, d.state, d.startTime]);
  assert.deepEqual(ids(afterRestart), ids(before));
  await registerDomain(h, 'cache');
  assert.equal((await xl(h, 'domid', 'cache')).out, '3\n', 'domids keep increasing after a restart');
});

test('xenstore nodes of a domain no record stands for (a clean-up that failed) go at dom0d\'s next start', async () => {
  const h = host();
  h.env['XENSTORED_PATH'] = join(h.runDir, 'xenstored', 'socket');
  assert.equal((await xl(h, 'list')).code, 0);
  await registerDomain(h, 'kept');
  const uuid = '0e7d7c1a-1111-4222-8333-444455556666';
  const write = (path: string, value: string): void => void execFileSync('xenstore-write', [path, value], { env: h.env });
  write('/local/domain/77/vm', `/vm/${uuid}`);
  write('/local/domain/77/name', 'gone');
  write(`/vm/${uuid}/name`, 'gone');
  write('/libxl/77/type', 'pv');
  write('/local/domain/0/backend/vbd/77/51712/state', '6');
  write('/local/domain/78/name', 'no-vm-node'); // a stray without its vm node keeps no other from going
  const oldPid = readPid(h)!;
  process.kill(oldPid, 'SIGKILL');
  await waitGone(oldPid);
  assert.equal((await xl(h, 'list')).code, 0);
  for (const p of ['/local/domain/77', `/vm/${uuid}`, '/libxl/77', '/local/domain/0/backend/vbd/77', '/local/domain/78']) assert.equal(xsExists(h, p), false, p);
  assert.equal(xsExists(h, '/local/domain/0'), true);
  assert.equal((await xl(h, 'domid', 'kept')).out, '1\n');
});

test('a xenstore client\'s INTRODUCE names a domain dom0d has (each holds a socket for good: made-up ones took every descriptor); one left without its domain goes at the next start', async () => {
  const h = host();
  assert.equal((await xl(h, 'list')).code, 0);
  await registerDomain(h, 'kept');
  await registerDomain(h, 'gone');
  const socket = join(h.runDir, 'xenstored', 'socket');
  let xs = await XenstoreClient.connect(socket);
  try {
    await assert.rejects(xs.introduce(600), (e: unknown) => e instanceof XenstoreError && e.errno === 'EINVAL');
    assert.equal(existsSync(join(h.runDir, 'xenstored', 'domain-600.sock')), false);
    await xs.introduce(2);
    assert.equal(await xs.isDomainIntroduced(2), true);
  } finally {
    xs.close();
  }
  // The domain goes while no dom0d runs (its record lost): its introduction must not stay.
  const oldPid = readPid(h) as number;
  process.kill(oldPid, 'SIGKILL');
  await waitGone(oldPid);
  rmSync(join(h.stateDir, 'domains', '2.json'));
  assert.equal((await xl(h, 'list')).code, 0);
  xs = await XenstoreClient.connect(socket);
  try {
    assert.equal(await xs.isDomainIntroduced(2), false);
    assert.equal(existsSync(join(h.runDir, 'xenstored', 'domain-2.sock')), false);
  } finally {
    xs.close();
  }
});

test('parallel xl commands on a fresh host start exactly one dom0d', async () => {
  const h = host();
  const runs = await Promise.all(Array.from({ length: 6 }, () => xl(h, 'list')));
  for (const r of runs) assert.equal(r.code, 0, r.err);
  const pid = readPid(h)!;
  assert.deepEqual(dom0dPids(h), [pid]);
  assert.equal(readFileSync(join(h.logDir, 'dom0d.log'), 'utf8').match(/serving /g)?.length, 1);
});

test('ten parallel creates of one name: exactly one succeeds, the rest are DOMAIN_EXISTS', async () => {
  const h = host();
  await xl(h, 'list');
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => registerDomain(h, 'same')));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) {
    if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'DOMAIN_EXISTS');
  }
  const list = (await apiRequest(h.socket, 'GET', '/v1/domains')) as DomainInfo[];
  assert.deepEqual(list.map((d) => d.name), ['Domain-0', 'same']);
});

test('domid, domname, uptime and list errors follow Xen', async () => {
  const h = host();
  await xl(h, 'list');
  await registerDomain(h, 'g1');
  assert.deepEqual(await xl(h, 'domid', 'g1'), { code: 0, out: '1\n', err: '' });
  assert.deepEqual(await xl(h, 'domid', 'Domain-0'), { code: 0, out: '0\n', err: '' });
  assert.deepEqual(await xl(h, 'domname', '1'), { code: 0, out: 'g1\n', err: '' });
  assert.deepEqual(await xl(h, 'domid', 'nope'), { code: 1, out: '', err: "Can't get domid of domain name 'nope', maybe this domain does not exist.\n" });
  assert.deepEqual(await xl(h, 'domname', '9'), { code: 1, out: '', err: "Can't get domain name of domain id '9', maybe this domain does not exist.\n" });
  assert.deepEqual(await xl(h, 'domname', 'x'), { code: 1, out: '', err: 'Invalid domain id.\n\n' });
  assert.equal((await xl(h, 'domid')).code, 2);
  assert.deepEqual(await xl(h, 'list', 'nope'), { code: 1, out: '', err: 'nope is an invalid domain identifier (rc=-6)\n' });
  assert.deepEqual(await xl(h, 'list', '7'), { code: 1, out: '', err: "Error: Domain '7' does not exist.\n" });
  const one = await xl(h, 'list', 'g1');
  assert.equal(one.out.split('\n').length, 3);
  const up = await xl(h, 'uptime');
  assert.match(up.out, /^Name {29}   ID Uptime\nDomain-0 {25}    0 .+\ng1 {31}    1  0:00:\d\d\n$/);
  assert.match((await xl(h, 'uptime', '-s', 'g1')).out, /^ \d\d:\d\d:\d\d up  0:00, g1 \(1\)\n$/);
  const json = JSON.parse((await xl(h, 'uptime', '--json')).out) as Array<{ name: string }>;
  assert.deepEqual(json.map((r) => r.name), ['Domain-0', 'g1']);
  const long = await xl(h, 'list', '-l');
  assert.equal(long.code, 0);
  assert.deepEqual((JSON.parse(long.out) as Array<{ domid: number }>).map((e) => e.domid), [1]);
});

test('dom0d started from a shell with low limits and a polluted environment runs with its own (it kept them, and every QEMU inherited them)', () => {
  const h = host();
  // Past a file-size limit a write kills its process (a QEMU writing its guest's disk); NODE_OPTIONS
  // opened a root inspector on 127.0.0.1 any local user could run code in; `.` in PATH ran tools
  // from wherever a process was; cron's PATH lacks the sbin directories (nft, dnsmasq).
  const shell = 'ulimit -S -n 256 && ulimit -S -f 100000 && ulimit -S -v 4000000 && exec "$0" list';
  const env = { ...h.env, NODE_OPTIONS: '--inspect=127.0.0.1:0', LD_LIBRARY_PATH: '/nonexistent', QEMU_MODULE_DIR: '/nonexistent', PATH: `.:${process.env['PATH'] ?? ''}`.replaceAll('/usr/sbin', '/nowhere'), LANG: 'de_DE.UTF-8' };
  const r = spawnSync('sh', ['-c', shell, join(import.meta.dirname, '..', '..', '..', 'bin', 'xl')], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const pid = readPid(h)!;
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const files = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  assert.ok(files !== null);
  assert.equal(files[1], files[2], 'soft = hard');
  assert.notEqual(files[1], '256');
  assert.match(limits, /^Max file size\s+unlimited/m);
  assert.match(limits, /^Max address space\s+unlimited/m);
  const environ = new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  for (const gone of ['NODE_OPTIONS', 'LD_LIBRARY_PATH', 'QEMU_MODULE_DIR', 'LANG']) assert.ok(!environ.has(gone), gone);
  assert.equal(environ.get('LC_ALL'), 'C.UTF-8');
  const path = (environ.get('PATH') ?? '').split(':');
  assert.ok(!path.includes('.') && path.includes('/usr/sbin'), path.join(':'));
  assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('inspect'));
});

test('SIGHUP and SIGUSR2 do not stop dom0d (they did: Node\'s default) and are said in its log; SIGUSR1 opens no inspector', async () => {
  const h = host();
  await xl(h, 'list');
  const pid = readPid(h)!;
  const listening = (): string[] => {
    // The TCP sockets dom0d listens on (/proc/net/tcp state 0A), by their inodes among its fds.
    const inodes = new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]).filter((i) => i !== undefined));
    return ['tcp', 'tcp6'].flatMap((f) => readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1))
      .map((l) => l.trim().split(/\s+/)).filter((w) => w[3] === '0A' && inodes.has(w[9] ?? '')).map((w) => w[1] ?? '');
  };
  for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
    process.kill(pid, signal);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(alive(pid), signal);
    assert.deepEqual(listening(), [], `${signal}: dom0d listens on no TCP port`);
    if (signal !== 'SIGUSR1') assert.match(readFileSync(join(h.logDir, 'dom0d.log'), 'utf8'), new RegExp(`${signal}: ignored`));
  }
  assert.equal((await xl(h, 'list')).code, 0);
  assert.equal(readPid(h), pid);
});

test('a stopped dom0d (SIGSTOP): xl says so in one line at once instead of waiting for good, and asks nothing of it', async () => {
  const h = host();
  await xl(h, 'list');
  await registerDomain(h, 'kept');
  const pid = readPid(h)!;
  process.kill(pid, 'SIGSTOP');
  try {
    for (const args of [['list'], ['destroy', 'kept']]) {
      const r = await xl(h, ...args);
      assert.equal(r.code, 1);
      assert.equal(r.err, `dom0d (pid ${pid}) is stopped: it answers nothing until it runs again (nothing was asked of it)\nhint: it was stopped by a signal or a debugger: kill -CONT ${pid}\n`);
    }
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // Before: the destroy, said to have failed, was sent all the same and done once dom0d ran again.
  await new Promise((r) => setTimeout(r, 500));
  const r = await xl(h, 'list');
  assert.equal(r.code, 0);
  assert.match(r.out, /^kept /m);
  assert.equal(readPid(h), pid);
});

test('SIGTERM stops dom0d gracefully: socket and pid file removed, records kept', async () => {
  const h = host();
  await xl(h, 'list');
  await registerDomain(h, 'keep');
  const pid = readPid(h)!;
  process.kill(pid, 'SIGTERM');
  await waitGone(pid);
  assert.equal(existsSync(h.socket), false);
  assert.equal(existsSync(h.pidFile), false);
  assert.ok(existsSync(join(h.stateDir, 'domains', '1.json')));
  assert.equal((await xl(h, 'domid', 'keep')).out, '1\n');
});
