// vifs on real bridges, taps, nftables, tc and dnsmasq, with real QEMU guests (TCG), all inside
// a network namespace this test makes (bridge xenbr0, address 10.9.0.254/24): xl runs there
// through `ip netns exec`, so the dom0d it autostarts, its QEMUs and dnsmasq do too.
// In order: a missing bridge fails the create naming it and leaves nothing; a vif script gets
// Xen's arguments and environment (online at create, offline at destroy); two guests on xenbr0
// ping each other, their xenstore nodes are libxl's (read with Debian's xenstore-* clients), and
// `ip=` drops a spoofed source; `rate=` holds a transfer to its rate (±20%); network-attach,
// network-list, network-detach on a running guest (and their error lines); a guest on the NAT
// network gets a DHCP lease and reaches the host, and the network goes with the guest.
// At the end every domain is destroyed, dom0d stopped, what this test started killed by pid,
// and the namespace deleted (its links and nftables tables with it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { isPidAlive } from '../../src/host/index.js';
import { destroyHost, makeHost, pidsNaming, readPid, until, xlIn, xsExists as xsExistsOn, xsRead as xsReadOn } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

const NS = `dom0net${process.pid}`;
const HOST_IP = '10.9.0.254';
const MAC_A = '00:16:3e:0a:00:01';
const MAC_ATTACHED = '00:16:3e:0a:00:aa';
/** b's `rate=`: 200 kB/s, 10 kB per 50 ms credit interval (the bucket holds 128 KiB). */
const RATE = 200_000;
const BURST = 131072;

let host: TestHost;
let guests: GuestImages;
const consoles = new Map<string, GuestConsole>();
const children: ChildProcess[] = [];

const file = (name: string): string => join(host.root, name);

before(async () => {
  guests = ensureGuests();
  execFileSync('ip', ['netns', 'add', NS]);
  inNs('ip', 'link', 'set', 'lo', 'up');
  inNs('ip', 'link', 'add', 'xenbr0', 'type', 'bridge');
  inNs('ip', 'address', 'add', `${HOST_IP}/24`, 'dev', 'xenbr0');
  inNs('ip', 'link', 'set', 'xenbr0', 'up');
  host = makeHost({ netns: NS });
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  const guestCfg = (name: string, vif: string): void => writeFileSync(file(`${name}.cfg`), [
    `name = "${name}"`,
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 128',
    `vif = [ '${vif}' ]`,
  ].join('\n'));
  guestCfg('a', `bridge=xenbr0,mac=${MAC_A},ip=10.9.0.1`);
  guestCfg('b', 'bridge=xenbr0,rate=200KB/s@50ms');
  // The NAT network's bridge, named in xl.conf.
  mkdirSync(file('etc'));
  writeFileSync(file('etc/xl.conf'), 'vif.nat.bridge = "natbr0"\n');
  guestCfg('nat', 'bridge=natbr0');
  guestCfg('badscript', `bridge=xenbr0,script=${file('vif-fail')}`);
  guestCfg('nobridge', 'bridge=nosuchbr0,rate=1MB/s,ip=10.9.0.9');
  guestCfg('smallmtu', 'bridge=xenbr0,mtu=68');
  guestCfg('scripted', `bridge=xenbr0,script=${file('vif-record')}`);
  guestCfg('hijack', `vifname=xenbr0,bridge=xenbr0,script=${file('vif-record')}`);
  // A vif script as Xen's are written: arguments, environment, xenstore through XENBUS_PATH.
  writeFileSync(file('vif-record'), [
    '#!/bin/sh',
    `out=${file('vif-record.out')}`,
    'echo "args=$*" >>"$out"',
    'env | grep -E "^(script|XENBUS_[A-Z_]*|vif|netdev|INTERFACE)=" | sort >>"$out"',
    'echo "xs-mac=$(xenstore-read "$XENBUS_PATH/mac")" >>"$out"',
    'echo "xs-bridge=$(xenstore-read "$XENBUS_PATH/bridge")" >>"$out"',
    '[ "$1" = online ] && ip link set dev "$vif" master "$(xenstore-read "$XENBUS_PATH/bridge")" up',
    'exit 0',
  ].join('\n'));
  chmodSync(file('vif-record'), 0o755);
  writeFileSync(file('vif-fail'), '#!/bin/sh\necho "vif-fail: cannot do $1" >&2\nexit 1\n');
  chmodSync(file('vif-fail'), 0o755);
  assert.equal((await xl('list')).code, 0);
});

after(async () => {
  for (const c of consoles.values()) c.close();
  for (const c of children) c.kill('SIGKILL');
  for (const d of await listed().catch(() => [])) await xl('destroy', String(d.domid));
  await destroyHost(host);
  for (const pid of pidsNaming(host.root)) process.kill(pid, 'SIGKILL');
  execFileSync('ip', ['netns', 'del', NS]);
});

function inNs(...argv: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, ...argv], { encoding: 'utf8' });
}

function xl(...args: string[]): Promise<Run> {
  return xlIn(host, host.root, ...args);
}

async function ok(...args: string[]): Promise<Run> {
  const r = await xl(...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

async function listed(): Promise<Array<{ domid: number; name: string }>> {
  const r = await xl('list', '--json');
  return (JSON.parse(r.out) as Array<{ domid: number; name: string }>).filter((d) => d.domid !== 0);
}

async function domid(name: string): Promise<number> {
  const d = (await listed()).find((x) => x.name === name);
  assert.ok(d !== undefined, `no domain ${name}`);
  return d.domid;
}

/** The namespace's links (name, master, alias). */
function links(): Array<{ ifname: string; master?: string; ifalias?: string; mtu: number }> {
  return JSON.parse(inNs('ip', '-j', 'link', 'show')) as Array<{ ifname: string; master?: string; ifalias?: string; mtu: number }>;
}

function nftTables(): string[] {
  const parsed = JSON.parse(inNs('nft', '-j', 'list', 'tables')) as { nftables: Array<{ table?: { family: string; name: string } }> };
  return parsed.nftables.flatMap((e) => (e.table === undefined ? [] : [`${e.table.family} ${e.table.name}`]));
}

const xsRead = (path: string): string => xsReadOn(host, path);
const xsExists = (path: string): boolean => xsExistsOn(host, path);

/** Starts `name` and waits for its shell on the PV console. */
async function boot(name: string): Promise<number> {
  await ok('create', `${name}.cfg`);
  const id = await domid(name);
  const c = await GuestConsole.connect(xsRead(`/local/domain/${id}/console/tty`));
  consoles.set(name, c);
  await c.waitFor(GUEST_READY_LINE, { timeoutMs: 120_000 });
  await c.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
  return id;
}

/** Runs `command` in guest `name`'s shell; resolves with its output and exit status. */
function guest(name: string, command: string, timeoutMs = 60_000): Promise<{ out: string; rc: number }> {
  return (consoles.get(name) as GuestConsole).run(command, timeoutMs);
}

const vifLinks = (): string[] => links().map((l) => l.ifname).filter((n) => /^(vif|ifb)\d/.test(n));

test('a missing bridge, or an mtu= below the bridge\'s, fails the create with one line and a hint; nothing is left', async () => {
  const r = await xl('create', 'nobridge.cfg');
  assert.notEqual(r.code, 0);
  const lines = r.err.trimEnd().split('\n');
  assert.match(lines[1] as string, /^Cannot plug vif vif\d+\.0 of domain 'nobridge': bridge 'nosuchbr0' does not exist$/);
  assert.match(lines[2] as string, /^hint: make it \(ip link add nosuchbr0 type bridge/);
  assert.deepEqual(await listed(), []);
  assert.deepEqual(vifLinks(), []);
  assert.deepEqual(nftTables(), []);
  assert.deepEqual(pidsNaming(join(host.runDir, 'domains')), []);
  // An mtu= below the bridge's would lower the bridge's MTU for everything on it.
  const small = await xl('create', 'smallmtu.cfg');
  assert.notEqual(small.code, 0);
  assert.match(small.err, /^Cannot plug vif vif\d+\.0 of domain 'smallmtu': mtu=68 is below the MTU of bridge 'xenbr0' \(1500\): its tap would lower the bridge's, for everything on it$/m);
  assert.equal(links().find((l) => l.ifname === 'xenbr0')?.mtu, 1500);
  assert.deepEqual(await listed(), []);
  assert.deepEqual(vifLinks(), []);
});

test('a vif script runs with Xen\'s arguments and environment, online at create and offline at destroy', async () => {
  await ok('create', '-p', 'scripted.cfg');
  const id = await domid('scripted');
  const tap = `vif${id}.0`;
  const mac = xsRead(`/local/domain/0/backend/vif/${id}/0/mac`);
  const online = readFileSync(file('vif-record.out'), 'utf8').split('\n');
  for (const want of [
    'args=online type_if=vif', `script=${file('vif-record')}`, 'XENBUS_TYPE=vif', `XENBUS_PATH=backend/vif/${id}/0`,
    'XENBUS_BASE_PATH=backend', `vif=${tap}`, 'netdev=', `xs-mac=${mac}`, 'xs-bridge=xenbr0',
  ]) assert.ok(online.includes(want), `${want} in ${online.join('|')}`);
  assert.equal(xsRead(`/local/domain/0/backend/vif/${id}/0/script`), file('vif-record'));
  assert.equal(links().find((l) => l.ifname === tap)?.master, 'xenbr0', 'the script plugged the tap');
  await ok('destroy', 'scripted');
  const all = readFileSync(file('vif-record.out'), 'utf8').split('\n');
  assert.ok(all.includes('args=offline type_if=vif'), all.join('|'));
  assert.ok(all.slice(online.length - 1).includes(`xs-mac=${mac}`), 'offline runs while the nodes exist');
  assert.deepEqual(vifLinks(), []);

  // A script that fails `online` fails the create with its last line; nothing is left.
  const r = await xl('create', '-p', 'badscript.cfg');
  assert.notEqual(r.code, 0);
  assert.match(r.err, new RegExp(`^Parsing config from badscript.cfg\nCannot plug vif vif\\d+\\.0 of domain 'badscript': ${file('vif-fail')} online: vif-fail: cannot do online\nhint: the script failed \\(exit status 1\\)`));
  assert.deepEqual(await listed(), []);
  assert.deepEqual(vifLinks(), []);
  assert.equal(xsExists('/local/domain/0/backend/vif'), false);

  // vifname= naming a link dom0 did not make is refused, and the undoing of that create runs
  // no `offline` on it (Xen's vif-bridge would take the host's uplink off its bridge).
  const before = readFileSync(file('vif-record.out'), 'utf8');
  const hijack = await xl('create', '-p', 'hijack.cfg');
  assert.notEqual(hijack.code, 0);
  assert.match(hijack.err, /an interface named xenbr0 exists already/);
  assert.equal(readFileSync(file('vif-record.out'), 'utf8'), before, 'no script ran');
});

test('two guests on a bridge ping each other; their vif nodes are libxl\'s; ip= drops a spoofed source', async () => {
  const [a, b] = [await boot('a'), await boot('b')];
  assert.equal((await guest('a', 'ip addr add 10.9.0.1/24 dev eth0 && ip link set eth0 up')).rc, 0);
  assert.equal((await guest('b', 'ip addr add 10.9.0.2/24 dev eth0 && ip link set eth0 up')).rc, 0);
  assert.equal((await guest('a', 'cat /sys/class/net/eth0/address')).out.trim(), MAC_A);
  const macB = (await guest('b', 'cat /sys/class/net/eth0/address')).out.trim();
  assert.match(macB, /^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/, 'a generated MAC has Xen\'s prefix');

  // Taps named vif<domid>.<devid>, ports of xenbr0, its MTU.
  for (const id of [a, b]) assert.equal(links().find((l) => l.ifname === `vif${id}.0`)?.master, 'xenbr0');
  // libxl's nodes, front and back, connected.
  const be = `/local/domain/0/backend/vif/${a}/0`;
  const fe = `/local/domain/${a}/device/vif/0`;
  assert.equal(xsRead(`${be}/mac`), MAC_A);
  assert.equal(xsRead(`${be}/bridge`), 'xenbr0');
  assert.equal(xsRead(`${be}/ip`), '10.9.0.1');
  assert.equal(xsRead(`${be}/state`), '4');
  assert.equal(xsRead(`${be}/online`), '1');
  assert.equal(xsRead(`${be}/frontend`), fe);
  assert.equal(xsRead(`${be}/hotplug-status`), 'connected');
  assert.equal(xsRead(`${fe}/backend`), be);
  assert.equal(xsRead(`${fe}/mac`), MAC_A);
  assert.equal(xsRead(`${fe}/handle`), '0');
  assert.equal(xsRead(`${fe}/state`), '4');
  assert.equal(xsRead(`/local/domain/0/backend/vif/${b}/0/rate`), '10000,50000');

  assert.equal((await guest('a', 'ping -c 3 -W 5 10.9.0.2')).rc, 0, 'a reaches b');
  assert.equal((await guest('b', 'ping -c 3 -W 5 10.9.0.1')).rc, 0, 'b reaches a');
  // a sends from an address ip= does not allow: nothing of it leaves the tap (ARP neither).
  assert.equal((await guest('a', 'ip addr flush dev eth0 && ip addr add 10.9.0.66/24 dev eth0')).rc, 0);
  assert.equal((await guest('a', 'ping -c 2 -W 2 10.9.0.2')).rc, 1, 'the spoofed source is dropped');
  assert.equal((await guest('a', 'ip addr flush dev eth0 && ip addr add 10.9.0.1/24 dev eth0 && ping -c 2 -W 5 10.9.0.2')).rc, 0);
});

test('rate= holds what a guest sends to its rate (within 20%)', async () => {
  const total = 1_600_000;
  const receiver = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', [
    'const [port, n] = process.argv.slice(1).map(Number);',
    'const srv = require("net").createServer((s) => {',
    '  let got = 0; let t0;',
    '  s.on("data", (c) => {',
    '    if (t0 === undefined) t0 = process.hrtime.bigint();',
    '    got += c.length;',
    '    if (got >= n) { console.log(`DONE ${Number(process.hrtime.bigint() - t0) / 1e6}`); s.destroy(); srv.close(); }',
    '  });',
    '});',
    `srv.listen(port, "${HOST_IP}", () => console.log("LISTENING"));`,
  ].join('\n'), '5001', String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(receiver);
  let out = '';
  receiver.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  await until('the receiver', () => out.includes('LISTENING'));
  const sent = await guest('b', `dd if=/dev/zero bs=1000 count=${total / 1000} 2>/dev/null | nc ${HOST_IP} 5001`, 120_000);
  await until('the transfer', () => out.includes('DONE'), 60_000);
  const ms = Number(/DONE ([\d.]+)/.exec(out)?.[1]);
  // The first bucketful passes at once; the rest at the rate.
  const expected = ((total - BURST) / RATE) * 1000;
  assert.ok(Math.abs(ms - expected) <= expected * 0.2, `transfer took ${ms} ms, the rate says ${expected} ms (nc: ${sent.out})`);
});

test('network-attach, network-list and network-detach on a running guest', async () => {
  const a = await domid('a');
  const header = 'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ';
  let r = await ok('network-list', 'a');
  // Xen's printf formats, the backend path being longer than its 30 columns.
  assert.equal(r.out, `${header}\n0   0  ${MAC_A}     0     4     -1    -1/-1          /local/domain/0/backend/vif/${a}/0\n`);
  const rows = (): Promise<string[][]> => ok('network-list', 'a').then((x) => x.out.split('\n').slice(1).filter((l) => l !== '').map((l) => l.trim().split(/\s+/)));
  assert.deepEqual(await rows(), [['0', '0', MAC_A, '0', '4', '-1', '-1/-1', `/local/domain/0/backend/vif/${a}/0`]]);

  // Errors: no such bridge (nothing left), no such device.
  r = await xl('network-attach', 'a', 'bridge=nosuchbr1');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^Cannot plug vif vif\d+\.1 of domain 'a': bridge 'nosuchbr1' does not exist\nlibxl_device_nic_add failed\.\nhint: /);
  assert.equal((await rows()).length, 1);
  assert.equal(xsExists(`/local/domain/${a}/device/vif/1`), false);
  assert.deepEqual(vifLinks().filter((n) => n.startsWith(`vif${a}.`)), [`vif${a}.0`]);
  r = await xl('network-detach', 'a', '7');
  assert.equal(r.code, 1);
  assert.match(r.err, /^Unknown device 7\.\n/);

  // QEMU stopped: the attach fails in one line, and what QEMU does once it runs again is undone
  // (its netdev_add then netdev_del run in order), so the same vif attaches afterwards.
  const [qemu] = pidsNaming(join(host.runDir, 'domains', String(a), ''));
  assert.ok(qemu !== undefined);
  process.kill(qemu, 'SIGSTOP');
  try {
    r = await xl('network-attach', 'a', 'bridge=xenbr0', `mac=${MAC_ATTACHED}`);
  } finally {
    process.kill(qemu, 'SIGCONT');
  }
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^Cannot add .*'a': QMP command 'netdev_add' got no answer within 5000 ms: QEMU is not responding\nlibxl_device_nic_add failed\.\nhint: /);
  assert.equal((await rows()).length, 1);
  assert.deepEqual(vifLinks().filter((n) => n.startsWith(`vif${a}.`)), [`vif${a}.0`]);

  await ok('network-attach', 'a', 'bridge=xenbr0', `mac=${MAC_ATTACHED}`);
  assert.deepEqual(await rows(), [
    ['0', '0', MAC_A, '0', '4', '-1', '-1/-1', `/local/domain/0/backend/vif/${a}/0`],
    ['1', '0', MAC_ATTACHED, '1', '4', '-1', '-1/-1', `/local/domain/0/backend/vif/${a}/1`],
  ]);
  assert.equal(links().find((l) => l.ifname === `vif${a}.1`)?.master, 'xenbr0');
  assert.equal(xsRead(`/local/domain/0/backend/vif/${a}/1/mac`), MAC_ATTACHED);
  const stored = JSON.parse((await ok('list', '-l', 'a')).out) as Array<{ config: { nics: Array<{ devid: number; mac: string }> } }>;
  assert.deepEqual(stored[0]?.config.nics.map((n) => [n.devid, n.mac]), [[0, MAC_A], [1, MAC_ATTACHED]]);
  await until('eth1 in the guest', async () => (await guest('a', 'cat /sys/class/net/eth1/address')).out.trim() === MAC_ATTACHED);
  assert.equal((await guest('a', 'ip addr add 10.9.1.1/24 dev eth1 && ip link set eth1 up')).rc, 0);

  await ok('network-detach', 'a', MAC_ATTACHED.toUpperCase());
  assert.equal((await rows()).length, 1);
  assert.deepEqual(vifLinks().filter((n) => n.startsWith(`vif${a}.`)), [`vif${a}.0`]);
  assert.equal(xsExists(`/local/domain/${a}/device/vif/1`), false);
  assert.equal(xsExists(`/local/domain/0/backend/vif/${a}/1`), false);
  assert.equal((await guest('a', 'test -e /sys/class/net/eth1')).rc, 1, 'the guest lost eth1');
});

test('a guest on the NAT network gets a DHCP lease and reaches the host; the network goes with it', async () => {
  await ok('destroy', 'a');
  await ok('destroy', 'b');
  assert.deepEqual(vifLinks(), []);
  assert.deepEqual(nftTables(), []);
  await boot('nat');
  const bridge = links().find((l) => l.ifname === 'natbr0');
  assert.ok(bridge !== undefined, 'natbr0 made');
  const lease = await guest('nat', 'ip link set eth0 up && udhcpc -i eth0 -n -q -t 10 -s /bin/true 2>&1', 90_000);
  assert.equal(lease.rc, 0, lease.out);
  const m = /lease of (\d+\.\d+\.\d+\.\d+) obtained from (\d+\.\d+\.\d+\.\d+)/.exec(lease.out);
  assert.ok(m !== null, lease.out);
  const [, address, gateway] = m;
  assert.equal((await guest('nat', `ip addr add ${address}/24 dev eth0 && ping -c 2 -W 5 ${gateway}`)).rc, 0, 'the guest reaches the host');
  // A guest asking with a MAC that is no vif's gets no lease: with made-up MACs it took every
  // address of the subnet from the other guests. Its own MAC gets one again.
  const own = /([0-9a-f]{2}(?::[0-9a-f]{2}){5})/.exec((await guest('nat', 'cat /sys/class/net/eth0/address')).out)?.[1];
  assert.ok(own !== undefined);
  const renew = (mac: string): Promise<{ rc: number; out: string }> =>
    guest('nat', `ip addr flush dev eth0 && ip link set eth0 down && ip link set eth0 address ${mac} && ip link set eth0 up && udhcpc -i eth0 -n -q -t 3 -s /bin/true 2>&1`, 90_000);
  const spoofed = await renew('02:00:00:00:00:99');
  assert.notEqual(spoofed.rc, 0, spoofed.out);
  const back = await renew(own);
  assert.equal(back.rc, 0, back.out);
  const table = nftTables().find((t) => t === `ip dom0_${/^dom0 ([0-9a-f]+) nat$/.exec(bridge.ifalias ?? '')?.[1] ?? '?'}_nat_${Buffer.from('natbr0').toString('hex')}`);
  assert.ok(table !== undefined, nftTables().join(','));
  // The host routes only the subnet's own addresses out of the bridge, and only replies into it.
  assert.match(inNs('nft', 'list', 'table', ...table.split(' ')), /iifname "natbr0" ip saddr \S+ accept[\s\S]*oifname "natbr0" ct state established,related accept[\s\S]*iifname "natbr0" reject[\s\S]*oifname "natbr0" reject/);
  assert.equal(inNs('cat', '/proc/sys/net/ipv4/ip_forward').trim(), '1');
  assert.equal(pidsNaming(join(host.runDir, 'network')).length, 1, 'one dnsmasq');
  // dom0 upgraded under a running NAT guest: its dnsmasq was started by an older dom0 (here:
  // answering any MAC) and its vif has no MAC file. The next dom0d writes the file again and starts
  // that dnsmasq as it starts one: before, the guest lost its address at its next renewal after
  // any dnsmasq restart, and until then any MAC got a lease.
  const hosts = join('/run/dom0-nat', readdirSync('/run/dom0-nat').find((f) => f.endsWith('-natbr0')) ?? '?');
  const vifFile = join(hosts, readdirSync(hosts)[0] ?? '?');
  const dom0d = readPid(host) as number;
  process.kill(dom0d, 'SIGKILL');
  await until('dom0d gone', () => !isPidAlive(dom0d), 10_000, 20);
  const [dnsmasq] = pidsNaming(join(host.runDir, 'network'));
  const argv = readFileSync(`/proc/${dnsmasq ?? 0}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  process.kill(dnsmasq as number, 'SIGKILL');
  await until('dnsmasq gone', () => !isPidAlive(dnsmasq as number), 10_000, 20);
  rmSync(vifFile);
  inNs(...argv.filter((a) => a !== '--dhcp-ignore=tag:!known'));
  assert.equal((await ok('list')).code, 0);
  await until('the vif\'s MAC file again', () => existsSync(vifFile), 10_000, 50);
  // The console went with the dom0d that served it.
  consoles.get('nat')?.close();
  consoles.set('nat', await GuestConsole.connect(xsRead(`/local/domain/${await domid('nat')}/console/tty`)));
  const now = pidsNaming(join(host.runDir, 'network'));
  assert.equal(now.length, 1, 'one dnsmasq');
  assert.deepEqual(readFileSync(`/proc/${now[0] ?? 0}/cmdline`, 'utf8').split('\0').filter((a) => a !== ''), argv);
  assert.notEqual((await renew('02:00:00:00:00:98')).rc, 0, 'a made-up MAC gets no lease');
  assert.equal((await renew(own)).rc, 0);
  await ok('destroy', 'nat');
  assert.deepEqual(links().map((l) => l.ifname).filter((n) => n === 'natbr0' || /^vif/.test(n)), []);
  assert.deepEqual(nftTables(), []);
  assert.deepEqual(pidsNaming(join(host.runDir, 'network')), []);
  assert.ok(!existsSync('/run/dom0-nat') || !readdirSync('/run/dom0-nat').some((f) => f.endsWith('-natbr0')), 'the MACs dnsmasq read are gone with it');
});

test('NAT network errors: a bad subnet in xl.conf, a name taken by an interface dom0 did not make; nothing is left', async () => {
  writeFileSync(file('etc/xl.conf'), 'vif.nat.bridge = "natbr0"\nvif.nat.subnet = "10.0.0.0/33"\n');
  let r = await xl('create', '-p', 'nat.cfg');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /\nxl\.conf: vif\.nat\.subnet="10\.0\.0\.0\/33" is not an IPv4 network\nhint: /);
  assert.deepEqual(await listed(), []);
  assert.deepEqual(links().map((l) => l.ifname).filter((n) => n === 'natbr0' || /^(vif|ifb)/.test(n)), []);
  // A subnet the host has already (xenbr0's): two routes for it would cut one side off.
  writeFileSync(file('etc/xl.conf'), `vif.nat.bridge = "natbr0"\nvif.nat.subnet = "${HOST_IP.replace(/\.\d+$/, '.0')}/24"\n`);
  r = await xl('create', '-p', 'nat.cfg');
  assert.match(r.err, /\nCannot make the NAT network on bridge 'natbr0': xl\.conf's vif\.nat\.subnet="[\d.]+\/24" overlaps [\d.]+\/24, in use on this host\nhint: /);
  assert.deepEqual(await listed(), []);
  assert.deepEqual(links().map((l) => l.ifname).filter((n) => n === 'natbr0' || /^(vif|ifb)/.test(n)), []);
  writeFileSync(file('etc/xl.conf'), 'vif.nat.bridge = "natbr0"\n');
  inNs('ip', 'link', 'add', 'natbr0', 'type', 'bridge');
  r = await xl('create', '-p', 'nat.cfg');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /\nCannot make the NAT network on bridge 'natbr0': an interface of that name exists, which dom0 did not make\nhint: /);
  assert.deepEqual(await listed(), []);
  assert.deepEqual(vifLinks(), []);
  assert.ok(links().some((l) => l.ifname === 'natbr0'), 'the interface dom0 did not make is left alone');
  assert.deepEqual(nftTables(), []);
  assert.deepEqual(pidsNaming(join(host.runDir, 'network')), []);
  inNs('ip', 'link', 'del', 'natbr0');
  // Another dom0's NAT network (every instance's default bridge name is the same): named as theirs,
  // never joined, never taken.
  inNs('ip', 'link', 'add', 'natbr0', 'type', 'bridge');
  inNs('ip', 'link', 'set', 'dev', 'natbr0', 'alias', 'dom0 abcdef12 nat');
  r = await xl('create', '-p', 'nat.cfg');
  assert.match(r.err, /\nCannot make the NAT network on bridge 'natbr0': it is the NAT network of another dom0 on this host \(instance abcdef12\)\nhint: /);
  assert.deepEqual(await listed(), []);
  assert.deepEqual(vifLinks(), []);
  assert.ok(links().some((l) => l.ifname === 'natbr0'), 'the other dom0\'s bridge is left alone');
  inNs('ip', 'link', 'del', 'natbr0');
  // A dom0d killed between making the NAT bridge and tagging it (its record written first): the
  // next dom0d takes that bridge away (it refused the NAT network for good before).
  writeFileSync(join(host.runDir, 'network', 'natbr0.json'), `${JSON.stringify({ bridge: 'natbr0', subnet: '10.0.254.0/24', table: 'dom0_0_nat_6e' })}\n`);
  inNs('ip', 'link', 'add', 'natbr0', 'type', 'bridge');
  const dead = readPid(host) as number;
  process.kill(dead, 'SIGKILL');
  await until('dom0d gone', () => !isPidAlive(dead), 10_000, 20);
  assert.deepEqual(await listed(), []);
  await until('the untagged NAT bridge gone', () => !links().some((l) => l.ifname === 'natbr0'), 10_000, 50);
});


test('vifs a dead dom0d left on live domains (a hot-plug it died in) go with their domains, one without vifs in its config included', async () => {
  await ok('create', '-p', 'a.cfg');
  writeFileSync(file('plain.cfg'), [
    'name = "plain"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128',
  ].join('\n'));
  await ok('create', '-p', 'plain.cfg');
  const [a, plain] = [await domid('a'), await domid('plain')];
  // Taps as dom0 makes them (its tag in the alias) for vifs no record holds: a.5, and plain.0 of
  // the domain that has no vif at all.
  const tag = links().find((l) => l.ifname === `vif${a}.0`)?.ifalias ?? '';
  assert.match(tag, new RegExp(`^dom0 [0-9a-f]+ vif ${a}\\.0 tap$`));
  for (const [id, devid] of [[a, 5], [plain, 0]] as const) {
    inNs('ip', 'tuntap', 'add', 'dev', `vif${id}.${devid}`, 'mode', 'tap');
    inNs('ip', 'link', 'set', 'dev', `vif${id}.${devid}`, 'alias', tag.replace(` vif ${a}.0 `, ` vif ${id}.${devid} `));
  }
  const dead = readPid(host) as number;
  process.kill(dead, 'SIGKILL');
  await until('dom0d gone', () => !isPidAlive(dead), 10_000, 20);
  assert.deepEqual((await listed()).map((d) => d.name).sort(), ['a', 'plain']);
  // The next dom0d leaves a live domain's vifs alone (QEMU may use one); its destroy takes them.
  assert.deepEqual(vifLinks().sort(), [`vif${a}.0`, `vif${a}.5`, `vif${plain}.0`].sort());
  await ok('destroy', 'plain');
  assert.deepEqual(vifLinks().sort(), [`vif${a}.0`, `vif${a}.5`].sort());
  await ok('destroy', 'a');
  assert.deepEqual(vifLinks(), []);
  assert.deepEqual(nftTables(), []);
});
