import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { NicDevice } from '../config/index.js';
import type { HostLink } from './host-commands.js';
import { masqueradeRules, parseCidr } from './nat.js';
import { vifScript, vifScriptEnv } from './scripts.js';
import { antispoofRules, checkVifPlans, parseVifTag, planVif, vifTag } from './vif.js';
import type { VifContext } from './vif.js';

const d = { domid: 7, name: 'web' };
const ctx: VifContext = { instance: 'abcd1234', scriptDir: '/nonexistent/scripts', natBridge: 'dom0nat' };
const plan = (nic: NicDevice, index = 0) => planVif(d, nic, index, ctx);

/** Asserts `fn` throws a ToolstackError of `code` whose message matches `message`. */
function throwsCode(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isToolstackError(e), String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    assert.ok(e.hint !== undefined && e.hint !== '', 'a hint');
    return true;
  });
}

test('a vif is planned with Xen\'s names: vif<domid>.<devid>, bridge xenbr0, its table and rate limiter', () => {
  const p = plan({ devid: 2, mac: '00:16:3e:00:00:01', rate_bytes_per_interval: 10000, rate_interval_usecs: 50000, ip: '10.0.0.5 10.0.1.0/24' });
  assert.equal(p.tap, 'vif7.2');
  assert.equal(p.bridge, 'xenbr0');
  assert.equal(p.nat, false);
  assert.equal(p.ifb, 'ifb7.2');
  assert.equal(p.table, 'dom0_abcd1234_vif7_2');
  assert.deepEqual(p.ips, ['10.0.0.5', '10.0.1.0/24']);
  // 10000 bytes per 50 ms = 1.6 Mbit/s; the bucket holds at least netback's 128 KiB.
  assert.deepEqual(p.rate, { bitsPerSecond: 1_600_000, burstBytes: 131072, latencyUs: 50000 });
  assert.equal(plan({ ifname: 'web0', bridge: 'dom0nat' }).tap, 'web0');
  assert.equal(plan({ bridge: 'dom0nat' }, 3).nat, true);
  assert.equal(plan({}, 3).tap, 'vif7.3', 'no devid: its index');
  assert.equal(plan({ mtu: 9000 }).mtu, 9000);
  assert.equal(plan({ script: 'vif-bridge' }).script, undefined, 'Xen\'s default script, not installed: the built-in logic');
});

test('bad vif settings are refused before anything is made, one line each with a hint', () => {
  throwsCode(() => plan({ ifname: 'averyveryverylongname' }), 'CFG_VALUE', /^Cannot plug vif averyveryverylongname of domain 'web': its name is no interface name: it is 21 bytes long/);
  throwsCode(() => plan({ ifname: 'a b' }), 'CFG_VALUE', /its name is no interface name: it may hold only/);
  throwsCode(() => plan({ bridge: 'br/0' }), 'CFG_VALUE', /bridge 'br\/0' is no interface name/);
  // Through the API a NUL reached spawn's environment (a Node error, not one line).
  throwsCode(() => plan({ gatewaydev: 'eth0\0x' }), 'CFG_VALUE', /gatewaydev "eth0\\u0000x" is no interface name/);
  throwsCode(() => plan({ ip: '10.0.0.300' }), 'CFG_VALUE', /ip="10\.0\.0\.300": '10\.0\.0\.300' is not an IPv4 address or network/);
  throwsCode(() => plan({ ip: '10.0.0.1/33' }), 'CFG_VALUE', /is not an IPv4 address or network/);
  throwsCode(() => plan({ mtu: 40 }), 'CFG_VALUE', /mtu=40 is out of range/);
  // A tap's largest MTU is 65521: above it `ip link` failed after the MAC was given to dnsmasq.
  throwsCode(() => plan({ mtu: 65522 }), 'CFG_VALUE', /mtu=65522 is out of range/);
  // A tap named as the NAT bridge kept every later domain off the NAT network.
  throwsCode(() => plan({ ifname: 'dom0nat' }), 'CFG_VALUE', /^Cannot plug vif dom0nat of domain 'web': its name is that of dom0's NAT bridge/);
  throwsCode(() => planVif({ domid: 32000, name: 'web' }, { ifname: 'web0', devid: 1234567, rate_bytes_per_interval: 1, rate_interval_usecs: 1 }, 0, ctx), 'CFG_VALUE', /its rate limiter ifb32000\.1234567 needs a name longer than 15 bytes/);
  // rate=10B/s is half a byte per 50 ms, kept as 0: it had no limit at all.
  throwsCode(() => plan({ rate_bytes_per_interval: 0, rate_interval_usecs: 50000 }), 'CFG_VALUE', /rate= is less than one byte per its 50000 µs interval/);
  throwsCode(() => plan({ script: '/nonexistent/vif-custom' }), 'NETWORK', /its script \/nonexistent\/vif-custom does not exist/);
  const dir = mkdtempSync(join(tmpdir(), 'dom0-vif-'));
  try {
    writeFileSync(join(dir, 'vif-plain'), '#!/bin/sh\n');
    chmodSync(join(dir, 'vif-plain'), 0o644);
    throwsCode(() => plan({ script: join(dir, 'vif-plain') }), 'NETWORK', /is not executable/);
    chmodSync(join(dir, 'vif-plain'), 0o755);
    assert.equal(planVif(d, { script: 'vif-plain' }, 0, { ...ctx, scriptDir: dir }).script, join(dir, 'vif-plain'), 'a name is looked for in the script directory');
    assert.equal(vifScript(undefined, dir, () => new ToolstackError('NETWORK', 'x')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plans are checked against the host: free names, a bridge that exists and is a bridge', () => {
  const link = (name: string, kind?: string): HostLink => ({ name, mtu: 1500, kind, master: undefined, alias: undefined });
  const host = [link('xenbr0', 'bridge'), link('eth0'), link('vif7.5', 'tun')];
  checkVifPlans(d, [plan({ devid: 0 }), plan({ devid: 1, bridge: 'dom0nat' })], host, 'dom0nat');
  throwsCode(() => checkVifPlans(d, [plan({ devid: 0, bridge: 'br9' })], host, 'dom0nat'), 'NETWORK', /^Cannot plug vif vif7\.0 of domain 'web': bridge 'br9' does not exist$/);
  throwsCode(() => checkVifPlans(d, [plan({ devid: 0, bridge: 'eth0' })], host, 'dom0nat'), 'NETWORK', /'eth0' is not a bridge/);
  throwsCode(() => checkVifPlans(d, [plan({ devid: 5 })], host, 'dom0nat'), 'NETWORK', /an interface named vif7\.5 exists already/);
  // Another dom0's on the host (domids repeat across instances): named, and not to be deleted by hand.
  const theirs = [...host, { ...link('vif7.6', 'tun'), alias: 'dom0 abcdef01 vif 7.6 tap' }];
  assert.throws(() => checkVifPlans(d, [plan({ devid: 6 })], theirs, 'dom0nat'), (e: unknown) => e instanceof ToolstackError &&
    /exists already: vif 7\.6 of the dom0 whose instance is abcdef01$/.test(e.message) && !(e.hint ?? '').includes('ip link del'));
  throwsCode(() => checkVifPlans(d, [plan({ devid: 0, ifname: 'x0' }), plan({ devid: 1, ifname: 'x0' })], host, 'dom0nat'), 'CFG_VALUE', /two of its vifs are named x0/);
  // With a script, the script plugs the tap: the bridge is its business.
  checkVifPlans(d, [{ ...plan({ devid: 0, bridge: 'br9' }), script: '/bin/true' }], host, 'dom0nat');
  // A smaller MTU than the bridge's would lower the bridge's (Linux takes its ports' smallest).
  throwsCode(() => checkVifPlans(d, [plan({ devid: 0, mtu: 68 })], host, 'dom0nat'), 'NETWORK',
    /^Cannot plug vif vif7\.0 of domain 'web': mtu=68 is below the MTU of bridge 'xenbr0' \(1500\): its tap would lower the bridge's, for everything on it$/);
  checkVifPlans(d, [plan({ devid: 0, mtu: 1500 }), plan({ devid: 1, mtu: 9000 }), plan({ devid: 2, mtu: 576, bridge: 'dom0nat' })], host, 'dom0nat');
  checkVifPlans(d, [{ ...plan({ devid: 0, mtu: 68 }), script: '/bin/true' }], host, 'dom0nat');
  // QEMU takes a multicast MAC for a NIC; the guest then has no network.
  for (const mac of ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01']) {
    throwsCode(() => checkVifPlans(d, [plan({ devid: 0, mac })], host, 'dom0nat'), 'CFG_VALUE',
      new RegExp(`^Cannot plug vif vif7\\.0 of domain 'web': mac=${mac} is a multicast address, which no NIC can have$`));
  }
  checkVifPlans(d, [plan({ devid: 0, mac: '00:16:3e:00:00:01' }), plan({ devid: 1, mac: '02:00:00:00:00:01' })], host, 'dom0nat');
});

test('a vif whose tap another create made first fails, and that tap stays (real links, in a namespace)', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const ns = `dom0vif${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const ipn = (...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
    ipn('link', 'add', 'xenbr0', 'type', 'bridge');
    ipn('tuntap', 'add', 'dev', 'web0', 'mode', 'tap');
    // makeVif in the namespace, for a plan that was checked before web0 existed.
    const script = `import { makeVif, planVif } from ${JSON.stringify(new URL('./vif.js', import.meta.url).href)};
      const p = planVif({ domid: 7, name: 'web' }, { devid: 0, ifname: 'web0' }, 0, { instance: 'abcd1234', scriptDir: '/nonexistent', natBridge: 'dom0nat' });
      await makeVif({ domid: 7, name: 'web' }, p, 'abcd1234', 1500).then(() => console.log('made'), (e) => console.log(e.message));`;
    const said = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.match(said, /^Cannot plug vif web0 of domain 'web': ip tuntap add dev: ioctl\(TUNSETIFF\): Device or resource busy/);
    assert.match(ipn('link', 'show', 'dev', 'web0'), /web0/);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

test('links are tagged with this dom0 and the vif, and only this dom0\'s tags are read back', () => {
  assert.equal(vifTag('abcd1234', 7, 2, 'tap'), 'dom0 abcd1234 vif 7.2 tap');
  assert.deepEqual(parseVifTag('dom0 abcd1234 vif 7.2 rate', 'abcd1234'), { domid: 7, devid: 2, role: 'rate' });
  assert.equal(parseVifTag('dom0 ffff0000 vif 7.2 tap', 'abcd1234'), undefined);
  assert.equal(parseVifTag(undefined, 'abcd1234'), undefined);
});

test('ip= becomes a bridge-family table that lets only those sources (and DHCP, ARP probes) leave the tap', () => {
  const rules = antispoofRules('t', 'vif7.0', ['10.0.0.5', '10.0.1.0/24']);
  assert.match(rules, /iifname != "vif7\.0" accept/);
  assert.match(rules, /ether type ip ip saddr \{ 10\.0\.0\.5, 10\.0\.1\.0\/24 \} accept/);
  assert.match(rules, /ether type arp arp saddr ip 0\.0\.0\.0 accept/);
  assert.match(rules, /ether type \{ ip, arp, 8021q, 8021ad \} drop/);
  const nat = masqueradeRules('n', '10.0.254.0/24', 'dom0nat');
  assert.match(nat, /ip saddr 10\.0\.254\.0\/24 ip daddr != 10\.0\.254\.0\/24 masquerade/);
  // The host routes only the subnet's own addresses out of the bridge, and only replies into it.
  assert.match(nat, /iifname "dom0nat" oifname "dom0nat" accept\n\s+iifname "dom0nat" ip saddr 10\.0\.254\.0\/24 accept\n\s+oifname "dom0nat" ct state established,related accept\n\s+oifname "dom0nat" ct status dnat accept\n\s+iifname "dom0nat" reject\n\s+oifname "dom0nat" reject/);
  assert.deepEqual(parseCidr('10.0.254.77/24'), { address: (10 << 24) + 254 * 256, prefix: 24 });
});

test('a vif script gets libxl\'s environment', () => {
  const env = vifScriptEnv({
    script: '/etc/xen/scripts/vif-bridge', action: 'online', domid: 7, devid: 1, tap: 'vif7.1',
    nic: { nictype: 'vif_ioemu', gatewaydev: 'eth0' }, xenstoredSocket: '/run/dom0/xenstored/socket',
  }, { PATH: '/bin' });
  assert.deepEqual(env, {
    PATH: '/bin', script: '/etc/xen/scripts/vif-bridge', XENBUS_TYPE: 'vif', XENBUS_PATH: 'backend/vif/7/1', XENBUS_BASE_PATH: 'backend',
    netdev: 'eth0', INTERFACE: 'vif7.1', vif: 'vif7.1', XENSTORED_PATH: '/run/dom0/xenstored/socket',
  });
});
