/**
 * Hot-plug on a domain's QEMU: devices added to and removed from the running machine over QMP,
 * their xenstore nodes (xenstore-layout.ts) moved through XenbusState as it goes. QEMU names come
 * from the argv builder's wiring (`hotplugDiskWiring`: device id = vdev, medium node
 * `drive-<vdev>`), as at boot.
 *
 * Protocols (each runs inside the domain's job; QMP events only wake a waiting job or, with
 * none waiting, are reported through the device sink):
 * - disk attach: nodes written (state 1) → [its block script `add`: the device it made is the
 *   disk] → `blockdev-add` (backend 2) → `device_add` (frontend 3, then both 4).
 *   A failing step undoes the ones before it: nothing is left in QEMU or xenstore.
 * - detach: backend `online` 0, state 5 → `device_del` → the guest releases the device (ACPI
 *   eject; QMP `DEVICE_DELETED` with its id, or the device gone from QOM) → `blockdev-del` of
 *   its medium → both 6 → [block script `remove`] → nodes removed. The wait has a deadline
 *   (`timeoutMs`; `FORCE_GRACE_MS` with force). A release after the deadline is reported through
 *   the sink (when QEMU announces it), and `release` finishes it then. A detach a dom0d restart
 *   cut short is asked again (manager.ts finishes it: a device QEMU no longer has is released at
 *   once); a release QEMU announced while no dom0d listened after a detach that had timed out
 *   is not seen: such a device stays in the record until the domain reboots.
 * - a device the guest ejects itself (no detach asked): QEMU's `DEVICE_DELETED` with the id of
 *   a device of the config, and the device gone from QOM, goes to the sink (`watch`) as `ejected`:
 *   released as a late release is, if the record still has that very device.
 * - vif attach: the host side first (tap on its bridge, rate, anti-spoofing: the network area;
 *   a missing bridge fails here, before anything else is made) → nodes written (state 1) → the
 *   vif script `online` → backend `hotplug-status` connected, state 2 → `netdev_add` of the tap →
 *   `device_add` (both 4). A failing step undoes the ones before it.
 * - vif release (after `device_del` was confirmed): `netdev_del`, the script `offline` and the
 *   tap removed (while the nodes still exist, as the script reads them), then the nodes.
 * - PCI function (vfio-pci), USB controller, host USB device (passthrough.ts in the argv
 *   builder names them): no xenstore nodes; attach is one `device_add` (a USB device on a
 *   controller the domain lacks adds libxl's default controller first, and removes it again if
 *   the device fails); detach is `device_del` and the same release wait as a disk's (a
 *   controller's release takes the devices on it along).
 * - CD-ROM media: tray opened (forced, as Xen's eject) → old medium out and its node deleted →
 *   new node added and inserted → tray closed → backend `params` (and libxl's copy) updated. A
 *   new medium that fails to go in puts the old one back.
 */
import { isToolstackError, monotonicMs, ToolstackError } from '../common/index.js';
import { usbctrlWithDefaults } from '../config/index.js';
import type { DiskDevice, DomainConfig, NicDevice, UsbController, UsbctrlDevice, UsbdevDevice } from '../config/index.js';
import type { HostNetwork } from '../network/index.js';
import {
  diskHasMedium, diskMediumNode, diskNodeName, hotplugDiskWiring, nicWiring, pciQdevId, pciWiring, QmpClosedError, QmpCommandError, QmpTimeoutError, usbctrlQdevId, usbctrlWiring, usbdevQdevId, usbdevWiring,
  vkbHasDevice, vkbQdevId, vkbWiring,
} from '../qemu/index.js';
import type { ArgvCapabilities, QdevWiring, QmpClient } from '../qemu/index.js';
import type { XenstoreClient } from '../xenstore/index.js';
import { addBlockScript, blockScriptOf, removeBlockScript } from './block-scripts.js';
import { DEVICE_KINDS, deviceDevid, deviceLabel, deviceNodes, devicesOf } from './devices.js';
import type { DomainDevice } from './devices.js';
import type { CheckedChain, DeviceEventSink, MediaChains } from './driver.js';
import { refuseSwappedImage } from './disk-checks.js';
import { openFds } from '../storage/index.js';
import type { DomainRecord } from './record.js';
import { readDeviceInfo, removeDeviceNodes, writeDeviceNodes, writeDeviceValues, XENBUS_STATE } from './xenstore-layout.js';
import type { DeviceNodes, DeviceXenstoreInfo } from './xenstore-layout.js';

/** How long `detach -f` lets the guest release the device before its nodes go regardless. */
const FORCE_GRACE_MS = 2000;

/**
 * A `device_del` QEMU has not confirmed yet; `waiter` is the detach job waiting for it, if any;
 * `gone` finishes it (the device left the machine).
 */
interface Unplug {
  readonly device: DomainDevice;
  waiter: (() => void) | undefined;
  off: () => void;
  gone: () => void;
}

/** How often a waiting detach asks QEMU whether the device is still there. */
const UNPLUG_POLL_MS = 250;

export interface HotplugOptions {
  readonly xs: XenstoreClient;
  readonly log: (line: string) => void;
  /** How long a detach waits for the guest to release the device. */
  readonly timeoutMs: number;
  /** The host side of vifs. */
  readonly net: HostNetwork;
  /** Where hotplug scripts named without a path are (`CONFIG_DIR/scripts`). */
  readonly scriptDir: string;
  /** dom0's xenstored socket, for the block scripts' `xenstore-*` clients. */
  readonly xenstoredSocket: string;
  /** This QEMU's capabilities (a NIC model's device). */
  readonly capabilities: () => Promise<ArgvCapabilities>;
}

const state = (s: number): string => String(s);

export class QemuHotplug {
  readonly #o: HotplugOptions;
  readonly #unplugs = new Map<string, Unplug>();
  #sink: DeviceEventSink | undefined;
  #configsOf: ((domid: number) => readonly DomainConfig[]) | undefined;

  constructor(options: HotplugOptions) {
    this.#o = options;
  }

  setSink(sink: DeviceEventSink, configsOf: (domid: number) => readonly DomainConfig[]): void {
    this.#sink = sink;
    this.#configsOf = configsOf;
  }

  /**
   * Hears the machine of `domid` remove a device no detach asked for: the guest ejected it itself
   * (ACPI PCI hot-plug: `echo 0 > /sys/bus/pci/slots/N/power`), and QEMU let it go. The device of
   * the domain's config with that id goes to the sink, as a late release does (before, the record,
   * xenstore, `xl block-list` and the host side kept a device the machine no longer had, and a
   * save rebuilt it at the restore). Called when the machine is attached, before any detach's own
   * listener, which then takes the devices it asked for.
   */
  watch(domid: number, qmp: QmpClient): void {
    qmp.onEvent('DEVICE_DELETED', (e) => {
      const id = e.data['device'];
      if (typeof id !== 'string' || this.#unplugs.has(`${domid}/${id}`)) return;
      const device = (this.#configsOf?.(domid) ?? []).flatMap(machineDevices).find((d) => d.id === id)?.device;
      // Only if the machine has no device of that id by now (not one attached again meanwhile).
      if (device !== undefined) void gone(qmp, id).then((g) => { if (g) this.#sink?.(domid, device, 'ejected'); }, () => undefined);
    });
  }

  /**
   * What `watch` hears, for a machine taken over from an earlier dom0d: the devices of `configs`
   * (`machineConfigs`) the machine no longer has (the guest ejected or released them while no
   * dom0d listened) go to the sink. One QMP command per device; a failure leaves the rest
   * unchecked (the machine went away).
   */
  async reconcile(domid: number, qmp: QmpClient, configs: readonly DomainConfig[]): Promise<void> {
    for (const { device, id } of configs.flatMap(machineDevices)) {
      if (await gone(qmp, id)) this.#sink?.(domid, device, 'ejected');
    }
  }

  /** The boot devices' nodes, written with the domain's layout, are connected once QEMU runs. */
  async connected(nodes: readonly DeviceNodes[]): Promise<void> {
    const connected = state(XENBUS_STATE.connected);
    for (const n of nodes) {
      // A vif's host side is up (and its script ran `online`): what Xen's scripts report.
      const back = n.kind === 'vif' ? { 'hotplug-status': 'connected', state: connected } : { state: connected };
      await writeDeviceValues(this.#o.xs, n, { front: { state: connected }, back });
    }
  }

  async attach(rec: DomainRecord, qmp: QmpClient, device: DomainDevice, chain?: CheckedChain): Promise<void> {
    switch (device.kind) {
      case 'vbd': return this.#attachDisk(rec, qmp, device, device.disk, chain);
      case 'vif': return this.#attachNic(rec, qmp, device, device.nic);
      case 'pci': return this.#attachQdev(rec, qmp, device, pciWiring(device.pci, [...(rec.config.pcidevs ?? []), device.pci]));
      case 'vusb': return this.#attachQdev(rec, qmp, device, usbctrlWiring(controllerOf(device.usbctrl)));
      case 'usbdev': return this.#attachUsbdev(rec, qmp, device, device.usbdev);
      case 'vkbd': return this.#attachQdev(rec, qmp, device, vkbWiring(device.vkb));
    }
  }

  /** A device QEMU emulates with no xenstore nodes: one `device_add`, which fails whole. */
  async #attachQdev(rec: DomainRecord, qmp: QmpClient, device: DomainDevice, wiring: QdevWiring): Promise<void> {
    try {
      await qmp.deviceAdd(wiring);
    } catch (e: unknown) {
      throw failed(rec, device, 'add', 'to', e);
    }
  }

  /** A host USB device on its port; a controller the domain lacks (libxl's default one) comes first, and goes again if the device fails. */
  async #attachUsbdev(rec: DomainRecord, qmp: QmpClient, device: DomainDevice, usbdev: UsbdevDevice): Promise<void> {
    const ctrl = usbdev.ctrl ?? -1;
    const added = (rec.config.usbctrls ?? []).some((c) => c.devid === ctrl) ? undefined : usbctrlWithDefaults({ devid: ctrl }, ctrl);
    if (added !== undefined) await this.#attachQdev(rec, qmp, { kind: 'vusb', usbctrl: added }, usbctrlWiring(added));
    try {
      await this.#attachQdev(rec, qmp, device, usbdevWiring({ ...usbdev, ctrl, port: usbdev.port ?? 0 }));
    } catch (e: unknown) {
      if (added !== undefined) {
        await this.#unplug(rec, qmp, { kind: 'vusb', usbctrl: added }, this.#o.timeoutMs)
          .catch((u: unknown) => this.#o.log(`domain ${rec.domid}: undoing the attach of ${deviceLabel(device)}: ${text(u)}`));
      }
      throw e;
    }
  }

  async #attachNic(rec: DomainRecord, qmp: QmpClient, device: DomainDevice, nic: NicDevice): Promise<void> {
    const nodes = this.#nodes(rec, device);
    const caps = await this.#o.capabilities();
    const d = { domid: rec.domid, name: rec.name };
    const tap = await this.#o.net.plugVif(d, nic);
    let netdevAdded = false;
    let deviceAdded = false;
    try {
      const wiring = nicWiring(caps, rec.config, nic, (rec.config.nics ?? []).length, { tap });
      await writeDeviceNodes(this.#o.xs, nodes);
      await this.#o.net.onlineVif(d, nic);
      await writeDeviceValues(this.#o.xs, nodes, { back: { 'hotplug-status': 'connected', state: state(XENBUS_STATE.initWait) } });
      await machineStep(() => qmp.netdevAdd(wiring.netdev), () => { netdevAdded = true; });
      await machineStep(() => qmp.deviceAdd(wiring.device), () => { deviceAdded = true; });
      const connected = state(XENBUS_STATE.connected);
      await writeDeviceValues(this.#o.xs, nodes, { front: { state: connected }, back: { state: connected } });
    } catch (e: unknown) {
      const undo = async (): Promise<void> => {
        const held = await this.#undoInMachine(rec, async () => {
          if (deviceAdded && !(await this.#unplug(rec, qmp, device, this.#o.timeoutMs))) return false;
          if (netdevAdded) await deleteNetdev(qmp, qdevNetdev(nic));
          return true;
        });
        if (!held) return;
        await this.#o.net.unplugVif(d, nic);
        await removeDeviceNodes(this.#o.xs, nodes);
      };
      await undo().catch((u: unknown) => this.#o.log(`domain ${rec.domid}: undoing the attach of ${deviceLabel(device)}: ${text(u)}`));
      throw failed(rec, device, 'add', 'to', e);
    }
  }

  async #attachDisk(rec: DomainRecord, qmp: QmpClient, device: DomainDevice, disk: DiskDevice, chain: CheckedChain | undefined): Promise<void> {
    let wiring = hotplugDiskWiring(rec.config, disk, chain);
    const scripted = blockScriptOf(this.#o, rec, disk) !== undefined;
    const nodes = this.#nodes(rec, device);
    await writeDeviceNodes(this.#o.xs, nodes);
    let nodeAdded = false;
    let deviceAdded = false;
    try {
      if (scripted) wiring = hotplugDiskWiring(rec.config, await addBlockScript(this.#o, rec, disk, nodes));
      const node = wiring.node;
      const before = openBefore(rec);
      if (node !== undefined) await machineStep(() => qmp.blockdevAdd(node), () => { nodeAdded = true; });
      refuseSwapped(rec, chain, before);
      await writeDeviceValues(this.#o.xs, nodes, { back: { state: state(XENBUS_STATE.initWait) } });
      await machineStep(() => qmp.deviceAdd(wiring.device), () => { deviceAdded = true; });
      await writeDeviceValues(this.#o.xs, nodes, { front: { state: state(XENBUS_STATE.initialised) } });
      const connected = state(XENBUS_STATE.connected);
      await writeDeviceValues(this.#o.xs, nodes, { front: { state: connected }, back: { state: connected } });
    } catch (e: unknown) {
      const undo = async (): Promise<void> => {
        const held = await this.#undoInMachine(rec, async () => {
          if (deviceAdded && !(await this.#unplug(rec, qmp, device, this.#o.timeoutMs))) return false;
          if (nodeAdded) await deleteNode(qmp, diskNodeName(wiring.vdev));
          return true;
        });
        if (!held) return;
        await removeBlockScript(this.#o, rec, disk, nodes);
        await removeDeviceNodes(this.#o.xs, nodes);
      };
      await undo().catch((u: unknown) => this.#o.log(`domain ${rec.domid}: undoing the attach of ${deviceLabel(device)}: ${text(u)}`));
      throw failed(rec, device, 'add', 'to', e);
    }
  }

  /**
   * The machine's part of undoing a failed attach (`inMachine`: false when the guest still holds
   * the device, whose late release then finishes the undo). When QEMU does not answer in time,
   * the commands sent are queued in it behind the attach's own and run in order once it answers;
   * the host's part (xenstore, tap, block script) is then undone at once: true.
   */
  async #undoInMachine(rec: DomainRecord, inMachine: () => Promise<boolean>): Promise<boolean> {
    try {
      return await inMachine();
    } catch (e: unknown) {
      // A machine gone (destroyed meanwhile) holds nothing: the host's part is undone all the same
      // (a block script's `remove` was skipped, and its device stayed set up for good).
      if (e instanceof QmpClosedError) return true;
      if (!(e instanceof QmpTimeoutError)) throw e;
      this.#o.log(`domain ${rec.domid}: QEMU did not answer while an attach was undone (${e.message}); what it was sent runs once it answers`);
      return true;
    }
  }

  async detach(rec: DomainRecord, qmp: QmpClient, device: DomainDevice, force: boolean, waitMs?: number): Promise<boolean> {
    const nodes = hasNodes(device) ? this.#nodes(rec, device) : undefined;
    if (nodes !== undefined) await writeDeviceValues(this.#o.xs, nodes, { back: { online: '0', state: state(XENBUS_STATE.closing) } });
    let released: boolean;
    try {
      released = await this.#unplug(rec, qmp, device, waitMs ?? (force ? FORCE_GRACE_MS : this.#o.timeoutMs));
    } catch (e: unknown) {
      if (nodes !== undefined) await this.#reconnect(nodes);
      throw failed(rec, device, 'remove', 'from', e);
    }
    if (released) {
      await this.release(rec, qmp, device);
      return true;
    }
    if (!force) {
      if (nodes !== undefined) await this.#reconnect(nodes);
      const s = Math.round((waitMs ?? this.#o.timeoutMs) / 1000);
      throw new ToolstackError('DEVICE_TIMEOUT', `Cannot remove ${deviceLabel(device)} from domain '${rec.name}': the guest did not release it within ${s} s`, {
        hint: 'the guest may release it later (dom0 then finishes the removal); -f removes it from the domain\'s config and xenstore now',
      });
    }
    if (nodes === undefined) return false;
    const closed = state(XENBUS_STATE.closed);
    await writeDeviceValues(this.#o.xs, nodes, { front: { state: closed }, back: { state: closed } });
    if (device.kind === 'vbd') await removeBlockScript(this.#o, rec, device.disk, nodes);
    await removeDeviceNodes(this.#o.xs, nodes);
    return false;
  }

  /** Frees what is left of a released device: its medium node (when QEMU runs) and its nodes. */
  async release(rec: DomainRecord, qmp: QmpClient | undefined, device: DomainDevice): Promise<void> {
    if (qmp !== undefined && device.kind === 'vbd' && diskHasMedium(device.disk)) await deleteNode(qmp, diskNodeName(qdevId(device)));
    if (device.kind === 'vif') {
      if (qmp !== undefined) await deleteNetdev(qmp, qdevNetdev(device.nic));
      await this.#o.net.unplugVif({ domid: rec.domid, name: rec.name }, device.nic);
    }
    const nodes = deviceNodes(rec.config, rec.domid, device, this.#o.scriptDir);
    if (nodes === undefined) return;
    const closed = state(XENBUS_STATE.closed);
    await writeDeviceValues(this.#o.xs, nodes, { front: { state: closed }, back: { state: closed } });
    if (device.kind === 'vbd') await removeBlockScript(this.#o, rec, device.disk, nodes);
    await removeDeviceNodes(this.#o.xs, nodes);
  }

  async changeMedia(rec: DomainRecord, qmp: QmpClient, drive: DiskDevice, medium: DiskDevice, chains: MediaChains): Promise<void> {
    const id = drive.vdev ?? '';
    const node = diskNodeName(id);
    // Each medium is opened by name again (the drive's own, put back, too): held to its check.
    const insert = async (d: DiskDevice, chain: CheckedChain | undefined): Promise<void> => {
      const before = openBefore(rec);
      await qmp.blockdevAdd(diskMediumNode(d, chain));
      try {
        refuseSwapped(rec, chain, before);
        await qmp.blockdevInsertMedium(id, node);
      } catch (e: unknown) {
        await deleteNode(qmp, node);
        throw e;
      }
    };
    try {
      await qmp.blockdevOpenTray(id, true);
      try {
        await qmp.blockdevRemoveMedium(id);
        await deleteNode(qmp, node);
        if (diskHasMedium(medium)) {
          await insert(medium, chains.medium).catch(async (e: unknown) => {
            if (diskHasMedium(drive) && chains.drive === undefined) {
              this.#o.log(`domain ${rec.domid}: the medium of ${id} is not put back: it could not be checked again`);
            } else if (diskHasMedium(drive)) {
              await insert(drive, chains.drive).catch((u: unknown) => this.#o.log(`domain ${rec.domid}: putting back the medium of ${id}: ${text(u)}`));
            }
            throw e;
          });
        }
      } finally {
        await qmp.blockdevCloseTray(id).catch((e: unknown) => this.#o.log(`domain ${rec.domid}: closing the tray of ${id}: ${text(e)}`));
      }
    } catch (e: unknown) {
      throw failed(rec, { kind: 'vbd', disk: drive }, 'change the medium of', 'in', e);
    }
    const nodes = this.#nodes(rec, { kind: 'vbd', disk: medium });
    await writeDeviceValues(this.#o.xs, nodes, { back: { params: nodes.back['params'] ?? '' }, copy: true });
  }

  /**
   * What xenstore holds of the device; a device with no nodes (PCI, USB) is in the machine for as
   * long as it is in the config: no paths, Domain-0 its back-end, no frontend state.
   */
  info(rec: DomainRecord, device: DomainDevice): Promise<DeviceXenstoreInfo | undefined> {
    const devid = deviceDevid(device);
    if (devid === undefined) return Promise.resolve(undefined);
    if (!hasNodes(device)) return Promise.resolve({ backendPath: '', frontendPath: '', backendId: 0, state: -1, evtch: -1, rref: -1 });
    return readDeviceInfo(this.#o.xs, rec.domid, device.kind, devid);
  }

  /** The domain is gone: its unconfirmed unplugs with it. */
  forget(domid: number): void {
    for (const [key, u] of this.#unplugs) {
      if (!key.startsWith(`${domid}/`)) continue;
      u.off();
      this.#unplugs.delete(key);
    }
  }

  #nodes(rec: DomainRecord, device: DomainDevice): DeviceNodes {
    const nodes = deviceNodes(rec.config, rec.domid, device, this.#o.scriptDir);
    if (nodes === undefined) {
      throw new ToolstackError('CFG_VALUE', `Domain '${rec.name}' cannot have ${deviceLabel(device)}: it is not a virtual device name libxl knows`, {
        hint: 'name a disk xvdX, hdX, sdX or dNpM (see xl-disk-configuration(5))',
      });
    }
    return nodes;
  }

  async #reconnect(nodes: DeviceNodes): Promise<void> {
    await writeDeviceValues(this.#o.xs, nodes, { back: { online: '1', state: state(XENBUS_STATE.connected) } });
  }

  /**
   * `device_del`, then waits up to `ms` for QEMU to confirm; true once it has (or the device
   * was not there). A later confirmation goes to the sink.
   */
  async #unplug(rec: DomainRecord, qmp: QmpClient, device: DomainDevice, ms: number): Promise<boolean> {
    const id = qdevId(device);
    const key = `${rec.domid}/${id}`;
    let u = this.#unplugs.get(key);
    if (u === undefined) {
      const entry: Unplug = { device, waiter: undefined, off: () => undefined, gone: () => undefined };
      entry.gone = () => {
        if (this.#unplugs.get(key) !== entry) return;
        entry.off();
        this.#unplugs.delete(key);
        if (entry.waiter !== undefined) entry.waiter();
        else this.#sink?.(rec.domid, entry.device, 'late');
      };
      entry.off = qmp.onEvent('DEVICE_DELETED', (e) => {
        if (e.data['device'] === id) entry.gone();
      });
      this.#unplugs.set(key, entry);
      u = entry;
    }
    const unplug = u;
    let stop = (_released: boolean): void => undefined;
    const released = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => stop(false), ms);
      // QEMU 7.2 sends no DEVICE_DELETED for an xHCI controller the guest released: while the
      // job waits, the device's absence from QOM counts as the release too.
      const poll = setInterval(() => void gone(qmp, id).then((g) => { if (g) unplug.gone(); }, () => undefined), UNPLUG_POLL_MS);
      const offClose = qmp.onClose(() => stop(false));
      stop = (v) => {
        clearTimeout(timer);
        clearInterval(poll);
        offClose();
        unplug.waiter = undefined;
        resolve(v);
      };
      unplug.waiter = () => stop(true);
    });
    try {
      await qmp.deviceDel(id);
    } catch (e: unknown) {
      // Asked before (a detach that timed out): the same release is still awaited.
      if (e instanceof QmpCommandError && /already in the process of unplug/.test(e.desc)) return released;
      stop(false);
      // QEMU did not answer (stopped, hung): the request runs once it does, and the guest's
      // release then comes as a late one (the sink), as after a detach that timed out.
      if (e instanceof QmpTimeoutError) throw e;
      unplug.off();
      this.#unplugs.delete(key);
      if (e instanceof QmpCommandError && e.errorClass === 'DeviceNotFound') return true;
      throw e;
    }
    return released;
  }
}

/**
 * One QMP command of an attach; `done` is told when the machine has what it adds, or may have it:
 * a command QEMU did not answer in time (stopped, hung) still runs once it answers, so the undo
 * takes it out as if it had run.
 */
async function machineStep(run: () => Promise<unknown>, done: () => void): Promise<void> {
  try {
    await run();
  } catch (e: unknown) {
    if (e instanceof QmpTimeoutError) done();
    throw e;
  }
  done();
}

/** The QEMU device id of a device (a disk: its vdev; a vif: `vif<devid>`, as `nicWiring` names it). */
/**
 * The devices of `config` with their QEMU ids: each is a device of that id under
 * `/machine/peripheral` of the domain's machine (the argv builder and every attach give them
 * those ids; test/golden/argv checks the builder's).
 */
export function machineDevices(config: DomainConfig): Array<{ readonly device: DomainDevice; readonly id: string }> {
  return DEVICE_KINDS.flatMap((k) => devicesOf(config, k))
    .filter((device) => device.kind !== 'vkbd' || vkbHasDevice(device.vkb))
    .map((device) => ({ device, id: qdevId(device) }));
}

function qdevId(device: DomainDevice): string {
  switch (device.kind) {
    case 'vbd': return device.disk.vdev ?? '';
    case 'vif': return `vif${device.nic.devid ?? 0}`;
    case 'pci': return pciQdevId(device.pci);
    case 'vusb': return usbctrlQdevId(device.usbctrl.devid ?? 0);
    case 'usbdev': return usbdevQdevId({ ...device.usbdev, ctrl: device.usbdev.ctrl ?? 0, port: device.usbdev.port ?? 0 });
    case 'vkbd': return vkbQdevId(device.vkb.devid ?? 0);
  }
}

/** Whether the kind has xenstore nodes (PV devices); PCI and USB devices are QEMU's alone. */
function hasNodes(device: DomainDevice): device is Extract<DomainDevice, { kind: 'vbd' | 'vif' }> {
  return device.kind === 'vbd' || device.kind === 'vif';
}

/** A controller as the config has it, libxl's defaults already applied (`withDeviceDefaults`). */
function controllerOf(c: UsbctrlDevice): UsbController {
  return usbctrlWithDefaults(c, c.devid ?? 0);
}

/** The QEMU netdev id of a vif (`nicWiring`'s). */
function qdevNetdev(nic: NicDevice): string {
  return `net${nic.devid ?? 0}`;
}

/** Whether QEMU no longer has device `id` (`qom-get` of its type answers DeviceNotFound). */
async function gone(qmp: QmpClient, id: string): Promise<boolean> {
  try {
    await qmp.execute('qom-get', { path: `/machine/peripheral/${id}`, property: 'type' });
    return false;
  } catch (e: unknown) {
    if (e instanceof QmpCommandError && e.errorClass === 'DeviceNotFound') return true;
    throw e;
  }
}

/** `netdev_del`; a netdev that is not there is fine. */
async function deleteNetdev(qmp: QmpClient, id: string): Promise<void> {
  try {
    await qmp.netdevDel(id);
  } catch (e: unknown) {
    if (!(e instanceof QmpCommandError && /not found|DeviceNotFound/i.test(`${e.errorClass} ${e.desc}`))) throw e;
  }
}

/** How long `blockdev-del` is retried while QEMU still holds the node of a device just deleted. */
const NODE_RELEASE_MS = 3000;

/**
 * `blockdev-del`; a node that is not there is fine. QEMU can announce a device deleted a moment
 * before it lets go of the device's block node (seen on a loaded host): "is in use" is retried
 * for up to `NODE_RELEASE_MS`.
 */
async function deleteNode(qmp: QmpClient, name: string): Promise<void> {
  for (const until = monotonicMs() + NODE_RELEASE_MS; ;) {
    try {
      await qmp.blockdevDel(name);
      return;
    } catch (e: unknown) {
      if (e instanceof QmpCommandError && /Failed to find node|Cannot find node/.test(e.desc)) return;
      if (!(e instanceof QmpCommandError && /is in use/.test(e.desc)) || monotonicMs() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The descriptors the domain's QEMU has open before it opens a disk (see `refuseSwapped`). */
function openBefore(rec: DomainRecord): ReadonlySet<string> {
  return rec.qemuPid === null ? new Set() : openFds(rec.qemuPid);
}

/**
 * A disk's checked images not open in its QEMU once it opened them by name: refused
 * (`refuseSwappedImage`); only the descriptors it opened since `before` are looked at.
 */
function refuseSwapped(rec: DomainRecord, chain: CheckedChain | undefined, before: ReadonlySet<string>): void {
  if (chain !== undefined && rec.qemuPid !== null) refuseSwappedImage(chain.opened, rec.qemuPid, rec.name, before);
}

/** One line naming the device and the domain, QEMU's words after the colon. */
function failed(rec: DomainRecord, device: DomainDevice, verb: string, prep: string, e: unknown): unknown {
  if (!isToolstackError(e) || e.code !== 'QEMU') return e;
  return new ToolstackError('QEMU', `Cannot ${verb} ${deviceLabel(device)} ${prep} domain '${rec.name}': ${e.message}`, {
    cause: e, ...(e.hint === undefined ? {} : { hint: e.hint }),
  });
}

function text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
