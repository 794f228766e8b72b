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
 *
 * All of it is one transaction, re-run on EAGAIN (`XenstoreClient.transaction`).
 */
import { ToolstackError } from '../common/index.js';
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
}

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
  return ops;
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

/** Writes the whole layout of a new domain (previous nodes of the same domid and uuid removed). */
export async function writeDomainLayout(xs: XenstoreClient, l: DomainLayout): Promise<void> {
  const ops = domainLayout(l);
  await xs.transaction(async (tx) => {
    for (const p of [domainPath(l.domid), `/vm/${l.uuid}`, `/libxl/${l.domid}`]) await rmIfPresent(tx, p);
    for (const op of ops) {
      if ('dir' in op) {
        await tx.mkdir(op.dir);
        await tx.setPerms(op.dir, op.perms);
      } else {
        await tx.write(op.path, op.value);
        if (op.perms !== undefined) await tx.setPerms(op.path, op.perms);
      }
    }
  });
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
