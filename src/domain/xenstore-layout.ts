/**
 * The per-domain xenstore layout libxl writes (shared/spec/xenstore.md §9), as dom0 reproduces it
 * for a domain backed by QEMU. With `D=/local/domain/<domid>`, `VM=/vm/<uuid>`, `L=/libxl/<domid>`:
 *
 * - §9.1 (`libxl__domain_make`): `D`, `VM`, `L` removed and recreated with libxl's permissions
 *   (`roperm = [n0, r<domid>]`, `rwperm = [n<domid>]`, `noperm = [n0]`), `D/vm`, `D/name`,
 *   `VM/uuid`, `VM/name`, the `control/*` nodes the guest may write, `data`, `drivers`, `feature`,
 *   `attr`, `error`, `L/type`, `L/dm-version`.
 * - §9.2 (`libxl__build_post`): `memory/{static-max,target,videoram}`, `domid`,
 *   `cpu/<i>/availability`, `VM/image/*`, `VM/start_time`.
 * - dom0's own: `D/image/device-model-pid` (the QEMU pid, as libxl records its device model),
 *   `D/console/tty` (the pv console, hvc0) and `D/serial/<n>/tty` (COM ports). Their values are
 *   Unix sockets dom0d serves (not ptys): raw bytes both ways, any number of clients, each first
 *   replayed the console's output so far (`socat - UNIX-CONNECT:$(xenstore-read .../tty)`).
 * - §9.3: the boot devices (`DeviceNodes`), state 1; the driver moves them on (see below).
 *
 * All of it is one transaction, re-run on EAGAIN (`XenstoreClient.transaction`).
 *
 * Devices (§9.3, `libxl__device_generic_add`), each in one transaction: the frontend directory
 * `D/device/<kind>/<devid>` (perms `[n<domid>, r0]`, also on each node: `backend` and the kind's
 * frontend nodes), the backend directory `/local/domain/0/backend/<backend kind>/<domid>/<devid>`
 * (perms `[n0, r<domid>]`: `frontend` and the backend nodes) and libxl's trusted copy
 * `L/device/<kind>/<devid>` (perms `[n0]`: `frontend`, `backend`, the backend nodes). There is no
 * PV frontend or backend driver to move `state` (XenbusState), so dom0 moves it as the machine
 * does: 1 (Initialising) when written; a disk's backend 2 (InitWait) once the medium is open,
 * its frontend 3 (Initialised) once the guest device exists (blkfront's order), then both 4
 * (Connected); on removal backend `online` 0 and state 5 (Closing), both 6 (Closed) once the
 * guest released it, then the three directories go.
 */
import { ToolstackError } from '../common/index.js';
import type { DiskDevice, NicDevice } from '../config/index.js';
import type { XsOps } from '../xenstore/index.js';
import type { XenstoreClient } from '../xenstore/index.js';

export interface DomainLayout {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
  readonly type: 'pv' | 'pvh' | 'hvm';
  readonly maxMemKiB: number;
  readonly targetMemKiB: number;
  readonly videoMemKiB: number;
  readonly maxVcpus: number;
  readonly onlineVcpus: number;
  readonly qemuPid: number;
  /** Console ttys (dom0d's sockets): `pv` (hvc0) and the COM ports by index. */
  readonly consoles: { readonly pv?: string; readonly serial: Readonly<Record<number, string>> };
  readonly kernel?: string;
  readonly ramdisk?: string;
  readonly cmdline?: string;
  /** ms since the epoch. */
  readonly startTime: number;
  /** The devices it boots with (`vbdNodes`, ...). */
  readonly devices: readonly DeviceNodes[];
}

/** XenbusState (`xen/include/public/io/xenbus.h`), the `state` of frontends and backends. */
export const XENBUS_STATE = { initialising: 1, initWait: 2, initialised: 3, connected: 4, closing: 5, closed: 6 } as const;
export type XenbusState = (typeof XENBUS_STATE)[keyof typeof XENBUS_STATE];

/**
 * One PV device of domain `domid` with its backend in Domain-0 (see the module comment): `kind`
 * names the frontend and libxl directories (`vbd`, `vif`), `backendKind` the backend's (`vbd`
 * for `phy:` disks, `qdisk` for QEMU's, `vif`). `front` and `back` are the kind's nodes, in the
 * order libxl writes them, `state` among them.
 */
export interface DeviceNodes {
  readonly domid: number;
  readonly kind: string;
  readonly backendKind: string;
  readonly devid: number;
  readonly front: Readonly<Record<string, string>>;
  readonly back: Readonly<Record<string, string>>;
}

/** Where a device's three directories are. */
export function devicePaths(d: Pick<DeviceNodes, 'domid' | 'kind' | 'backendKind' | 'devid'>): { readonly frontend: string; readonly backend: string; readonly libxl: string } {
  return {
    frontend: `${domainPath(d.domid)}/device/${d.kind}/${d.devid}`,
    backend: `${domainPath(0)}/backend/${d.backendKind}/${d.domid}/${d.devid}`,
    libxl: `/libxl/${d.domid}/device/${d.kind}/${d.devid}`,
  };
}

/**
 * A disk's nodes as `device_disk_add` writes them (`devid`: its vdev's number). A `phy:` disk,
 * one on a block device (an HVM CD-ROM excepted) or one with a block script (`script=`) has a
 * `vbd` backend, `params` its target as written, and `script` the script's absolute path (Xen's
 * `block` by default; a name without a path is in `scriptDir`); any other a `qdisk` one,
 * `params` being `<format>:<path>` (raw is `aio`). `discard-enable` defaults to `readwrite`.
 */
export function vbdNodes(domid: number, type: DomainLayout['type'], devid: number, disk: DiskDevice, scriptDir: string): DeviceNodes {
  const path = disk.pdev_path ?? '';
  const cdrom = (disk.is_cdrom ?? 0) !== 0;
  const script = disk.script === undefined || disk.script === '' ? 'block' : disk.script;
  // libxl forces qdisk for the CD-ROMs of HVM guests (their media change through QEMU).
  const phy = disk.script !== undefined || (!(cdrom && type === 'hvm') && (disk.backend === 'phy' || path.startsWith('/dev/')));
  const rw = (disk.readwrite ?? 0) !== 0;
  const state = String(XENBUS_STATE.initialising);
  return {
    domid,
    kind: 'vbd',
    backendKind: phy ? 'vbd' : 'qdisk',
    devid,
    back: {
      params: phy ? path : `${VBD_FORMAT[disk.format ?? 'raw'] ?? 'aio'}:${disk.format === 'empty' ? '' : path}`,
      ...(phy ? { script: script.startsWith('/') ? script : `${scriptDir}/${script}` } : {}),
      'frontend-id': String(domid),
      online: '1',
      removable: (disk.removable ?? 0) !== 0 ? '1' : '0',
      bootable: '1',
      state,
      dev: disk.vdev ?? '',
      type: phy ? 'phy' : 'qdisk',
      mode: rw ? 'w' : 'r',
      'device-type': cdrom ? 'cdrom' : 'disk',
      ...(disk.direct_io_safe === true ? { 'direct-io-safe': '1' } : {}),
      'discard-enable': (disk.discard_enable ?? rw) ? '1' : '0',
    },
    front: {
      'backend-id': '0',
      state,
      'virtual-device': String(devid),
      'device-type': cdrom ? 'cdrom' : 'disk',
      trusted: disk.trusted === false ? '0' : '1',
      ...(type === 'pv' ? { protocol: 'x86_64-abi' } : {}),
    },
  };
}

/**
 * A vif's nodes as `libxl__set_xenstore_nic` writes them. `script` is the absolute path libxl
 * records: `script=` (Xen's default `vif-bridge` when unset), a name without a path taken in
 * `scriptDir`. `mtu` goes with the frontend's other nodes (libxl makes it read-only for the guest).
 */
export function vifNodes(domid: number, devid: number, nic: NicDevice, scriptDir: string): DeviceNodes {
  const named = nic.script === undefined || nic.script === '' ? 'vif-bridge' : nic.script;
  const script = named.startsWith('/') ? named : `${scriptDir}/${named}`;
  const state = String(XENBUS_STATE.initialising);
  const mtu = nic.mtu === undefined || nic.mtu === 0 ? 1500 : nic.mtu;
  const rateUs = nic.rate_interval_usecs ?? 0;
  const opt = (key: string, value: string | undefined): Record<string, string> => (value === undefined ? {} : { [key]: value });
  return {
    domid,
    kind: 'vif',
    backendKind: 'vif',
    devid,
    back: {
      'frontend-id': String(domid),
      online: '1',
      state,
      script,
      ...opt('vifname', nic.ifname),
      mac: nic.mac ?? '',
      ...opt('ip', nic.ip),
      ...opt('gatewaydev', nic.gatewaydev),
      ...(rateUs > 0 ? { rate: `${String(nic.rate_bytes_per_interval ?? 0)},${rateUs}` } : {}),
      ...(mtu !== 1500 ? { mtu: String(mtu) } : {}),
      ...opt('vlan', nic.vlan),
      bridge: nic.bridge ?? 'xenbr0',
      handle: String(devid),
      type: nic.nictype === 'vif_ioemu' ? 'vif_ioemu' : 'vif',
      'hotplug-status': '',
    },
    front: {
      'backend-id': '0',
      state,
      handle: String(devid),
      mac: nic.mac ?? '',
      mtu: String(mtu),
      trusted: nic.trusted === false ? '0' : '1',
    },
  };
}

/** `libxl__device_disk_string_of_format`: the format part of a qdisk's `params`. */
const VBD_FORMAT: Readonly<Record<string, string>> = { qcow: 'qcow', qcow2: 'qcow2', vhd: 'vhd', raw: 'aio', empty: 'aio', qed: 'qed', unknown: 'aio' };

const domainPath = (domid: number): string => `/local/domain/${domid}`;

/** One step of a layout: a directory node with its permissions, or a node with a value. */
type LayoutOp =
  | { readonly dir: string; readonly perms: readonly string[] }
  | { readonly path: string; readonly value: string; readonly perms?: readonly string[] };

/** The nodes of a new domain's layout, in the order they are written. */
function domainLayout(l: DomainLayout): LayoutOp[] {
  const D = domainPath(l.domid);
  const VM = `/vm/${l.uuid}`;
  const L = `/libxl/${l.domid}`;
  const roperm = ['n0', `r${l.domid}`];
  const rwperm = [`n${l.domid}`];
  const noperm = ['n0'];
  const ops: LayoutOp[] = [];
  const dir = (path: string, perms: readonly string[]): void => void ops.push({ dir: path, perms });
  const node = (path: string, value: string, perms?: readonly string[]): void => void ops.push({ path, value, ...(perms === undefined ? {} : { perms }) });
  dir(D, roperm);
  dir(VM, roperm);
  dir(L, noperm);
  dir(`${L}/device`, noperm);
  node(`${D}/vm`, VM);
  node(`${D}/name`, l.name);
  node(`${VM}/uuid`, l.uuid);
  node(`${VM}/name`, l.name);
  for (const d of ['cpu', 'memory', 'device', 'control']) dir(`${D}/${d}`, roperm);
  if (l.type === 'hvm') dir(`${D}/hvmloader`, roperm);
  node(`${D}/device/suspend/event-channel`, '', rwperm);
  const control = ['shutdown', 'feature-poweroff', 'feature-reboot', 'feature-suspend',
    ...(l.type === 'hvm' ? ['feature-s3', 'feature-s4'] : []), 'sysrq'];
  for (const c of control) node(`${D}/control/${c}`, '', rwperm);
  for (const d of ['data', 'drivers', 'feature', 'attr', 'error']) dir(`${D}/${d}`, rwperm);
  node(`${D}/control/platform-feature-multiprocessor-suspend`, '1');
  node(`${D}/control/platform-feature-xs_reset_watches`, '1');
  node(`${L}/type`, l.type);
  node(`${L}/dm-version`, 'qemu_xen');
  node(`${D}/memory/static-max`, String(l.maxMemKiB));
  node(`${D}/memory/target`, String(l.targetMemKiB));
  node(`${D}/memory/videoram`, String(l.videoMemKiB));
  node(`${D}/domid`, String(l.domid));
  for (let i = 0; i < l.maxVcpus; i++) node(`${D}/cpu/${i}/availability`, i < l.onlineVcpus ? 'online' : 'offline');
  node(`${VM}/image/ostype`, l.type === 'hvm' ? 'hvm' : 'linux');
  if (l.kernel !== undefined) node(`${VM}/image/kernel`, l.kernel);
  if (l.ramdisk !== undefined) node(`${VM}/image/ramdisk`, l.ramdisk);
  if (l.cmdline !== undefined) node(`${VM}/image/cmdline`, l.cmdline);
  node(`${VM}/start_time`, startTime(l.startTime));
  node(`${D}/image/device-model-pid`, String(l.qemuPid));
  if (l.consoles.pv !== undefined) {
    dir(`${D}/console`, ['n0', `r${l.domid}`]);
    node(`${D}/console/limit`, '1048576');
    node(`${D}/console/type`, 'ioemu');
    node(`${D}/console/output`, 'pty');
    node(`${D}/console/tty`, l.consoles.pv);
  }
  for (const [n, path] of Object.entries(l.consoles.serial)) node(`${D}/serial/${n}/tty`, path);
  for (const d of l.devices) ops.push(...deviceLayout(d));
  return ops;
}

/** A device's nodes in the order libxl writes them (the directories' removal aside). */
function deviceLayout(d: DeviceNodes): LayoutOp[] {
  const p = devicePaths(d);
  const frontPerms = [`n${d.domid}`, 'r0'];
  const ops: LayoutOp[] = [{ dir: p.frontend, perms: frontPerms }, { path: `${p.frontend}/backend`, value: p.backend }];
  for (const [k, v] of Object.entries(d.front)) ops.push({ path: `${p.frontend}/${k}`, value: v, perms: frontPerms });
  ops.push({ dir: p.backend, perms: ['n0', `r${d.domid}`] }, { path: `${p.backend}/frontend`, value: p.frontend });
  for (const [k, v] of Object.entries(d.back)) ops.push({ path: `${p.backend}/${k}`, value: v });
  ops.push({ dir: p.libxl, perms: ['n0'] }, { path: `${p.libxl}/frontend`, value: p.frontend }, { path: `${p.libxl}/backend`, value: p.backend });
  for (const [k, v] of Object.entries(d.back)) ops.push({ path: `${p.libxl}/${k}`, value: v });
  return ops;
}

async function applyOps(tx: XsOps, ops: readonly LayoutOp[]): Promise<void> {
  for (const op of ops) {
    if ('dir' in op) {
      await tx.mkdir(op.dir);
      await tx.setPerms(op.dir, op.perms);
    } else {
      await tx.write(op.path, op.value);
      if (op.perms !== undefined) await tx.setPerms(op.path, op.perms);
    }
  }
}

/** xenstore's largest message payload (`XENSTORE_PAYLOAD_MAX`): a WRITE carries path, NUL, value. */
const XENSTORE_PAYLOAD_MAX = 4096;

/**
 * Checks that every node of the layout fits in one xenstore message, before anything is started:
 * a value too long (a 5,000-byte `cmdline`) fails the create with one line naming it.
 */
export function checkDomainLayout(l: DomainLayout): void {
  for (const op of domainLayout(l)) {
    if (!('value' in op)) continue;
    const bytes = Buffer.byteLength(op.path) + 1 + Buffer.byteLength(op.value);
    if (bytes <= XENSTORE_PAYLOAD_MAX) continue;
    const key = op.path.slice(op.path.lastIndexOf('/') + 1);
    throw new ToolstackError('CFG_VALUE', `Creating domain '${l.name}' failed: its ${key} (${Buffer.byteLength(op.value)} bytes) does not fit in xenstore's ${op.path}`, {
      hint: `a xenstore node holds at most ${XENSTORE_PAYLOAD_MAX - Buffer.byteLength(op.path) - 1} bytes there; shorten ${key}=`,
    });
  }
}

/**
 * Writes the whole layout of a new domain (previous nodes of the same domid and uuid removed).
 * A `/vm/<uuid>` another domain names (the sender of a migration within this host, whose uuid the
 * arriving domain shares) stays that domain's: the new one only gains read access to it, and
 * writes its name there when it takes the sender's (renameDomainLayout).
 */
export async function writeDomainLayout(xs: XenstoreClient, l: DomainLayout): Promise<void> {
  const VM = `/vm/${l.uuid}`;
  const inVm = (p: string): boolean => p === VM || p.startsWith(`${VM}/`);
  await xs.transaction(async (tx) => {
    const shared = await vmNamedByAnother(tx, l.domid, VM);
    for (const p of [domainPath(l.domid), ...(shared ? [] : [VM]), `/libxl/${l.domid}`]) await rmIfPresent(tx, p);
    await removeBackends(tx, l.domid);
    await applyOps(tx, shared ? domainLayout(l).filter((op) => !inVm('dir' in op ? op.dir : op.path)) : domainLayout(l));
    if (shared) {
      const perms = await tx.getPerms(VM);
      if (!perms.includes(`r${l.domid}`)) await tx.setPerms(VM, [...perms, `r${l.domid}`]);
    }
  });
}

/** Writes a device's nodes (state 1), replacing any left at its paths. */
export async function writeDeviceNodes(xs: XenstoreClient, d: DeviceNodes): Promise<void> {
  const p = devicePaths(d);
  await xs.transaction(async (tx) => {
    for (const path of [p.frontend, p.backend, p.libxl]) await rmIfPresent(tx, path);
    await applyOps(tx, deviceLayout(d));
  });
}

/**
 * Writes `front` nodes into the device's frontend directory and `back` ones into its backend
 * directory (and libxl's copy too when `copy`, as for a CD-ROM's new `params`), in one
 * transaction; a device whose nodes are gone is left alone.
 */
export async function writeDeviceValues(
  xs: XenstoreClient,
  d: Pick<DeviceNodes, 'domid' | 'kind' | 'backendKind' | 'devid'>,
  values: { readonly front?: Readonly<Record<string, string>>; readonly back?: Readonly<Record<string, string>>; readonly copy?: boolean },
): Promise<void> {
  const p = devicePaths(d);
  await xs.transaction(async (tx) => {
    if (!(await tx.exists(p.backend))) return;
    for (const [k, v] of Object.entries(values.front ?? {})) if (await tx.exists(p.frontend)) await tx.write(`${p.frontend}/${k}`, v);
    for (const [k, v] of Object.entries(values.back ?? {})) {
      await tx.write(`${p.backend}/${k}`, v);
      if (values.copy === true) await tx.write(`${p.libxl}/${k}`, v);
    }
  });
}

/** Removes a device's three directories and the parents that leaves empty (`libxl__device_destroy`). */
export async function removeDeviceNodes(xs: XenstoreClient, d: Pick<DeviceNodes, 'domid' | 'kind' | 'backendKind' | 'devid'>): Promise<void> {
  const p = devicePaths(d);
  await xs.transaction(async (tx) => {
    for (const path of [p.frontend, p.backend, p.libxl]) await pathCleanup(tx, path);
  });
}

/** `libxl__xs_path_cleanup`: removes `path`, then each parent left with no children and no value. */
async function pathCleanup(tx: XsOps, path: string): Promise<void> {
  await rmIfPresent(tx, path);
  for (let dir = path.slice(0, path.lastIndexOf('/')); dir.lastIndexOf('/') > 0; dir = dir.slice(0, dir.lastIndexOf('/'))) {
    if (!(await tx.exists(dir)) || (await tx.directory(dir)).length > 0 || (await tx.tryRead(dir)) !== '') return;
    await tx.rm(dir);
  }
}

/** What `libxl_device_<kind>_getinfo` reads of a device; undefined when libxl's copy names no backend. */
export interface DeviceXenstoreInfo {
  readonly backendPath: string;
  readonly frontendPath: string;
  readonly backendId: number;
  /** The frontend's XenbusState; -1 when absent. */
  readonly state: number;
  /** The frontend's `event-channel` and `ring-ref`; -1 when absent (no PV frontend writes them here). */
  readonly evtch: number;
  readonly rref: number;
}

export async function readDeviceInfo(xs: XenstoreClient, domid: number, kind: string, devid: number): Promise<DeviceXenstoreInfo | undefined> {
  const libxl = `/libxl/${domid}/device/${kind}/${devid}`;
  const fe = `${domainPath(domid)}/device/${kind}/${devid}`;
  const [backend, state, evtch, rref] = await Promise.all([
    xs.tryRead(`${libxl}/backend`), xs.tryRead(`${fe}/state`), xs.tryRead(`${fe}/event-channel`), xs.tryRead(`${fe}/ring-ref`),
  ]);
  const m = backend === undefined ? null : /^\/local\/domain\/(\d+)\/backend\//.exec(backend);
  if (backend === undefined || m === null) return undefined;
  const num = (v: string | undefined): number => (v === undefined ? -1 : Number.parseInt(v, 10) || 0);
  return { backendPath: backend, frontendPath: fe, backendId: Number(m[1]), state: num(state), evtch: num(evtch), rref: num(rref) };
}

/**
 * Domain-0's own nodes, as `xen-init-dom0` writes them at boot: `/local/domain/0/{name,domid}`
 * and the first CPU pool's `/local/pool/0/{name,uuid}`. Idempotent (dom0d writes them at start).
 */
export async function writeDom0Layout(xs: XenstoreClient): Promise<void> {
  await xs.transaction(async (tx) => {
    await tx.write(`${domainPath(0)}/name`, 'Domain-0');
    await tx.write(`${domainPath(0)}/domid`, '0');
    await tx.write('/local/pool/0/name', 'Pool-0');
    await tx.write('/local/pool/0/uuid', '00000000-0000-0000-0000-000000000000');
  });
}

/** `xl rename` (and rename-restart's fresh uuid): `D/name`, `D/vm` and `VM/*` follow the record. */
export async function renameDomainLayout(
  xs: XenstoreClient,
  domid: number,
  to: { readonly name: string; readonly uuid: string },
  fromUuid: string,
): Promise<void> {
  const D = domainPath(domid);
  await xs.transaction(async (tx) => {
    if (!(await tx.exists(D))) return;
    const VM = `/vm/${to.uuid}`;
    if (fromUuid !== to.uuid) {
      const old = `/vm/${fromUuid}`;
      const start = await tx.tryRead(`${old}/start_time`);
      await rmIfPresent(tx, old);
      await tx.mkdir(VM);
      await tx.setPerms(VM, ['n0', `r${domid}`]);
      await tx.write(`${VM}/uuid`, to.uuid);
      if (start !== undefined) await tx.write(`${VM}/start_time`, start);
      await tx.write(`${D}/vm`, VM);
    }
    await tx.write(`${D}/name`, to.name);
    await tx.write(`${VM}/name`, to.name);
  });
}

/**
 * A request to the guest's PV control node (`control/shutdown` = `poweroff`/`reboot`,
 * `control/sysrq` = a key); resolves with the path written.
 */
export async function writeControl(xs: XenstoreClient, domid: number, node: 'shutdown' | 'sysrq', value: string): Promise<string> {
  const path = `${domainPath(domid)}/control/${node}`;
  await xs.write(path, value);
  return path;
}

/**
 * `xl mem-set` / `mem-max` as libxl_set_memory_target / libxl_domain_setmaxmem write them:
 * `memory/target` and `memory/static-max` in KiB, `/vm/UUID/memory` in MiB, in one transaction.
 */
export async function writeMemory(xs: XenstoreClient, domid: number, uuid: string, m: { readonly targetKiB: number; readonly maxKiB: number }): Promise<void> {
  const D = domainPath(domid);
  await xs.transaction(async (tx) => {
    await tx.write(`${D}/memory/target`, String(m.targetKiB));
    await tx.write(`${D}/memory/static-max`, String(m.maxKiB));
    await tx.write(`/vm/${uuid}/memory`, String(Math.floor(m.targetKiB / 1024)));
  });
}

/** `xl vcpu-set`: `cpu/<i>/availability` of every vCPU slot, `online` for the first `online` (libxl_set_vcpuonline). */
export async function writeVcpuAvailability(xs: XenstoreClient, domid: number, max: number, online: number): Promise<void> {
  const D = domainPath(domid);
  await xs.transaction(async (tx) => {
    for (let i = 0; i < max; i++) await tx.write(`${D}/cpu/${i}/availability`, i < online ? 'online' : 'offline');
  });
}

/**
 * Removes what `writeDomainLayout` wrote (libxl_domain_destroy's `xs_rm`s); `/vm/<uuid>` stays
 * while another domain's `vm` names it (the other end of a migration within this host), readable
 * no longer by `domid` (a later domain may get that domid).
 */
export async function removeDomainLayout(xs: XenstoreClient, domid: number, uuid: string | undefined): Promise<void> {
  await xs.transaction(async (tx) => {
    // No uuid (a stray domain without its `vm` node): no `/vm` part to remove.
    const vm = uuid === undefined ? undefined : `/vm/${uuid}`;
    const shared = vm !== undefined && await vmNamedByAnother(tx, domid, vm);
    if (shared) {
      const perms = await tx.getPerms(vm);
      if (perms.includes(`r${domid}`)) await tx.setPerms(vm, perms.filter((p) => p !== `r${domid}`));
    }
    for (const p of [...(shared || vm === undefined ? [] : [vm]), domainPath(domid), `/libxl/${domid}`]) await rmIfPresent(tx, p);
    await removeBackends(tx, domid);
  });
}

/**
 * Removes the layout of every guest domain xenstore holds and `known` does not (its clean-up
 * failed, or a dom0d died before it): `/local/domain/<id>`, `/libxl/<id>`, its backends, and its
 * `/vm/<uuid>` unless another domain names it. Returns the domids it removed.
 */
export async function removeStrayLayouts(xs: XenstoreClient, known: ReadonlySet<number>): Promise<number[]> {
  const root = '/local/domain';
  const ids = (await xs.exists(root)) ? await xs.directory(root) : [];
  const stray = ids.filter((id) => /^[1-9]\d*$/.test(id) && !known.has(Number(id))).map(Number);
  let failed: Error | undefined;
  const removed: number[] = [];
  for (const domid of stray) {
    try {
      const vm = await xs.tryRead(`${root}/${domid}/vm`);
      await removeDomainLayout(xs, domid, /^\/vm\/[^/]+$/.test(vm ?? '') ? (vm as string).slice(4) : undefined);
      removed.push(domid);
    } catch (e: unknown) {
      failed ??= e instanceof Error ? e : new Error(`domain ${domid}: ${JSON.stringify(e)}`); // the others are still removed
    }
  }
  if (failed !== undefined) throw failed;
  return removed;
}

/** Whether a domain other than `domid` has `vm` as its `/local/domain/<id>/vm`. */
async function vmNamedByAnother(tx: XsOps, domid: number, vm: string): Promise<boolean> {
  const root = '/local/domain';
  const ids = (await tx.exists(root)) ? await tx.directory(root) : [];
  for (const id of ids) if (id !== String(domid) && (await tx.tryRead(`${root}/${id}/vm`)) === vm) return true;
  return false;
}

/** Removes the backend directories Domain-0 holds for `domid`'s devices, of every kind. */
async function removeBackends(tx: XsOps, domid: number): Promise<void> {
  const root = `${domainPath(0)}/backend`;
  if (!(await tx.exists(root))) return;
  for (const kind of await tx.directory(root)) await pathCleanup(tx, `${root}/${kind}/${domid}`);
}

async function rmIfPresent(tx: XsOps, path: string): Promise<void> {
  if (await tx.exists(path)) await tx.rm(path);
}

/** `VM/start_time`: seconds.centiseconds, as libxl's `"%jd.%02d"`. */
function startTime(ms: number): string {
  return `${Math.floor(ms / 1000)}.${String(Math.floor((ms % 1000) / 10)).padStart(2, '0')}`;
}
