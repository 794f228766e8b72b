/**
 * A domain's vCPUs on its QEMU. Each plugged vCPU is a QEMU thread (QMP `query-cpus-fast` gives
 * its thread id): the vCPU's host CPU, time and hard affinity are that thread's, and pinning is
 * sched_setaffinity of it. The machine has `maxvcpus` CPU slots (`-smp cpus=N,maxcpus=M`,
 * QMP `query-hotpluggable-cpus`); `xl vcpu-set` fills a slot with `device_add` of the slot's CPU
 * type and topology ids, and empties one with `device_del`, which QEMU asks the guest to
 * complete by ACPI (it offlines and ejects the CPU, then QEMU reports DEVICE_DELETED of the CPU,
 * or of its `lapic` child as QEMU 7 does). QEMU 7.2 under TCG corrupts its heap and dies when it
 * plugs a vCPU into a machine that has unplugged one, and likewise when it saves or migrates
 * such a machine (`corrupted size vs. prev_size`: the domain was lost): those are refused until
 * the domain's next boot (a new QEMU).
 */
import { ToolstackError } from '../common/index.js';
import type { DomainConfig } from '../config/index.js';
import { onlineCpus, setThreadAffinity, threadSched } from '../host/index.js';
import type { QmpClient, QmpEvent, QmpHotpluggableCpu } from '../qemu/index.js';
import type { MachineVcpu } from './driver.js';
import { affinityRefusedLine } from './vcpus.js';

/** The machine's plugged vCPUs, in vCPU order, as the host schedules their threads. */
export async function machineVcpus(qmp: QmpClient, pid: number): Promise<MachineVcpu[]> {
  const cpus = await qmp.queryCpusFast();
  return cpus.sort((a, b) => a['cpu-index'] - b['cpu-index']).flatMap((c): MachineVcpu[] => {
    const t = threadSched(pid, c['thread-id']);
    return t === undefined ? [] : [{ vcpu: c['cpu-index'], cpu: t.cpu, runnable: t.state === 'R', timeNs: t.cpuTimeNs, hard: t.allowed }];
  });
}

/**
 * Gives vCPUs `vcpus` (default: the plugged ones) the hard affinity `config` stores for them
 * (see `DomainDriver.setVcpuAffinity`): every map is checked against the host's online CPUs
 * first, so that an impossible one changes nothing.
 */
export async function applyVcpuAffinity(qmp: QmpClient, domid: number, config: DomainConfig, vcpus?: readonly number[]): Promise<void> {
  const plan = affinityPlan(domid, config, vcpus ?? (await qmp.queryCpusFast()).map((c) => c['cpu-index']));
  await setAffinities(qmp, domid, plan);
}

/** The host CPUs each of `vcpus` that has a stored map may run on; VCPU when a map has none. */
function affinityPlan(domid: number, config: DomainConfig, vcpus: readonly number[]): Array<{ readonly vcpu: number; readonly cpus: readonly number[] }> {
  const maps = config.b_info?.vcpu_hard_affinity ?? [];
  const host = new Set(onlineCpus());
  return vcpus.flatMap((vcpu) => {
    const map = maps[vcpu];
    if (map === undefined) return [];
    const cpus = map.filter((c) => host.has(c));
    if (cpus.length === 0) throw refused(domid, vcpu, 'Invalid argument', `its map (${map.join(',') || 'empty'}) names no online CPU of this host`);
    return [{ vcpu, cpus }];
  });
}

/** Sets each planned vCPU's thread affinity (a vCPU not plugged has no thread yet: it gets its map when plugged). */
async function setAffinities(qmp: QmpClient, domid: number, plan: ReturnType<typeof affinityPlan>): Promise<void> {
  if (plan.length === 0) return;
  const plugged = await qmp.queryCpusFast();
  for (const { vcpu, cpus } of plan) {
    const tid = plugged.find((c) => c['cpu-index'] === vcpu)?.['thread-id'];
    const reason = tid === undefined ? undefined : await setThreadAffinity(tid, cpus);
    if (reason !== undefined) throw refused(domid, vcpu, reason, `its thread ${tid ?? ''} refused CPUs ${cpus.join(',')}`);
  }
}

/**
 * vCPUs 0..count-1 plugged (see `DomainDriver.setVcpus`); `count` is within the machine's
 * slots. New vCPUs get their stored affinity. Each unplug is waited for up to `timeoutMs` when
 * `wait`; resolves with the vCPUs the guest still holds.
 */
export async function plugVcpus(
  qmp: QmpClient,
  o: {
    readonly domid: number; readonly config: DomainConfig; readonly count: number; readonly wait: boolean; readonly timeoutMs: number;
    /** This machine has unplugged a vCPU before (see the module comment); `unplugging` is called before it first does. */
    readonly unplugged: boolean; readonly unplugging: () => void;
  },
): Promise<{ readonly pending: number[] }> {
  const slots = await cpuSlots(qmp);
  const plugged = await qmp.queryCpusFast();
  const adding = Array.from({ length: o.count }, (_, vcpu) => vcpu).filter((vcpu) => slots[vcpu] !== undefined && !plugged.some((c) => c['cpu-index'] === vcpu));
  if (adding.length > 0 && o.unplugged && !(await underKvm(qmp))) {
    throw new ToolstackError('VCPU', `Cannot plug vCPU(s) ${adding.join(',')} into domain ${o.domid}: its machine has unplugged a vCPU, and QEMU under TCG crashes when it plugs one after that`, {
      hint: 'the domain\'s next boot (a new QEMU: xl reboot) starts with the vCPUs it has now; vcpu-set can add vCPUs to it',
    });
  }
  const plan = affinityPlan(o.domid, o.config, adding);
  for (const vcpu of adding) {
    const slot = slots[vcpu] as QmpHotpluggableCpu;
    await qmp.deviceAdd({ driver: slot.type, id: `cpu-${vcpu}`, ...slot.props });
  }
  await setAffinities(qmp, o.domid, plan);
  // One at a time, the highest first: the guest's ACPI handling can miss an eject request that
  // comes while it handles another. After one the guest did not release in time, the rest are
  // asked without waiting.
  const going = plugged.filter((c) => c['cpu-index'] >= o.count).sort((a, b) => b['cpu-index'] - a['cpu-index']);
  const pending: number[] = [];
  if (going.length > 0 && !o.unplugged) o.unplugging();
  for (const c of going) {
    const path = c['qom-path'];
    const wait = o.wait && pending.length === 0;
    const gone = wait ? qmp.waitForEvent('DEVICE_DELETED', { timeoutMs: o.timeoutMs, match: (e) => deletes(e, path) }).then(() => true, () => false) : undefined;
    try {
      await qmp.deviceDel(path);
    } catch (e: unknown) {
      throw new ToolstackError('VCPU', `Cannot remove vCPU ${c['cpu-index']} of domain ${o.domid}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
        hint: 'QEMU hot-unplugs a vCPU through the guest\'s ACPI: it must run an OS that has booted with ACPI (vCPU 0 never goes)',
      });
    }
    if (gone === undefined || !(await gone)) pending.push(c['cpu-index']);
  }
  return { pending: pending.sort((a, b) => a - b) };
}

/** The machine's CPU slots in vCPU order: QEMU numbers CPUs by topology (socket, die, cluster, core, thread). */
async function cpuSlots(qmp: QmpClient): Promise<QmpHotpluggableCpu[]> {
  const order = ['socket-id', 'die-id', 'cluster-id', 'core-id', 'thread-id'];
  const slots = await qmp.queryHotpluggableCpus();
  return [...slots].sort((a, b) => {
    for (const k of order) {
      const d = (a.props[k] ?? 0) - (b.props[k] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  });
}

/** Whether the machine runs under KVM (QMP `query-kvm`); TCG otherwise. */
/**
 * Refuses to `what` (save, migrate) domain `name` when its machine has unplugged a vCPU and runs
 * under TCG (see the module comment).
 */
export async function refuseStateAfterUnplug(qmp: QmpClient, unplugged: boolean, what: string, name: string): Promise<void> {
  if (!unplugged || await underKvm(qmp)) return;
  throw new ToolstackError('NOT_SUPPORTED', `Cannot ${what} domain '${name}': its machine has unplugged a vCPU (xl vcpu-set), and QEMU under TCG crashes saving such a machine`, {
    hint: 'the domain\'s next boot (a new QEMU: xl reboot) can be saved and migrated again',
  });
}

async function underKvm(qmp: QmpClient): Promise<boolean> {
  return ((await qmp.execute('query-kvm')) as { readonly enabled?: boolean }).enabled === true;
}

/** A DEVICE_DELETED of the CPU at `path`, or of a child of it (QEMU 7 reports only its `lapic`). */
function deletes(e: QmpEvent, path: string): boolean {
  const p = e.data?.['path'];
  return typeof p === 'string' && (p === path || p.startsWith(`${path}/`));
}

function refused(domid: number, vcpu: number, reason: string, detail: string): ToolstackError {
  return new ToolstackError('VCPU', `Cannot set the hard affinity of vCPU ${vcpu} of domain ${domid}: ${detail}`, {
    lines: [affinityRefusedLine(domid, reason)],
    hint: 'give CPUs this host has online (xl info: nr_cpus; xl vcpu-list shows the maps in use)',
  });
}
