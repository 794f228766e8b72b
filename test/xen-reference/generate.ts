// Random inputs for the differential test against Xen's own xl (fuzz.test.ts): xl.cfg files built
// from every key of the option table with valid, borderline and wrong values, device spec strings,
// grammar-level malformations, command-line `key=value` overrides, xl.conf files, and
// block-attach / network-attach arguments. Deterministic for a seed.
import { XL_CFG_OPTIONS } from '../../src/config/index.js';
import { rng } from '../support/rng.js';

export interface FuzzCase {
  readonly id: string;
  /** xl's arguments; `FILE` stands for the config file. */
  readonly argv: readonly string[];
  readonly cfg?: string | undefined;
  readonly xlconf?: string | undefined;
}


class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  some<T>(xs: readonly T[], max: number): T[] {
    return Array.from({ length: 1 + this.int(max) }, () => this.pick(xs));
  }
}

const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const list = (items: readonly string[]): string => `[ ${items.map(q).join(', ')} ]`;

const NUMBERS = ['0', '1', '2', '3', '4', '8', '16', '128', '512', '1024', '0x200', '010', '08', '0x', '12abc', '1e5',
  '4294967296', '2147483647', '2147483648', '99999999999999999999', '00', '0x7fffffff'];
const STRINGY_NUMBERS = ['""', '"512"', '" 512"', '"-1"', '"512 "', '"+4"', '"abc"', '"0X10"', '["1"]', '[]'];
const WORDS = ['x', '', 'default', 'none', 'yes', 'true', 'on', 'host', 'all', 'auto', 'qemu-xen', 'qemu-xen-traditional',
  '/usr/lib/xen/boot/hvmloader', 'Host', ' a ', 'a,b', 'nodes:0', '0-3,^1', '^0', 'all,^3', '7', '0-99'];

function caseVariants(g: Gen, s: string): string {
  switch (g.int(4)) {
    case 0: return s.toUpperCase();
    case 1: return s.charAt(0).toUpperCase() + s.slice(1);
    case 2: return `${s}x`;
    default: return s.slice(0, Math.max(1, s.length - 1));
  }
}

function numberValue(g: Gen): string {
  return g.chance(0.75) ? g.pick(NUMBERS) : g.pick(STRINGY_NUMBERS);
}

function stringValue(g: Gen): string {
  if (g.chance(0.1)) return g.pick(NUMBERS);
  if (g.chance(0.08)) return list(g.some(WORDS, 2));
  return q(g.pick(WORDS));
}

function enumValue(g: Gen, allowed: readonly string[]): string {
  const v = g.pick(allowed);
  if (g.chance(0.5)) return q(v);
  if (g.chance(0.5)) return q(caseVariants(g, v));
  return g.chance(0.5) ? numberValue(g) : stringValue(g);
}

// ---- device spec strings --------------------------------------------------------------------------
const DISK_TARGETS = ['/srv/vm.img', '/dev/vg/lv', '', 'a b.img', '/x,y', 'nbd:host:1234', '/iso/d.iso'];
const DISK_PARTS: ((g: Gen) => string)[] = [
  (g) => g.pick(DISK_TARGETS),
  (g) => g.pick(['raw', 'qcow', 'qcow2', 'vhd', 'qed', 'empty', 'RAW', '', 'vmdk']),
  (g) => g.pick(['xvda', 'xvdb', 'hda', 'hdc', 'sda', 'xvda1', 'hdc:cdrom', 'xvdb:disk', 'd0p1', '51712', 'xvd', 'hde', 'xvdaa', 'sdq']),
  (g) => g.pick(['r', 'ro', 'rw', 'w', '', 'x']),
  (g) => `format=${g.pick(['raw', 'qcow2', 'vhd', 'zz', ''])}`,
  (g) => `vdev=${g.pick(['xvda', 'hdb', 'sdc', '', 'bogus'])}`,
  (g) => `access=${g.pick(['r', 'rw', 'ro', 'w', '', 'rx'])}`,
  (g) => `devtype=${g.pick(['cdrom', 'disk', 'floppy'])}`,
  (g) => `backend=${g.pick(['0', 'dom0', 'driver'])}`,
  (g) => `backendtype=${g.pick(['phy', 'tap', 'qdisk', 'standalone', 'vbd3', 'x'])}`,
  (g) => `specification=${g.pick(['xen', 'virtio', 'y'])}`,
  (g) => `script=${g.pick(['block-iscsi', '/etc/s', ''])}`,
  (g) => g.pick(['cdrom', 'direct-io-safe', 'discard', 'no-discard', 'colo', 'no-colo',
    'colo-port=0', 'colo-port=7', 'colo-host=h', 'active-disk=/a',
    'hidden-disk=/h', 'colo-export=e', 'bogus=1', 'transport=mmio']),
  (g) => `${g.pick(['raw', 'qcow2', 'vhd', 'phy', 'file', 'tap', 'tap2', 'aio', 'ioemu', 'tapdisk', 'iscsi', 'nbd', 'enbd', 'drbd', 'qed', 'zzz'])}:${g.pick(DISK_TARGETS)}`,
  (g) => `target=${g.pick(DISK_TARGETS)}`,
];

/** A disk spec built to be valid (or nearly), in positional or keyword form. */
function validDiskSpec(g: Gen): string {
  const target = g.pick(['/srv/vm.img', '/dev/vg/lv', '/iso/d.iso', 'a b.img', 'rel/x.qcow2']);
  const vdev = g.pick(['xvda', 'xvdb', 'hda', 'hdc', 'sda', 'xvda1', 'd1p2', 'xvdz', 'xvdaa', '51728']);
  const format = g.pick(['', 'raw', 'qcow2', 'vhd', 'qcow', 'qed']);
  const access = g.pick(['', 'r', 'ro', 'rw', 'w']);
  const flags = g.some(['cdrom', 'devtype=disk', 'devtype=cdrom', 'backend=dom0', 'backendtype=phy', 'backendtype=qdisk',
    'backendtype=tap', 'script=block-iscsi', 'discard', 'no-discard', 'direct-io-safe', 'specification=xen',
    'specification=virtio', 'colo', 'colo-host=h', 'colo-port=9000', 'colo-export=e', 'active-disk=/a', 'hidden-disk=/h'], 2);
  const extra = g.chance(0.4) ? flags : [];
  if (g.chance(0.5)) return [target, format, vdev, access, ...extra].join(g.pick([',', ', ']));
  const kvs = [`vdev=${vdev}`, ...(format === '' ? [] : [`format=${format}`]), ...(access === '' ? [] : [`access=${access}`]), ...extra];
  return [...kvs.sort(() => g.r() - 0.5), `target=${target}`].join(g.pick([',', ', ']));
}

function diskSpec(g: Gen): string {
  if (g.chance(0.5)) return validDiskSpec(g);
  if (g.chance(0.5)) {
    // positional-first forms
    const n = 1 + g.int(5);
    const parts = Array.from({ length: n }, (_, i) => (DISK_PARTS[i] as (g: Gen) => string)(g));
    if (g.chance(0.4)) parts.push(...g.some(DISK_PARTS.slice(4), 2).map((f) => f(g)));
    return parts.join(g.pick([',', ', ', ',']));
  }
  return g.some(DISK_PARTS, 5).map((f) => f(g)).join(g.pick([',', ', ']));
}

const MACS = ['00:16:3e:01:02:03', '00:16:3E:AA:bb:cc', '00-16-3e-01-02-03', '00:16:3e:01:02', '00:16:3e:01:02:1ff',
  'zz:16:3e:01:02:03', '0:1:2:3:4:5', '00:16:3e:01:02:03:04'];
const VIF_ITEMS: ((g: Gen) => string)[] = [
  (g) => `mac=${g.pick(MACS)}`,
  (g) => `bridge=${g.pick(['xenbr0', 'br-lan', ''])}`,
  (g) => `ip=${g.pick(['10.0.0.2', '10.0.0.2 10.0.0.3', ''])}`,
  (g) => `type=${g.pick(['vif', 'ioemu', 'VIF', 'x'])}`,
  (g) => `model=${g.pick(['e1000', 'rtl8139', 'virtio-net', ''])}`,
  (g) => `rate=${g.pick(['10Mb/s', '16000000b/s', '2000000B/s', '80Mb/s@1s', '0B/s', '10Mb/s@20ms', '1GB/s@100us',
    '10MB/s@5s', 'fast', '10Mb/s@', '99999999999GB/s', '1B/s@0', '', '5Kb/s@4294967296us'])}`,
  (g) => `devid=${g.pick(['0', '3', '-1', 'x', '0x10'])}`,
  (g) => `mtu=${g.pick(['1500', '9000', '0', 'x', '65536'])}`,
  (g) => `script=${g.pick(['vif-route', '/etc/xen/scripts/vif-nat'])}`,
  (g) => `backend=${g.pick(['0', 'dom0', 'netback'])}`,
  (g) => `vifname=${g.pick(['v0', 'vif-web', ''])}`,
  (g) => `gatewaydev=${g.pick(['eth0', ''])}`,
  (g) => `netdev=${g.pick(['eth1'])}`,
  (g) => g.pick(['trusted', 'untrusted', 'accel=x', 'bogus', 'bogus=1', 'forwarddev=eth0', 'colo_sock_mirror_id=1',
    'colo_compare_pri_in=a', ' mac=00:16:3e:00:00:01', 'ip=', 'mac=', '']),
];

function vifSpec(g: Gen): string {
  return g.some(VIF_ITEMS, 5).map((f) => f(g)).join(g.pick([',', ', ', ',,']));
}

function kv(g: Gen, pairs: readonly (readonly [string, readonly string[]])[], max: number, bare = 0.08): string {
  return g.some(pairs, max).map(([k, vs]) => (g.chance(bare) ? k : `${k}=${g.pick(vs)}`)).join(',');
}

const BDFS = ['00:02.0', '0000:00:02.1', '01:00.*', '03:1f.7', '03:20.0', '0:0.8', 'ffff:ff:1f.7', '10000:00:00.0', 'zz:00.0',
  '00:02.0@3', '00:02.0@1f', '00:02.0@20', '1:2.3']; // not `00:02,...`: xl's sscanf leaves %n unset
function pciSpec(g: Gen): string {
  const head = g.chance(0.7) ? [g.pick(BDFS)] : [];
  const rest = kv(g, [['bdf', BDFS], ['vslot', ['0', '1f', '20', 'x']], ['permissive', ['0', '1', 'x']],
    ['msitranslate', ['1', '0']], ['seize', ['1', '0']], ['power_mgmt', ['0', '1']],
    ['rdm_policy', ['strict', 'relaxed', 'Strict', 'x']], ['name', ['gpu', '']], ['bogus', ['1']]], 3);
  return [...head, ...(g.chance(0.6) ? [rest] : [])].join(',');
}

const SPEC_GENERATORS: Readonly<Record<string, (g: Gen) => string>> = {
  disk: diskSpec,
  vif: vifSpec,
  pci: pciSpec,
  usbctrl: (g) => kv(g, [['type', ['auto', 'pv', 'qusb', 'devicemodel', 'PV', 'x']], ['version', ['1', '2', '3', '4', 'x']],
    ['ports', ['8', '15', '31', '32', '0', 'x']], ['bogus', ['1']]], 3),
  usbdev: (g) => kv(g, [['type', ['hostdev', 'x']], ['hostbus', ['1', '0x2', 'x']], ['hostaddr', ['3', '010']],
    ['controller', ['0', '1', 'x']], ['port', ['1', '2', '0']], ['bogus', ['1']]], 4),
  vfb: (g) => kv(g, [['vnc', ['0', '1', 'x']], ['vncunused', ['0', '1']], ['sdl', ['1', '0']], ['opengl', ['1']],
    ['vnclisten', ['0.0.0.0', '127.0.0.1:3']], ['vncpasswd', ['s3cret', '']], ['keymap', ['en-us', 'de']],
    ['vncdisplay', ['1', '5', 'x']], ['display', [':0']], ['xauthority', ['/root/.Xauthority']], ['bogus', ['1']]], 4),
  channel: (g) => kv(g, [['name', ['org.qemu.guest_agent.0', 'c1', '']], ['connection', ['pty', 'socket', 'PTY', 'x', '']],
    ['path', ['/run/c.sock', '']], ['backend', ['0', 'dom0']], ['bogus', ['1']], [' name ', [' n1 ']]], 4),
  vtpm: (g) => kv(g, [['backend', ['vtpmmgr', '0', '']], ['uuid', ['b4bd83ee-5fac-4e5e-9c3a-5e8c0f06fc4f', 'x', '']],
    ['bogus', ['1']]], 3),
  // p9 is read as current Xen reads it (split+trim, `Unknown 9pfs parameter`, empty values
  // refused, each item on its own), not as 4.17's strtok: only what both read alike is generated.
  // 4.17 also carries tag/path/security_model/backend over from the previous item: every item has
  // the first three, none has a backend.
  p9: (g) => `tag=share,security_model=${g.pick(['none', 'mapped'])},path=/srv/share`,
  vkb: (g) => kv(g, [['backend', ['0', 'dom0']], ['backend-type', ['qemu', 'linux', 'LINUX', 'x']], ['unique-id', ['k0']],
    ['feature-disable-keyboard', ['1', '0']], ['feature-disable-pointer', ['1']], ['feature-abs-pointer', ['1']],
    ['feature-raw-pointer', ['1']], ['feature-multi-touch', ['1', '0']], ['multi-touch-width', ['100', 'x']],
    ['multi-touch-height', ['100']], ['multi-touch-num-contacts', ['4']], ['width', ['800', '0x10']],
    ['height', ['600']], ['bogus', ['1']]], 5),
  vdispl: (g) => kv(g, [['backend', ['0', 'dom0']], ['be-alloc', ['1', '0', 'x']],
    ['connectors', ['id0:1920x1080', 'id0:1920x1080;id1:800x600', 'id0:1920', 'id0', '']], ['bogus', ['1']]], 3),
  virtio: (g) => kv(g, [['backend', ['0', 'dom0']], ['type', ['virtio,device22', 'virtio,device', 'x']],
    ['transport', ['mmio', 'pci', 'x']], ['grant_usage', ['0', '1', 'x']], ['bogus', ['1']]], 4),
  pvcalls: (g) => kv(g, [['backend', ['0', 'dom0', '']], ['bogus', ['1']]], 2),
  vsnd: (g) => g.pick(['CARD, short-name=c', 'PCM, name=p', 'STREAM, unique-id=s0, type=p', 'STREAM, unique-id=s1, type=c',
    'STREAM, id=0, type=p', 'card, sample-rates=8000;44100', 'PCM, sample-formats=s16_le;u8', 'PCM, sample-formats=float_le',
    'STREAM, type=x', 'BOGUS', 'CARD, channels-min=1, channels-max=2, buffer-size=65536', 'CARD, long-name=Long']),
  dtdev: (g) => g.pick(['/soc/x', '']),
  ioports: (g) => g.pick(['2f8', '2f8-2ff', 'zz', '2ff-2f8', '0x2f8', '']),
  iomem: (g) => g.pick(['fe000,2', 'fe000,2@fe000', 'fe000', 'x,1', 'fe000,2@']),
  irqs: (g) => g.pick(['1', '7', 'x', '-1', '4294967296']),
  llc_colors: (g) => g.pick(['0', '0-3', '3-1', 'x']),
  device_model_args: (g) => g.pick(['-no-shutdown', '', '-d guest_errors']),
  device_model_args_hvm: (g) => g.pick(['-no-shutdown', '']),
  device_model_args_pv: (g) => g.pick(['-no-shutdown', '']),
  usbdevice: (g) => g.pick(['tablet', 'mouse', 'host:1234:5678', 'host:8.2']),
  serial: (g) => g.pick(['pty', 'null', 'file:/tmp/s', 'tcp::4555,server,nowait']),
  smbios: (g) => g.pick(['bios_vendor=Xen', 'system_serial_number=123', 'oem=x', 'oem=', 'bogus=1', 'bios_vendor']),
  xenstore_quota: (g) => g.pick(['nodes=100', 'watches=10', 'x=1', 'nodes']),
  cpus: (g) => g.pick(['0', '1-3', '0-3,^1', 'all', 'nodes:0', '^all', '7', '0-99', 'x', '3-1', '']),
  cpus_soft: (g) => g.pick(['0', '1-3', 'all', 'node:0', 'x']),
  vnuma: (g) => list(g.some(['pnode=0', 'size=512', 'vcpus=0-1', 'vdistances=10,20', 'bogus=1', 'size=x'], 4)),
  cpuid: (g) => g.pick(['host,tm=0,sse3=0', 'host,x2apic=k', 'host,bogus=1', 'sse3=0', 'host,family=6',
    '0:eax=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', '1:ecx=0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx1', 'host,aes=s']),
  viridian: (g) => g.pick(['base', 'freq', 'time_ref_count', 'all', '!base', 'defaults', 'bogus', 'apic_assist']),
  bootloader_args: (g) => g.pick(['-q', '--entry=1']),
  rdm: (g) => g.pick(['strategy=host', 'strategy=host,policy=relaxed', 'policy=strict', 'strategy=x', 'Strategy=host', 'strategy=host,']),
};

const LIST_NESTED = new Set(['vnuma', 'vsnd']);

function listValue(g: Gen, key: string): string {
  const spec = SPEC_GENERATORS[key];
  if (spec === undefined) return g.chance(0.5) ? list(g.some(WORDS, 3)) : stringValue(g);
  if (g.chance(0.06)) return q(spec(g)); // a string where a list is wanted
  if (g.chance(0.04)) return '[]';
  if (key === 'vnuma' || key === 'vsnd') {
    const inner = (): string => (key === 'vnuma' ? spec(g) : list(g.some([spec(g), spec(g)], 3)));
    return `[ ${Array.from({ length: 1 + g.int(2) }, inner).join(', ')} ]`;
  }
  return list(Array.from({ length: 1 + g.int(3) }, () => spec(g)));
}

/**
 * Enum values newer than 4.17 (`tee="ffa"`), and Debian's own firmware directory (`firmware=
 * "pvgrub*"` names a path that differs from upstream's), are left out.
 */
const LEFT_OUT_VALUES: Readonly<Record<string, readonly string[]>> = { tee: ['ffa'], firmware: ['pvgrub32', 'pvgrub64'] };

function valueFor(g: Gen, key: string, kind: string, allowedAll?: readonly string[]): string {
  const allowed = allowedAll?.filter((v) => !(LEFT_OUT_VALUES[key] ?? []).includes(v));
  if (allowed !== undefined && allowed.length > 0 && g.chance(0.8)) return enumValue(g, allowed);
  if (LIST_NESTED.has(key) || kind === 'list') return listValue(g, key);
  const spec = SPEC_GENERATORS[key];
  if (spec !== undefined && g.chance(0.7)) return kind === 'string|list' && g.chance(0.4) ? list([spec(g), spec(g)]) : q(spec(g));
  switch (kind) {
    case 'number': return numberValue(g);
    case 'boolean': return g.chance(0.7) ? g.pick(['0', '1', '2', '010', '0x1']) : g.pick(['"yes"', '"1"', '""', '[1]', '12abc']);
    case 'number|string': return g.chance(0.5) ? numberValue(g) : stringValue(g);
    case 'string|list': return g.chance(0.3) ? list(g.some(WORDS, 2)) : stringValue(g);
    default: return stringValue(g);
  }
}

/**
 * Options newer than Xen 4.17 (dom0 reads them as current Xen does; 4.17 ignores them or, for
 * network-attach's `vlan=`, rejects them), so they are not compared against 4.17.
 */
export const NEWER_THAN_4_17 = new Set(['bootloader_restrict', 'bootloader_user', 'smbios', 'altp2m_count', 'llc_colors',
  'xen_platform_pci_bar_uc', 'hvm_pirq', 'trap_unmapped_accesses', 'nr_spis', 'xenstore_feature_mask', 'xenstore_quota',
  'virtio']);
// Also newer than 4.17, so not generated: the disk keys `grant_usage=`, `trusted`, `untrusted`, the vif key `vlan=`, the p9
// keys `type=`, `max-files=`, `max-open-files=`, `max-space=`, `auto-delete=`.

const KEYS = XL_CFG_OPTIONS.filter((o) => o.step !== true && !NEWER_THAN_4_17.has(o.key));

function baseLines(g: Gen): string[] {
  const lines = [`name = "fz${g.int(1000)}"`];
  const type = g.pick(['pv', 'pvh', 'hvm', 'hvm', 'none', 'builder']);
  if (type === 'builder') lines.push(`builder = "${g.pick(['hvm', 'generic', 'linux'])}"`);
  else if (type !== 'none') lines.push(`type = "${type}"`);
  if (type !== 'hvm' && g.chance(0.85)) lines.push(`kernel = "/boot/vmlinuz"`);
  if (g.chance(0.7)) lines.push(`memory = ${g.pick(['128', '512', '1024'])}`);
  return lines;
}

/** Grammar-level malformations (grammar.md §1): each is one line or fragment put in a config. */
const MALFORMED = [
  'Name = "x"', '_a = 1', 'a-b = 1', 'a = 0x1F', 'a = b', 'a = True', 'a =', 'a', '= 1', 'a = 1 b = 2', 'a = "x\\q"',
  'a = "x\\x41"', 'a = "x\\12y"', 'a = "x\\123y"', "a = 'it''s'", 'a = "unterminated', 'a = [ , ]', 'a = [ "x", , "y" ]',
  'a = [ "x" "y" ]', 'a = ["x",]', 'a = [ ["a", "b"], "c", [] ]', 'a = 1.5', 'a = -1', 'a = (1)', 'import os',
  'memory = 512 + 1', 'a = "x" \\', 'a = "x"\r', 'a = 1;;', 'a = 1;b = 2', 'a += 1', 'a = "s"\na += ["l"]', 'a = ["l"]\na += "s"',
  'memory = 256\nmemory += 256', 'a = "é"', 'a = \'single\'', 'a = "tab\\there"', 'a = [\n"x",\n# c\n"y"\n]', '$', 'a = @',
  'a = "x" # trailing', 'a.b_c.0 = 1', 'a = 1 ; # c', '\ta = 1', 'a = [', 'a = ]', 'a = [[[]]]', 'on_crash = "restart" ; on_crash = "destroy"',
];

function configText(g: Gen): string {
  const lines = baseLines(g);
  const n = g.int(7);
  for (let i = 0; i < n; i++) {
    const o = g.pick(KEYS);
    const op = g.chance(0.05) ? '+=' : '=';
    lines.push(`${o.key} ${op} ${valueFor(g, o.key, o.value, o.allowed)}`);
  }
  if (g.chance(0.15)) lines.splice(g.int(lines.length + 1), 0, g.pick(MALFORMED));
  if (g.chance(0.1)) lines.push(`${g.pick(['memroy', 'vpcus', 'disks', 'kernal', 'bogus_key'])} = 1`);
  let text = lines.join(g.chance(0.05) ? ';' : '\n');
  if (!g.chance(0.05)) text += '\n';
  if (g.chance(0.03)) text += '# no newline';
  return text;
}

function overrideArgs(g: Gen): string[] {
  if (!g.chance(0.2)) return [];
  return Array.from({ length: 1 + g.int(2) }, () => {
    const o = g.pick(KEYS);
    return g.chance(0.1) ? g.pick(MALFORMED).replace(/\n/g, ';') : `${o.key}=${valueFor(g, o.key, o.value, o.allowed)}`;
  });
}

function xlconfText(g: Gen): string | undefined {
  if (!g.chance(0.15)) return undefined;
  const items = [
    () => `vif.default.bridge = "${g.pick(['br0', 'xenbr1'])}"`,
    () => `vif.default.script = "${g.pick(['vif-route', '/s/vif'])}"`,
    () => `vif.default.backend = "${g.pick(['0', 'dom0'])}"`,
    () => `vif.default.gatewaydev = "eth0"`,
    () => `claim_mode = ${g.pick(['0', '1', '"x"'])}`,
    () => `run_hotplug_scripts = ${g.pick(['0', '1'])}`,
    () => `blkdev_start = "${g.pick(['xvdb', 'hdc', 'bogus'])}"`,
    () => `max_grant_frames = ${g.pick(['64', '0', 'x', '"32"'])}`,
    () => `max_maptrack_frames = ${g.pick(['1024', '-1'])}`,
    () => `max_grant_version = ${g.pick(['1', '2'])}`,
    () => `vm.cpumask = "${g.pick(['0-1', 'all', 'x', '^0'])}"`,
    () => `vm.pv.cpumask = "${g.pick(['1', 'all'])}"`,
    () => `vm.hvm.cpumask = "${g.pick(['2-3', 'nodes:0'])}"`,
    () => `autoballoon = "${g.pick(['on', 'off', 'auto'])}"`,
    () => `lockfile = "/tmp/xl-lock"`,
    () => `output_format = "${g.pick(['json', 'sxp', 'x'])}"`,
    () => g.pick(MALFORMED),
  ];
  return g.some(items, 4).map((f) => f()).join('\n') + '\n';
}

/** Tokens (and near-tokens) of the xl.cfg lexer, for token-soup configs that exercise the grammar's errors. */
const SOUP = ['a', 'memory', 'b.c_0', 'Abc', '_x', '1', '0x1f', '0x1F', '08', '12abc', '"s"', "'t'", '"\\q"', '"\\n"', '""',
  '=', '=', '+=', '[', ']', ',', ';', '\n', '\n', '\n', '# c\n', ' ', '\t', '(', ')', '-', '.', ':', '+', '$', '@', '\\',
  '\r', '"open', 'é', '{', '!'];

function soupText(g: Gen): string {
  const n = 3 + g.int(25);
  return Array.from({ length: n }, () => g.pick(SOUP)).join(g.chance(0.5) ? ' ' : '');
}

export function generate(seed: number, count: number): FuzzCase[] {
  const g = new Gen(rng(seed));
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${seed}-${i}`;
    const roll = g.r();
    if (roll < 0.16) {
      const n = 1 + g.int(2);
      cases.push({ id, argv: ['-N', 'block-attach', '0', ...Array.from({ length: n }, () => diskSpec(g))] });
    } else if (roll < 0.3) {
      cases.push({ id, argv: ['-N', 'network-attach', '0', ...g.some(VIF_ITEMS, 4).map((f) => f(g))], xlconf: xlconfText(g) });
    } else if (roll < 0.38) {
      cases.push({ id, argv: ['-N', 'create', 'FILE'], cfg: `name = "soup"\n${soupText(g)}\n` });
    } else {
      const extra = g.chance(0.02) ? ['stray'] : [];
      // xl create's other ways of naming the file and its dry run
      const head = g.pick([['-N', 'create', 'FILE'], ['-N', 'create', 'FILE'], ['-N', 'create', 'FILE'], ['create', '-n', 'FILE'],
        ['-N', 'create', '-q', 'FILE'], ['-N', 'create', '-f', 'FILE'], ['-N', 'create', '--defconfig=FILE'], ['-N', 'create', 'FILE', '-p']]);
      cases.push({ id, argv: [...head, ...overrideArgs(g), ...extra], cfg: configText(g), xlconf: xlconfText(g) });
    }
  }
  return cases;
}
