import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolvePaths } from '../common/index.js';
import { isPidAlive, killPid, readPidFile } from '../host/index.js';

const BRIDGE = 'natbr9';
const mac = (i: number): string => `02:00:00:00:09:${i.toString(16).padStart(2, '0')}`;

/**
 * A real NAT network (bridge, nftables, dnsmasq) in a namespace this test makes, and a DHCP client
 * in a second one on a veth port of its bridge: dnsmasq leases to the MACs admitted, each read
 * as it is admitted, and to no MAC once forgotten.
 */
test('the NAT network\'s dnsmasq reads every admitted MAC as it is admitted, and forgets a forgotten one (real dnsmasq, in namespaces)', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const host = `dom0nat${process.pid}`;
  const guest = `dom0natc${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'dom0-nat-'));
  const paths = resolvePaths({ DOM0_CONFIG_DIR: `${dir}/etc`, DOM0_STATE_DIR: `${dir}/state`, DOM0_RUN_DIR: `${dir}/run`, DOM0_LOG_DIR: `${dir}/log` }, { uid: 0, home: dir, cwd: dir });
  mkdirSync(paths.logDir, { recursive: true });
  const instance = `7e57${(process.pid % 0x10000).toString(16).padStart(4, '0')}`;
  /** Runs `body` (ES module code with `nat`, a NatNetworks of this test's dom0) in the host namespace. */
  const inHost = (body: string): string => {
    const script = `import { NatNetworks } from ${JSON.stringify(new URL('./nat.js', import.meta.url).href)};
      process.umask(0o077);
      const nat = new NatNetworks({ paths: ${JSON.stringify(paths)}, instance: ${JSON.stringify(instance)}, log: () => undefined });
      ${body}`;
    return execFileSync('ip', ['netns', 'exec', host, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  };
  /**
   * Whether a DHCP client on guest port `port` gets a lease within 6 s (dnsmasq pings a new address
   * for 3 s before it offers it; a MAC it ignores is ignored at once).
   */
  const lease = (port: string): boolean =>
    spawnSync('ip', ['netns', 'exec', guest, 'busybox', 'udhcpc', '-i', port, '-n', '-q', '-t', '3', '-T', '2', '-s', '/bin/true'], { encoding: 'utf8', timeout: 30_000 }).status === 0;
  execFileSync('ip', ['netns', 'add', host]);
  execFileSync('ip', ['netns', 'add', guest]);
  // What a dom0d killed while it made a MAC file left (its pid gone): the next admit removes it.
  const dead = spawnSync('true').pid;
  const stale = `/run/dom0-nat/.vif-${dead}-0123456789ab`;
  try {
    mkdirSync('/run/dom0-nat', { recursive: true });
    writeFileSync(stale, `${mac(99)}\n`);
    inHost(`await nat.ensure(${JSON.stringify(BRIDGE)}, '10.0.77.0/24');
      for (let i = 0; i < 40; i++) nat.admit(${JSON.stringify(BRIDGE)}, 100 + i, 0, (${mac.toString()})(i));`);
    assert.equal(existsSync(stale), false, 'a dead dom0d\'s half-made MAC file is removed');
    // A port each for an admitted MAC, one never admitted and one to be forgotten.
    const ports = { admitted: mac(8), stranger: '02:00:00:00:08:07', forgotten: mac(7) };
    for (const [port, address] of Object.entries(ports)) {
      execFileSync('ip', ['-n', host, 'link', 'add', `h-${port}`, 'type', 'veth', 'peer', 'name', port, 'netns', guest]);
      execFileSync('ip', ['-n', host, 'link', 'set', 'dev', `h-${port}`, 'master', BRIDGE, 'up']);
      execFileSync('ip', ['-n', guest, 'link', 'set', 'dev', port, 'address', address, 'up']);
    }
    const log = (): string => readFileSync(join(paths.logDir, `dnsmasq-${BRIDGE}.log`), 'utf8');
    assert.equal(lease('admitted'), true, 'an admitted MAC gets a lease');
    // By now dnsmasq has read every file as it came (each close) and at each reread (SIGHUP).
    assert.doesNotMatch(log(), /cannot read/, 'every MAC file readable by dnsmasq when it read it');
    assert.equal(lease('stranger'), false, 'a MAC never admitted gets none');
    assert.equal(lease('forgotten'), true, 'an admitted MAC gets a lease');
    inHost(`nat.forget(${JSON.stringify(BRIDGE)}, 107, 0);`);
    assert.equal(lease('forgotten'), false, 'a forgotten MAC gets none');
    assert.equal(lease('admitted'), true, 'the others still do');
    inHost(`await nat.remove(${JSON.stringify(BRIDGE)});`);
  } finally {
    const pid = readPidFile(join(paths.networkRunDir, `${BRIDGE}.dnsmasq.pid`));
    if (pid !== undefined && isPidAlive(pid)) killPid(pid);
    rmSync(`/run/dom0-nat/${instance}-${BRIDGE}`, { recursive: true, force: true });
    rmSync(stale, { force: true });
    try {
      rmdirSync('/run/dom0-nat');
    } catch {
      // another NAT network's (or none)
    }
    execFileSync('ip', ['netns', 'del', guest]);
    execFileSync('ip', ['netns', 'del', host]);
    rmSync(dir, { recursive: true, force: true });
  }
});
