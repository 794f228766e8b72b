/**
 * A domain's vCPUs as Xen's libxl presents them, over what the machine tells of its plugged
 * vCPUs (`DomainDriver.vcpus`): one row per vCPU slot (`maxvcpus`), plugged or not, and the
 * stored affinities (`b_info.vcpu_hard_affinity` / `vcpu_soft_affinity`, one CPU map per vCPU, as
 * libxl keeps them), which `xl vcpu-pin` changes and every boot and re-adoption applies.
 */
import type { DomainConfig } from '../config/index.js';
import { domainVcpus } from '../config/index.js';
import type { MachineVcpu } from './driver.js';
import type { DomainState } from './state.js';

/** One vCPU as `xl vcpu-list` shows it (libxl_vcpuinfo). */
export interface VcpuInfo {
  readonly vcpu: number;
  /** Plugged in the machine (Xen: up). */
  readonly online: boolean;
  /** The host CPU it last ran on; null when offline. */
  readonly cpu: number | null;
  readonly running: boolean;
  /** Waiting for work (the guest halted it). */
  readonly blocked: boolean;
  readonly timeNs: number;
  /** The host CPUs it may run on (an online vCPU: its thread's); null: every one. */
  readonly hard: readonly number[] | null;
  /** Its soft affinity as stored (the scheduler's preference in Xen; kept and shown here); null: every CPU. */
  readonly soft: readonly number[] | null;
}

/** libxl's line for a vCPU affinity the hypervisor refused for `reason` (strerror's words). */
export function affinityRefusedLine(domid: number, reason: string): string {
  return `libxl: error: libxl_sched.c:62:libxl__set_vcpuaffinity: Domain ${domid}:Setting vcpu affinity: ${reason}`;
}

/**
 * Every vCPU slot of the domain, in order: the plugged ones from the machine (`running`/`blocked`
 * only while the domain runs), the others offline with their stored hard affinity.
 */
export function vcpuRows(config: DomainConfig, state: DomainState, machine: readonly MachineVcpu[]): VcpuInfo[] {
  const b = config.b_info ?? {};
  const live = state === 'running' || state === 'shutting-down';
  const count = Math.max(domainVcpus(config).max, ...machine.map((m) => m.vcpu + 1));
  return Array.from({ length: count }, (_, vcpu): VcpuInfo => {
    const soft = b.vcpu_soft_affinity?.[vcpu] ?? null;
    const m = machine.find((x) => x.vcpu === vcpu);
    if (m === undefined) {
      return { vcpu, online: false, cpu: null, running: false, blocked: false, timeNs: 0, hard: b.vcpu_hard_affinity?.[vcpu] ?? null, soft };
    }
    return { vcpu, online: true, cpu: m.cpu, running: live && m.runnable, blocked: live && !m.runnable, timeNs: m.timeNs, hard: m.hard, soft };
  });
}

/**
 * `config` with vCPU `vcpu` (or every one) given `hard` and/or `soft` (undefined: unchanged).
 * A list that changes gets one map per vCPU slot; slots it had no map for get `all` (unpinned).
 */
export function withVcpuAffinity(
  config: DomainConfig,
  change: { readonly vcpu: number | 'all'; readonly hard?: readonly number[]; readonly soft?: readonly number[]; readonly all: readonly number[] },
): DomainConfig {
  const b = config.b_info ?? {};
  const max = domainVcpus(config).max;
  const maps = (old: readonly (readonly number[])[] | undefined, set: readonly number[]): number[][] =>
    Array.from({ length: max }, (_, i) => [...(change.vcpu === 'all' || change.vcpu === i ? set : old?.[i] ?? change.all)]);
  return {
    ...config,
    b_info: {
      ...b,
      ...(change.hard === undefined ? {} : { vcpu_hard_affinity: maps(b.vcpu_hard_affinity, change.hard) }),
      ...(change.soft === undefined ? {} : { vcpu_soft_affinity: maps(b.vcpu_soft_affinity, change.soft) }),
    },
  };
}
