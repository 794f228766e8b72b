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
 *   `D/console/tty` (the pv console, hvc0) and `D/serial/<n>/tty` (COM ports). Their values are the
 *   Unix sockets of QEMU's console chardevs (not ptys): raw bytes both ways, one client at a time.
 *
 * All of it is one transaction, re-run on EAGAIN (`XenstoreClient.transaction`).
 */
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
  /** Console sockets: `pv` (hvc0) and the COM ports by index. */
  readonly consoles: { readonly pv?: string; readonly serial: Readonly<Record<number, string>> };
  readonly kernel?: string;
  readonly ramdisk?: string;
  readonly cmdline?: string;
  /** ms since the epoch. */
  readonly startTime: number;
}

const domainPath = (domid: number): string => `/local/domain/${domid}`;

/** Writes the whole layout of a new domain (previous nodes of the same domid and uuid removed). */
export async function writeDomainLayout(xs: XenstoreClient, l: DomainLayout): Promise<void> {
  const D = domainPath(l.domid);
  const VM = `/vm/${l.uuid}`;
  const L = `/libxl/${l.domid}`;
  const roperm = ['n0', `r${l.domid}`];
  const rwperm = [`n${l.domid}`];
  const noperm = ['n0'];
  await xs.transaction(async (tx) => {
    for (const p of [D, VM, L]) await rmIfPresent(tx, p);
    const dir = async (path: string, perms: readonly string[]): Promise<void> => {
      await tx.mkdir(path);
      await tx.setPerms(path, perms);
    };
    const node = async (path: string, value: string, perms?: readonly string[]): Promise<void> => {
      await tx.write(path, value);
      if (perms !== undefined) await tx.setPerms(path, perms);
    };
    await dir(D, roperm);
    await dir(VM, roperm);
    await dir(L, noperm);
    await dir(`${L}/device`, noperm);
    await node(`${D}/vm`, VM);
    await node(`${D}/name`, l.name);
    await node(`${VM}/uuid`, l.uuid);
    await node(`${VM}/name`, l.name);
    for (const d of ['cpu', 'memory', 'device', 'control']) await dir(`${D}/${d}`, roperm);
    if (l.type === 'hvm') await dir(`${D}/hvmloader`, roperm);
    await node(`${D}/device/suspend/event-channel`, '', rwperm);
    const control = ['shutdown', 'feature-poweroff', 'feature-reboot', 'feature-suspend',
      ...(l.type === 'hvm' ? ['feature-s3', 'feature-s4'] : []), 'sysrq'];
    for (const c of control) await node(`${D}/control/${c}`, '', rwperm);
    for (const d of ['data', 'drivers', 'feature', 'attr', 'error']) await dir(`${D}/${d}`, rwperm);
    await node(`${D}/control/platform-feature-multiprocessor-suspend`, '1');
    await node(`${D}/control/platform-feature-xs_reset_watches`, '1');
    await node(`${L}/type`, l.type);
    await node(`${L}/dm-version`, 'qemu_xen');
    await node(`${D}/memory/static-max`, String(l.maxMemKiB));
    await node(`${D}/memory/target`, String(l.targetMemKiB));
    await node(`${D}/memory/videoram`, String(l.videoMemKiB));
    await node(`${D}/domid`, String(l.domid));
    for (let i = 0; i < l.maxVcpus; i++) await node(`${D}/cpu/${i}/availability`, i < l.onlineVcpus ? 'online' : 'offline');
    await node(`${VM}/image/ostype`, l.type === 'hvm' ? 'hvm' : 'linux');
    if (l.kernel !== undefined) await node(`${VM}/image/kernel`, l.kernel);
    if (l.ramdisk !== undefined) await node(`${VM}/image/ramdisk`, l.ramdisk);
    if (l.cmdline !== undefined) await node(`${VM}/image/cmdline`, l.cmdline);
    await node(`${VM}/start_time`, startTime(l.startTime));
    await node(`${D}/image/device-model-pid`, String(l.qemuPid));
    if (l.consoles.pv !== undefined) {
      await dir(`${D}/console`, ['n0', `r${l.domid}`]);
      await node(`${D}/console/limit`, '1048576');
      await node(`${D}/console/type`, 'ioemu');
      await node(`${D}/console/output`, 'pty');
      await node(`${D}/console/tty`, l.consoles.pv);
    }
    for (const [n, path] of Object.entries(l.consoles.serial)) await node(`${D}/serial/${n}/tty`, path);
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

/** Xen's shutdown request to the guest's PV control node (`poweroff`, `reboot`). */
export async function writeControlShutdown(xs: XenstoreClient, domid: number, request: 'poweroff' | 'reboot'): Promise<void> {
  await xs.write(`${domainPath(domid)}/control/shutdown`, request);
}

/** Removes what `writeDomainLayout` wrote (libxl_domain_destroy's `xs_rm`s). */
export async function removeDomainLayout(xs: XenstoreClient, domid: number, uuid: string): Promise<void> {
  await xs.transaction(async (tx) => {
    for (const p of [`/vm/${uuid}`, domainPath(domid), `/libxl/${domid}`]) await rmIfPresent(tx, p);
  });
}

async function rmIfPresent(tx: XsOps, path: string): Promise<void> {
  if (await tx.exists(path)) await tx.rm(path);
}

/** `VM/start_time`: seconds.centiseconds, as libxl's `"%jd.%02d"`. */
function startTime(ms: number): string {
  return `${Math.floor(ms / 1000)}.${String(Math.floor((ms % 1000) / 10)).padStart(2, '0')}`;
}
