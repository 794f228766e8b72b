/**
 * `xl debug-keys`: Xen's keyhandlers, where dom0 has the thing a key shows. Each key answers
 * `'K' pressed -> WHAT` and then its dump, every line going to dom0's console ring (`xl dmesg`),
 * as Xen's keys print to its console. Keys whose Xen subject does not exist under QEMU (event
 * channels, grant tables, the hypervisor's IRQs and timers) answer one line saying so; the keys
 * that would reboot or crash the host are refused; any other key answers that it is not one.
 */
import { formatCgroupList as formatCpuList } from '../host/index.js';
import type { ToolstackApi } from './toolstack.js';

/** What the handlers read: the API itself (dom0d's service), no more. */
export type DebugKeyApi = Pick<ToolstackApi, 'listDomains' | 'listVcpus' | 'getScheduling' | 'hostInfo' | 'monitorCommand'>;

type Handler = (api: DebugKeyApi) => Promise<string[]>;

interface Key {
  readonly desc: string;
  readonly run?: Handler;
  /** Why the key does nothing here (no `run`). */
  readonly absent?: string;
}

const dumpDomains: Handler = async (api) => {
  const out: string[] = [];
  for (const d of (await api.listDomains()).filter((x) => x.domid !== 0)) {
    out.push(`General information for domain ${d.domid}:`);
    out.push(`    name=${d.name} state=${d.state} flags=${Object.entries(d.flags).filter(([, on]) => on === true).map(([f]) => f).join('') || '-'} cpupool=${d.cpupool}`);
    out.push(`    nr_pages=${Math.floor(d.memKiB / 4)} (${d.memKiB} KiB) cpu_time=${(d.cpuTimeNs / 1e9).toFixed(1)}s`);
    out.push(`    handle=${d.uuid}`);
    out.push(`VCPU information for domain ${d.domid}:`);
    const vcpus = await api.listVcpus({ ref: String(d.domid) }).catch(() => undefined);
    for (const v of vcpus?.vcpus ?? []) {
      const state = !v.online ? 'offline' : v.running ? 'running' : 'blocked';
      out.push(`    VCPU${v.vcpu}: CPU${v.cpu ?? '-'} ${state} time=${(v.timeNs / 1e9).toFixed(1)}s hard=${v.hard === null ? 'all' : formatCpuList(v.hard)} soft=${v.soft === null ? 'all' : formatCpuList(v.soft)}`);
    }
  }
  return out;
};

const dumpRunQueues: Handler = async (api) => {
  const s = await api.getScheduling();
  const out = [`Online Cpus: ${formatCpuList(s.cpus.map((c) => c.cpu))}`, `Free Cpus: ${s.freeCpus.length === 0 ? '-' : formatCpuList(s.freeCpus)}`];
  for (const p of s.pools) {
    out.push(`Cpupool ${p.poolid}: ${p.name}`, `Cpus: ${p.cpus.length === 0 ? '-' : formatCpuList(p.cpus)}`, `Scheduler: ${p.sched}`);
    for (const d of s.domains.filter((x) => x.pool === p.poolid)) out.push(`    domain ${d.domid} (${d.name}): weight=${d.weight} cap=${d.cap}`);
  }
  return out;
};

const dumpRegisters: Handler = async (api) => {
  const out: string[] = [];
  for (const d of (await api.listDomains()).filter((x) => x.domid !== 0 && x.state !== 'shutdown')) {
    out.push(`*** Dumping registers of domain ${d.domid} (${d.name}) ***`);
    const r = await api.monitorCommand({ ref: String(d.domid), command: 'info registers -a' }).catch((e: unknown) => ({ output: `(${e instanceof Error ? e.message : String(e)})` }));
    out.push(...r.output.split(/\r?\n/).filter((l) => l.trim() !== ''));
  }
  return out;
};

const dumpMemory: Handler = async (api) => {
  const h = await api.hostInfo();
  return [
    'Physical memory information:',
    `    Total: ${h.facts.totalKiB}kB`,
    `    Free for guests: ${h.freeKiB}kB`,
    `    Guests: ${h.guestsKiB}kB`,
    ...h.facts.nodes.map((n) => `    node ${n.node}: ${n.totalKiB}kB total, ${n.freeKiB}kB free`),
  ];
};

const dumpNuma: Handler = async (api) => {
  const h = await api.hostInfo();
  const out: string[] = [];
  for (const n of h.facts.nodes) {
    const cpus = h.facts.cpus.filter((c) => c.node === n.node).map((c) => c.cpu);
    out.push(`NODE${n.node}: ${n.totalKiB}kB total, ${n.freeKiB}kB free, CPUs ${cpus.length === 0 ? '-' : formatCpuList(cpus)}, distances ${n.distances.join(' ')}`);
  }
  for (const d of (await api.getScheduling()).domains) {
    const info = (await api.listDomains()).find((x) => x.domid === d.domid);
    if (info !== undefined && d.domid !== 0) out.push(`Domain ${d.domid} (total: ${Math.floor(info.memKiB / 4)} pages)`);
  }
  return out;
};

const NO_EVTCHN = 'QEMU guests have no event channels';

/** Xen's key table, in key order; `*` runs every key that has a handler here. */
const KEYS: Readonly<Record<string, Key>> = {
  '*': { desc: 'print all diagnostics' },
  '0': { desc: 'dump Dom0 registers', absent: 'Domain-0 is the host, not a guest with registers to dump' },
  A: { desc: 'toggle alternative key handling', absent: 'there is no alternative handling' },
  C: { desc: 'trigger a crash', absent: 'dom0d does not crash its host' },
  H: { desc: 'dump heap info', absent: 'there is no hypervisor heap; see m' },
  I: { desc: 'dump HVM irq info', absent: 'QEMU keeps the guests\' interrupt controllers' },
  M: { desc: 'dump MSI state', absent: 'QEMU keeps the guests\' MSI state' },
  R: { desc: 'reboot machine', absent: 'dom0d does not reboot its host' },
  V: { desc: 'dump iommu info', absent: 'there is no hypervisor IOMMU; see xl pci-assignable-list' },
  a: { desc: 'dump timer queues', absent: 'there are no hypervisor timers' },
  c: { desc: 'dump ACPI Cx structures', absent: 'the host kernel keeps C-states' },
  d: { desc: 'dump registers', run: dumpRegisters },
  e: { desc: 'dump evtchn info', absent: NO_EVTCHN },
  g: { desc: 'print grant table usage', absent: 'QEMU guests have no grant tables' },
  h: { desc: 'show this message' },
  i: { desc: 'dump interrupt bindings', absent: NO_EVTCHN },
  m: { desc: 'memory info', run: dumpMemory },
  n: { desc: 'trigger an NMI', absent: 'use xl trigger DOMAIN nmi' },
  q: { desc: 'dump domain (and guest debug) info', run: dumpDomains },
  r: { desc: 'dump run queues', run: dumpRunQueues },
  s: { desc: 'dump softtsc stats', absent: 'QEMU keeps the guests\' TSC' },
  t: { desc: 'display multi-cpu clock info', absent: 'the host kernel keeps time' },
  u: { desc: 'dump NUMA info', run: dumpNuma },
  z: { desc: 'dump IOAPIC info', absent: 'QEMU keeps the guests\' IOAPICs' },
};

function help(): string[] {
  return Object.entries(KEYS).map(([k, v]) => ` key '${k}' (ascii '${k.charCodeAt(0).toString(16).padStart(2, '0')}') => ${v.desc}${v.run === undefined && v.absent !== undefined ? ' (not here)' : ''}`);
}

/** The lines key `key` prints (its `pressed` line first). */
export async function debugKeyLines(key: string, api: DebugKeyApi): Promise<string[]> {
  const k = KEYS[key];
  if (k === undefined) return [`'${key}' pressed -> not a debug key here (xl debug-keys h lists them)`];
  const head = `'${key}' pressed -> ${k.desc}`;
  if (key === 'h') return [head, ...help()];
  if (key === '*') {
    const out = [head];
    for (const [name, other] of Object.entries(KEYS)) if (other.run !== undefined) out.push(...await debugKeyLines(name, api));
    return out;
  }
  if (k.run === undefined) return [`${head}: not here: ${k.absent ?? 'nothing to show'}`];
  return [head, ...await k.run(api)];
}
