/**
 * `cpuid=`: libxl's CPUID/MSR policy list, as xl builds it (`libxl_cpuid_parse_config` for the
 * `"host,flag=value,..."` string, `libxl_cpuid_parse_config_xend` for the list of
 * `"leaf[,subleaf]:reg=32 chars,..."` lines), and its JSON. A policy string has one character per
 * bit, most significant first: `0`/`1` force the bit, `x` keeps the default, `k` the host's value,
 * `s` the host's value across save/restore. Bad items are reported and skipped, as xl does.
 */
import type { LibxlJsonObject } from '../libxl-json.js';
import type { JsonFail } from './idl-json.js';

type Reg = 'eax' | 'ebx' | 'ecx' | 'edx';
/** The registers of a CPUID leaf policy, as its JSON names them. */
export const CPUID_REGS: readonly Reg[] = ['eax', 'ebx', 'ecx', 'edx'];

export interface CpuidLeafPolicy {
  readonly leaf: number;
  /** Absent: the leaf has no subleaf (XEN_CPUID_INPUT_UNUSED). */
  readonly subleaf?: number;
  readonly regs: Partial<Record<Reg, string>>;
}

export interface MsrPolicy {
  readonly index: number;
  /** 64 characters, bit 63 first. */
  policy: string;
}

export interface CpuidPolicy {
  readonly cpuid: CpuidLeafPolicy[];
  readonly msr: MsrPolicy[];
}

/**
 * The flag names Xen 4.17's libxl knows (the generated feature names and the legacy table; where
 * both name a field, the legacy one), with where they live: a CPUID leaf (subleaf -1 = none),
 * register, first bit and width; or an MSR index and bit. Measured on Debian's Xen 4.17 `xl`.
 */
const FLAGS: ReadonlyArray<readonly [name: string, kind: 'cpuid' | 'msr', leafOrIndex: number, subleaf: number, reg: Reg | '', bit: number, length: number]> = [
  ['3dnow', 'cpuid', 0x80000001, -1, 'edx', 31, 1],
  ['3dnowext', 'cpuid', 0x80000001, -1, 'edx', 30, 1],
  ['3dnowprefetch', 'cpuid', 0x80000001, -1, 'ecx', 8, 1],
  ['abm', 'cpuid', 0x80000001, -1, 'ecx', 5, 1],
  ['acpi', 'cpuid', 0x1, -1, 'edx', 22, 1],
  ['adx', 'cpuid', 0x7, 0, 'ebx', 19, 1],
  ['aes', 'cpuid', 0x1, -1, 'ecx', 25, 1],
  ['aesni', 'cpuid', 0x1, -1, 'ecx', 25, 1],
  ['altmovcr8', 'cpuid', 0x80000001, -1, 'ecx', 4, 1],
  ['amd-ppin', 'cpuid', 0x80000008, -1, 'ebx', 23, 1],
  ['amd-ssbd', 'cpuid', 0x80000008, -1, 'ebx', 24, 1],
  ['amd-stibp', 'cpuid', 0x80000008, -1, 'ebx', 15, 1],
  ['apic', 'cpuid', 0x1, -1, 'edx', 9, 1],
  ['apicidsize', 'cpuid', 0x80000008, -1, 'ecx', 12, 4],
  ['arat', 'cpuid', 0x6, -1, 'eax', 2, 1],
  ['arch-caps', 'cpuid', 0x7, 0, 'edx', 29, 1],
  ['auto-ibrs', 'cpuid', 0x80000021, -1, 'eax', 8, 1],
  ['avx', 'cpuid', 0x1, -1, 'ecx', 28, 1],
  ['avx-vnni', 'cpuid', 0x7, 1, 'eax', 4, 1],
  ['avx2', 'cpuid', 0x7, 0, 'ebx', 5, 1],
  ['avx512-4fmaps', 'cpuid', 0x7, 0, 'edx', 3, 1],
  ['avx512-4vnniw', 'cpuid', 0x7, 0, 'edx', 2, 1],
  ['avx512-bf16', 'cpuid', 0x7, 1, 'eax', 5, 1],
  ['avx512-bitalg', 'cpuid', 0x7, 0, 'ecx', 12, 1],
  ['avx512-fp16', 'cpuid', 0x7, 0, 'edx', 23, 1],
  ['avx512-ifma', 'cpuid', 0x7, 0, 'ebx', 21, 1],
  ['avx512-vbmi', 'cpuid', 0x7, 0, 'ecx', 1, 1],
  ['avx512-vbmi2', 'cpuid', 0x7, 0, 'ecx', 6, 1],
  ['avx512-vnni', 'cpuid', 0x7, 0, 'ecx', 11, 1],
  ['avx512-vp2intersect', 'cpuid', 0x7, 0, 'edx', 8, 1],
  ['avx512-vpopcntdq', 'cpuid', 0x7, 0, 'ecx', 14, 1],
  ['avx512bw', 'cpuid', 0x7, 0, 'ebx', 30, 1],
  ['avx512cd', 'cpuid', 0x7, 0, 'ebx', 28, 1],
  ['avx512dq', 'cpuid', 0x7, 0, 'ebx', 17, 1],
  ['avx512er', 'cpuid', 0x7, 0, 'ebx', 27, 1],
  ['avx512f', 'cpuid', 0x7, 0, 'ebx', 16, 1],
  ['avx512pf', 'cpuid', 0x7, 0, 'ebx', 26, 1],
  ['avx512vl', 'cpuid', 0x7, 0, 'ebx', 31, 1],
  ['bhi-ctrl', 'cpuid', 0x7, 2, 'edx', 4, 1],
  ['bhi-no', 'msr', 0x10a, -1, '', 20, 1],
  ['bmi1', 'cpuid', 0x7, 0, 'ebx', 3, 1],
  ['bmi2', 'cpuid', 0x7, 0, 'ebx', 8, 1],
  ['brandid', 'cpuid', 0x1, -1, 'ebx', 0, 8],
  ['btc-no', 'cpuid', 0x80000008, -1, 'ebx', 29, 1],
  ['cet-ibt', 'cpuid', 0x7, 0, 'edx', 20, 1],
  ['cet-ss', 'cpuid', 0x7, 0, 'ecx', 7, 1],
  ['cet-sss', 'cpuid', 0x7, 1, 'edx', 18, 1],
  ['cldemote', 'cpuid', 0x7, 0, 'ecx', 25, 1],
  ['clflush', 'cpuid', 0x1, -1, 'ebx', 8, 8],
  ['clflushopt', 'cpuid', 0x7, 0, 'ebx', 23, 1],
  ['clfsh', 'cpuid', 0x1, -1, 'edx', 19, 1],
  ['clwb', 'cpuid', 0x7, 0, 'ebx', 24, 1],
  ['clzero', 'cpuid', 0x80000008, -1, 'ebx', 0, 1],
  ['cmov', 'cpuid', 0x1, -1, 'edx', 15, 1],
  ['cmp-legacy', 'cpuid', 0x80000001, -1, 'ecx', 1, 1],
  ['cmplegacy', 'cpuid', 0x80000001, -1, 'ecx', 1, 1],
  ['cmpxchg16', 'cpuid', 0x1, -1, 'ecx', 13, 1],
  ['cmpxchg8', 'cpuid', 0x1, -1, 'edx', 8, 1],
  ['cmt', 'cpuid', 0x7, 0, 'ebx', 12, 1],
  ['cntxid', 'cpuid', 0x1, -1, 'ecx', 10, 1],
  ['core-caps', 'cpuid', 0x7, 0, 'edx', 30, 1],
  ['cr8-legacy', 'cpuid', 0x80000001, -1, 'ecx', 4, 1],
  ['cx16', 'cpuid', 0x1, -1, 'ecx', 13, 1],
  ['cx8', 'cpuid', 0x1, -1, 'edx', 8, 1],
  ['dbext', 'cpuid', 0x80000001, -1, 'ecx', 26, 1],
  ['dca', 'cpuid', 0x1, -1, 'ecx', 18, 1],
  ['de', 'cpuid', 0x1, -1, 'edx', 2, 1],
  ['doitm', 'msr', 0x10a, -1, '', 12, 1],
  ['ds', 'cpuid', 0x1, -1, 'edx', 21, 1],
  ['dscpl', 'cpuid', 0x1, -1, 'ecx', 4, 1],
  ['dtes64', 'cpuid', 0x1, -1, 'ecx', 2, 1],
  ['efro', 'cpuid', 0x80000007, -1, 'edx', 10, 1],
  ['eibrs', 'msr', 0x10a, -1, '', 1, 1],
  ['eist', 'cpuid', 0x1, -1, 'ecx', 7, 1],
  ['energy-filtering', 'msr', 0x10a, -1, '', 11, 1],
  ['enqcmd', 'cpuid', 0x7, 0, 'ecx', 29, 1],
  ['erms', 'cpuid', 0x7, 0, 'ebx', 9, 1],
  ['est', 'cpuid', 0x1, -1, 'ecx', 7, 1],
  ['extapic', 'cpuid', 0x80000001, -1, 'ecx', 3, 1],
  ['f16c', 'cpuid', 0x1, -1, 'ecx', 29, 1],
  ['family', 'cpuid', 0x1, -1, 'eax', 8, 8],
  ['fb-clear', 'msr', 0x10a, -1, '', 17, 1],
  ['fb-clear-ctrl', 'msr', 0x10a, -1, '', 18, 1],
  ['fbsdp-no', 'msr', 0x10a, -1, '', 14, 1],
  ['fdp-excp-only', 'cpuid', 0x7, 0, 'ebx', 6, 1],
  ['ffxsr', 'cpuid', 0x80000001, -1, 'edx', 25, 1],
  ['fma', 'cpuid', 0x1, -1, 'ecx', 12, 1],
  ['fma4', 'cpuid', 0x80000001, -1, 'ecx', 16, 1],
  ['fpu', 'cpuid', 0x1, -1, 'edx', 0, 1],
  ['fsgsbase', 'cpuid', 0x7, 0, 'ebx', 0, 1],
  ['fsrcs', 'cpuid', 0x7, 1, 'eax', 12, 1],
  ['fsrm', 'cpuid', 0x7, 0, 'edx', 4, 1],
  ['fsrs', 'cpuid', 0x7, 1, 'eax', 11, 1],
  ['fxsr', 'cpuid', 0x1, -1, 'edx', 24, 1],
  ['fzrm', 'cpuid', 0x7, 1, 'eax', 10, 1],
  ['gds-ctrl', 'msr', 0x10a, -1, '', 25, 1],
  ['gds-no', 'msr', 0x10a, -1, '', 26, 1],
  ['gfni', 'cpuid', 0x7, 0, 'ecx', 8, 1],
  ['hle', 'cpuid', 0x7, 0, 'ebx', 4, 1],
  ['htt', 'cpuid', 0x1, -1, 'edx', 28, 1],
  ['hw-pstate', 'cpuid', 0x80000007, -1, 'edx', 7, 1],
  ['hybrid', 'cpuid', 0x7, 0, 'edx', 15, 1],
  ['hypervisor', 'cpuid', 0x1, -1, 'ecx', 31, 1],
  ['ia64', 'cpuid', 0x1, -1, 'edx', 30, 1],
  ['ibpb', 'cpuid', 0x80000008, -1, 'ebx', 12, 1],
  ['ibpb-brtype', 'cpuid', 0x80000021, -1, 'eax', 28, 1],
  ['ibpb-ret', 'cpuid', 0x80000008, -1, 'ebx', 30, 1],
  ['ibrs', 'cpuid', 0x80000008, -1, 'ebx', 14, 1],
  ['ibrs-always', 'cpuid', 0x80000008, -1, 'ebx', 16, 1],
  ['ibrs-fast', 'cpuid', 0x80000008, -1, 'ebx', 18, 1],
  ['ibrs-same-mode', 'cpuid', 0x80000008, -1, 'ebx', 19, 1],
  ['ibrsb', 'cpuid', 0x7, 0, 'edx', 26, 1],
  ['ibs', 'cpuid', 0x80000001, -1, 'ecx', 10, 1],
  ['if-pschange-mc-no', 'msr', 0x10a, -1, '', 6, 1],
  ['intel-ppin', 'cpuid', 0x7, 1, 'ebx', 0, 1],
  ['intel-psfd', 'cpuid', 0x7, 2, 'edx', 0, 1],
  ['intel-ssb-no', 'msr', 0x10a, -1, '', 4, 1],
  ['invpcid', 'cpuid', 0x7, 0, 'ebx', 10, 1],
  ['invtsc', 'cpuid', 0x80000007, -1, 'edx', 8, 1],
  ['ipred-ctrl', 'cpuid', 0x7, 2, 'edx', 1, 1],
  ['its-no', 'msr', 0x10a, -1, '', 62, 1],
  ['itsc', 'cpuid', 0x80000007, -1, 'edx', 8, 1],
  ['l1d-flush', 'cpuid', 0x7, 0, 'edx', 28, 1],
  ['lahf-lm', 'cpuid', 0x80000001, -1, 'ecx', 0, 1],
  ['lahfsahf', 'cpuid', 0x80000001, -1, 'ecx', 0, 1],
  ['lfence+', 'cpuid', 0x80000021, -1, 'eax', 2, 1],
  ['lfence-dispatch', 'cpuid', 0x80000021, -1, 'eax', 2, 1],
  ['lm', 'cpuid', 0x80000001, -1, 'edx', 29, 1],
  ['localapicid', 'cpuid', 0x1, -1, 'ebx', 24, 8],
  ['lwp', 'cpuid', 0x80000001, -1, 'ecx', 15, 1],
  ['maxhvleaf', 'cpuid', 0x40000000, -1, 'eax', 0, 8],
  ['maxleaf', 'cpuid', 0x0, -1, 'eax', 0, 32],
  ['mca', 'cpuid', 0x1, -1, 'edx', 14, 1],
  ['mcdt-no', 'cpuid', 0x7, 2, 'edx', 5, 1],
  ['mce', 'cpuid', 0x1, -1, 'edx', 7, 1],
  ['mcu-ctrl', 'msr', 0x10a, -1, '', 9, 1],
  ['md-clear', 'cpuid', 0x7, 0, 'edx', 10, 1],
  ['mds-no', 'msr', 0x10a, -1, '', 5, 1],
  ['misalignsse', 'cpuid', 0x80000001, -1, 'ecx', 7, 1],
  ['misc-pkg-ctrl', 'msr', 0x10a, -1, '', 10, 1],
  ['mmx', 'cpuid', 0x1, -1, 'edx', 23, 1],
  ['mmxext', 'cpuid', 0x80000001, -1, 'edx', 22, 1],
  ['model', 'cpuid', 0x1, -1, 'eax', 4, 8],
  ['monitor', 'cpuid', 0x1, -1, 'ecx', 3, 1],
  ['monitorx', 'cpuid', 0x80000001, -1, 'ecx', 29, 1],
  ['movbe', 'cpuid', 0x1, -1, 'ecx', 22, 1],
  ['movdir64b', 'cpuid', 0x7, 0, 'ecx', 28, 1],
  ['movdiri', 'cpuid', 0x7, 0, 'ecx', 27, 1],
  ['mpx', 'cpuid', 0x7, 0, 'ebx', 14, 1],
  ['msr', 'cpuid', 0x1, -1, 'edx', 5, 1],
  ['mtrr', 'cpuid', 0x1, -1, 'edx', 12, 1],
  ['nc', 'cpuid', 0x80000008, -1, 'ecx', 0, 8],
  ['no-fpu-sel', 'cpuid', 0x7, 0, 'ebx', 13, 1],
  ['no-lmsl', 'cpuid', 0x80000008, -1, 'ebx', 20, 1],
  ['nodeid', 'cpuid', 0x80000001, -1, 'ecx', 19, 1],
  ['nodeid-msr', 'cpuid', 0x80000001, -1, 'ecx', 19, 1],
  ['nscb', 'cpuid', 0x80000021, -1, 'eax', 6, 1],
  ['nx', 'cpuid', 0x80000001, -1, 'edx', 20, 1],
  ['ospke', 'cpuid', 0x7, 0, 'ecx', 4, 1],
  ['osvw', 'cpuid', 0x80000001, -1, 'ecx', 9, 1],
  ['osxsave', 'cpuid', 0x1, -1, 'ecx', 27, 1],
  ['ovrclk-status', 'msr', 0x10a, -1, '', 23, 1],
  ['pae', 'cpuid', 0x1, -1, 'edx', 6, 1],
  ['page1gb', 'cpuid', 0x80000001, -1, 'edx', 26, 1],
  ['pat', 'cpuid', 0x1, -1, 'edx', 16, 1],
  ['pbe', 'cpuid', 0x1, -1, 'edx', 31, 1],
  ['pbrsb-no', 'msr', 0x10a, -1, '', 24, 1],
  ['pcid', 'cpuid', 0x1, -1, 'ecx', 17, 1],
  ['pclmulqdq', 'cpuid', 0x1, -1, 'ecx', 1, 1],
  ['pdcm', 'cpuid', 0x1, -1, 'ecx', 15, 1],
  ['perfctr_core', 'cpuid', 0x80000001, -1, 'ecx', 23, 1],
  ['perfctr_nb', 'cpuid', 0x80000001, -1, 'ecx', 24, 1],
  ['pge', 'cpuid', 0x1, -1, 'edx', 13, 1],
  ['pku', 'cpuid', 0x7, 0, 'ecx', 3, 1],
  ['popcnt', 'cpuid', 0x1, -1, 'ecx', 23, 1],
  ['ppin', 'cpuid', 0x80000008, -1, 'ebx', 23, 1],
  ['pqe', 'cpuid', 0x7, 0, 'ebx', 15, 1],
  ['pqm', 'cpuid', 0x7, 0, 'ebx', 12, 1],
  ['prefetchwt1', 'cpuid', 0x7, 0, 'ecx', 0, 1],
  ['proc-trace', 'cpuid', 0x7, 0, 'ebx', 25, 1],
  ['proccount', 'cpuid', 0x1, -1, 'ebx', 16, 8],
  ['procpkg', 'cpuid', 0x4, 0, 'eax', 26, 6],
  ['psdp-no', 'msr', 0x10a, -1, '', 15, 1],
  ['pse', 'cpuid', 0x1, -1, 'edx', 3, 1],
  ['pse36', 'cpuid', 0x1, -1, 'edx', 17, 1],
  ['psfd', 'cpuid', 0x80000008, -1, 'ebx', 28, 1],
  ['psn', 'cpuid', 0x1, -1, 'edx', 18, 1],
  ['rdcl-no', 'msr', 0x10a, -1, '', 0, 1],
  ['rdpid', 'cpuid', 0x7, 0, 'ecx', 22, 1],
  ['rdrand', 'cpuid', 0x1, -1, 'ecx', 30, 1],
  ['rdseed', 'cpuid', 0x7, 0, 'ebx', 18, 1],
  ['rdtscp', 'cpuid', 0x80000001, -1, 'edx', 27, 1],
  ['rfds-clear', 'msr', 0x10a, -1, '', 28, 1],
  ['rfds-no', 'msr', 0x10a, -1, '', 27, 1],
  ['rrsba', 'msr', 0x10a, -1, '', 19, 1],
  ['rrsba-ctrl', 'cpuid', 0x7, 2, 'edx', 2, 1],
  ['rsba', 'msr', 0x10a, -1, '', 2, 1],
  ['rstr-fp-err-ptrs', 'cpuid', 0x80000008, -1, 'ebx', 2, 1],
  ['rtm', 'cpuid', 0x7, 0, 'ebx', 11, 1],
  ['rtm-always-abort', 'cpuid', 0x7, 0, 'edx', 11, 1],
  ['sbdr-ssdp-no', 'msr', 0x10a, -1, '', 13, 1],
  ['sbpb', 'cpuid', 0x80000021, -1, 'eax', 27, 1],
  ['sep', 'cpuid', 0x1, -1, 'edx', 11, 1],
  ['serialize', 'cpuid', 0x7, 0, 'edx', 14, 1],
  ['sha', 'cpuid', 0x7, 0, 'ebx', 29, 1],
  ['skinit', 'cpuid', 0x80000001, -1, 'ecx', 12, 1],
  ['skip-l1dfl', 'msr', 0x10a, -1, '', 3, 1],
  ['smap', 'cpuid', 0x7, 0, 'ebx', 20, 1],
  ['smep', 'cpuid', 0x7, 0, 'ebx', 7, 1],
  ['smx', 'cpuid', 0x1, -1, 'ecx', 6, 1],
  ['srbds-ctrl', 'cpuid', 0x7, 0, 'edx', 9, 1],
  ['srso-msr-fix', 'cpuid', 0x80000021, -1, 'eax', 31, 1],
  ['srso-no', 'cpuid', 0x80000021, -1, 'eax', 29, 1],
  ['srso-us-no', 'cpuid', 0x80000021, -1, 'eax', 30, 1],
  ['ss', 'cpuid', 0x1, -1, 'edx', 27, 1],
  ['ssb-no', 'cpuid', 0x80000008, -1, 'ebx', 26, 1],
  ['ssbd', 'cpuid', 0x7, 0, 'edx', 31, 1],
  ['sse', 'cpuid', 0x1, -1, 'edx', 25, 1],
  ['sse2', 'cpuid', 0x1, -1, 'edx', 26, 1],
  ['sse3', 'cpuid', 0x1, -1, 'ecx', 0, 1],
  ['sse4-1', 'cpuid', 0x1, -1, 'ecx', 19, 1],
  ['sse4-2', 'cpuid', 0x1, -1, 'ecx', 20, 1],
  ['sse4.1', 'cpuid', 0x1, -1, 'ecx', 19, 1],
  ['sse4.2', 'cpuid', 0x1, -1, 'ecx', 20, 1],
  ['sse4_1', 'cpuid', 0x1, -1, 'ecx', 19, 1],
  ['sse4_2', 'cpuid', 0x1, -1, 'ecx', 20, 1],
  ['sse4a', 'cpuid', 0x80000001, -1, 'ecx', 6, 1],
  ['ssse3', 'cpuid', 0x1, -1, 'ecx', 9, 1],
  ['stepping', 'cpuid', 0x1, -1, 'eax', 0, 4],
  ['stibp', 'cpuid', 0x7, 0, 'edx', 27, 1],
  ['stibp-always', 'cpuid', 0x80000008, -1, 'ebx', 17, 1],
  ['svm', 'cpuid', 0x80000001, -1, 'ecx', 2, 1],
  ['svm_decode', 'cpuid', 0x8000000a, -1, 'edx', 7, 1],
  ['svm_lbrv', 'cpuid', 0x8000000a, -1, 'edx', 1, 1],
  ['svm_npt', 'cpuid', 0x8000000a, -1, 'edx', 0, 1],
  ['svm_nrips', 'cpuid', 0x8000000a, -1, 'edx', 3, 1],
  ['svm_pausefilt', 'cpuid', 0x8000000a, -1, 'edx', 10, 1],
  ['svm_tscrate', 'cpuid', 0x8000000a, -1, 'edx', 4, 1],
  ['svm_vmcbclean', 'cpuid', 0x8000000a, -1, 'edx', 5, 1],
  ['syscall', 'cpuid', 0x80000001, -1, 'edx', 11, 1],
  ['sysenter', 'cpuid', 0x1, -1, 'edx', 11, 1],
  ['taa-no', 'msr', 0x10a, -1, '', 8, 1],
  ['tbm', 'cpuid', 0x80000001, -1, 'ecx', 21, 1],
  ['tm', 'cpuid', 0x1, -1, 'edx', 29, 1],
  ['tm2', 'cpuid', 0x1, -1, 'ecx', 8, 1],
  ['topoext', 'cpuid', 0x80000001, -1, 'ecx', 22, 1],
  ['tsa-l1-no', 'cpuid', 0x80000021, -1, 'ecx', 2, 1],
  ['tsa-sq-no', 'cpuid', 0x80000021, -1, 'ecx', 1, 1],
  ['tsc', 'cpuid', 0x1, -1, 'edx', 4, 1],
  ['tsc-adjust', 'cpuid', 0x7, 0, 'ebx', 1, 1],
  ['tsc-deadline', 'cpuid', 0x1, -1, 'ecx', 24, 1],
  ['tsc_adjust', 'cpuid', 0x7, 0, 'ebx', 1, 1],
  ['tsx-ctrl', 'msr', 0x10a, -1, '', 7, 1],
  ['tsx-force-abort', 'cpuid', 0x7, 0, 'edx', 13, 1],
  ['tsxldtrk', 'cpuid', 0x7, 0, 'edx', 16, 1],
  ['umip', 'cpuid', 0x7, 0, 'ecx', 2, 1],
  ['vaes', 'cpuid', 0x7, 0, 'ecx', 9, 1],
  ['verw-clear', 'cpuid', 0x80000021, -1, 'eax', 5, 1],
  ['virt-ssbd', 'cpuid', 0x80000008, -1, 'ebx', 25, 1],
  ['vme', 'cpuid', 0x1, -1, 'edx', 1, 1],
  ['vmx', 'cpuid', 0x1, -1, 'ecx', 5, 1],
  ['vpclmulqdq', 'cpuid', 0x7, 0, 'ecx', 10, 1],
  ['wbnoinvd', 'cpuid', 0x80000008, -1, 'ebx', 9, 1],
  ['wdt', 'cpuid', 0x80000001, -1, 'ecx', 13, 1],
  ['x2apic', 'cpuid', 0x1, -1, 'ecx', 21, 1],
  ['xapic-status', 'msr', 0x10a, -1, '', 21, 1],
  ['xgetbv1', 'cpuid', 0xd, 1, 'eax', 2, 1],
  ['xop', 'cpuid', 0x80000001, -1, 'ecx', 11, 1],
  ['xsave', 'cpuid', 0x1, -1, 'ecx', 26, 1],
  ['xsavec', 'cpuid', 0xd, 1, 'eax', 1, 1],
  ['xsaveopt', 'cpuid', 0xd, 1, 'eax', 0, 1],
  ['xsaves', 'cpuid', 0xd, 1, 'eax', 3, 1],
  ['xtpr', 'cpuid', 0x1, -1, 'ecx', 14, 1],
];

const FLAG_BY_NAME = new Map(FLAGS.map((f) => [f.at(0) as string, f]));

function leafEntry(p: CpuidPolicy, leaf: number, subleaf: number | undefined): CpuidLeafPolicy {
  let e = p.cpuid.find((x) => x.leaf === leaf && x.subleaf === subleaf);
  if (e === undefined) {
    e = { leaf, ...(subleaf === undefined ? {} : { subleaf }), regs: {} };
    p.cpuid.push(e);
  }
  return e;
}

/** C `strtoull(s, &end, 0)`: the value and whether any digit was read. */
function strtoull0(s: string): { value: bigint; ok: boolean } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (m === null) return { value: 0n, ok: false };
  const d = m[2] as string;
  let v = d.length > 1 && (d[1] === 'x' || d[1] === 'X') ? BigInt(d) : d.length > 1 && d[0] === '0' ? BigInt(`0o${d.slice(1)}`) : BigInt(d);
  if (m[1] === '-') v = BigInt.asUintN(64, -v);
  return { value: v, ok: true };
}

function splice(s: string, at: number, part: string): string {
  return s.slice(0, at) + part + s.slice(at + part.length);
}

/**
 * One `flag=value` of the string form into `p`. Returns libxl's error number: 0 ok, 1 no `=`,
 * 2 unknown flag, 3 bad value (the leaf or MSR entry exists by then, as in libxl).
 */
export function parseCpuidFlag(p: CpuidPolicy, item: string): 0 | 1 | 2 | 3 {
  const eq = item.indexOf('=');
  if (eq < 0) return 1;
  const flag = FLAG_BY_NAME.get(item.slice(0, eq));
  if (flag === undefined) return 2;
  const [name, kind, where, subleaf, reg, bit, length] = flag;
  const val = item.slice(eq + 1);
  if (kind === 'msr') {
    let m = p.msr.find((x) => x.index === where);
    if (m === undefined) {
      m = { index: where, policy: 'x'.repeat(64) };
      p.msr.push(m);
    }
    if (val.length !== 1 || !'01xks'.includes(val)) return 3;
    m.policy = splice(m.policy, 63 - bit, val === 's' ? 'k' : val);
    return 0;
  }
  const e = leafEntry(p, where, subleaf < 0 ? undefined : subleaf);
  const num = strtoull0(val);
  let flags: string;
  if (num.ok) {
    flags = '';
    for (let i = length - 1; i >= 0; i--) flags += (num.value >> BigInt(i)) & 1n ? '1' : '0';
  } else if (val[0] === 'x' || val[0] === 'k' || val[0] === 's') {
    flags = val[0].repeat(length);
  } else return 3;
  const r = reg as Reg;
  let s = e.regs[r] ?? 'x'.repeat(32);
  if (name === 'family') {
    // Base family in bits 8-11; 15 there means "add the extended family" (bits 20-27).
    if (num.value < 16n) {
      s = splice(s, 32 - 4 - bit, flags.slice(4, 8));
      s = splice(s, 32 - 8 - 20, '00000000');
    } else {
      let n = num.value - 15n;
      s = splice(s, 32 - 4 - bit, '1111');
      const ext = flags.split('');
      for (let i = 0; i < 7; i++) {
        ext[7 - i] = n & 1n ? '1' : '0';
        n >>= 1n;
      }
      s = splice(s, 32 - 8 - 20, ext.join(''));
    }
  } else if (name === 'model') {
    // The model's high nibble is the extended model (bits 16-19).
    s = splice(s, 32 - 4 - 16, flags.slice(0, 4));
    s = splice(s, 32 - 4 - bit, flags.slice(4, 8));
  } else {
    s = splice(s, 32 - length - bit, flags);
  }
  e.regs[r] = s;
  return 0;
}

/**
 * One xend-style line `leaf[,subleaf]:eXx=<32 chars>[,eXx=...]` into `p`. Returns libxl's error
 * number: 0 ok, 1 bad leaf, 2 bad subleaf, 3 no colon, 4 bad register, 5 not 32 characters.
 */
export function parseCpuidXend(p: CpuidPolicy, line: string): 0 | 1 | 2 | 3 | 4 | 5 {
  const num = (s: string): { value: number; end: number } | undefined => {
    const m = /^[ \t\n\v\f\r]*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
    return m === null ? undefined : { value: Number(BigInt.asUintN(32, strtoull0(m[0]).value)), end: m[0].length };
  };
  const l = num(line);
  if (l === undefined) return 1;
  let rest = line.slice(l.end);
  let subleaf: number | undefined;
  if (rest.startsWith(',')) {
    const s = num(rest.slice(1));
    if (s === undefined) return 2;
    subleaf = s.value;
    rest = rest.slice(1 + s.end);
  }
  if (!rest.startsWith(':')) return 3;
  const e = leafEntry(p, l.value, subleaf);
  let str = rest.slice(1);
  while (str !== '') {
    const r = CPUID_REGS[str.charCodeAt(1) - 'a'.charCodeAt(0)];
    const eq = str.indexOf('=');
    if (str[0] !== 'e' || str[2] !== 'x' || r === undefined || eq < 0) return 4;
    str = str.slice(eq + 1);
    const comma = str.indexOf(',');
    const value = comma < 0 ? str : str.slice(0, comma);
    if (value.length !== 32) return 5;
    e.regs[r] = value;
    if (comma < 0) break;
    str = str.slice(comma + 1).replace(/^[ \n]+/, '');
  }
  return 0;
}

/** libxl's JSON of a policy list: `{"cpuid": [{leaf, subleaf?, eax?..edx?}], "msr": [{index, policy}]}`. */
export function cpuidToJson(p: CpuidPolicy): LibxlJsonObject {
  return {
    cpuid: p.cpuid.map((e) => ({
      leaf: e.leaf,
      ...(e.subleaf === undefined ? {} : { subleaf: e.subleaf }),
      ...Object.fromEntries(CPUID_REGS.filter((r) => e.regs[r] !== undefined).map((r) => [r, e.regs[r] as string])),
    })),
    msr: p.msr.map((m) => ({ index: m.index, policy: m.policy })),
  };
}

/**
 * The policy list libxl JSON `v` (at `path`) describes, as `cpuidToJson` writes it: each leaf with
 * a uint32 `leaf`, an optional `subleaf` and registers of 32 characters, each MSR with a uint32
 * `index` and a policy of 64. Anything else goes to `fail`.
 */
export function cpuidFromJson(v: unknown, path: string, fail: JsonFail): CpuidPolicy {
  const object = (x: unknown, p: string, keys: readonly string[]): Record<string, unknown> => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return fail(p, `expected an object, got ${JSON.stringify(x)}`);
    const extra = Object.keys(x).find((k) => !keys.includes(k));
    return extra === undefined ? x as Record<string, unknown> : fail(`${p}.${extra}`, 'no such field');
  };
  const list = (x: unknown, p: string): unknown[] => (x === undefined ? [] : Array.isArray(x) ? x : fail(p, `expected an array, got ${JSON.stringify(x)}`));
  const u32 = (x: unknown, p: string): number =>
    typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff ? x : fail(p, `expected a uint32, got ${JSON.stringify(x)}`);
  const chars = (x: unknown, p: string, n: number): string =>
    typeof x === 'string' && x.length === n ? x : fail(p, `expected a string of ${n} characters, got ${JSON.stringify(x)}`);
  const o = object(v, path, ['cpuid', 'msr']);
  return {
    cpuid: list(o.cpuid, `${path}.cpuid`).map((x, i) => {
      const p = `${path}.cpuid[${i}]`;
      const e = object(x, p, ['leaf', 'subleaf', ...CPUID_REGS]);
      return {
        leaf: u32(e.leaf, `${p}.leaf`),
        ...(e.subleaf === undefined ? {} : { subleaf: u32(e.subleaf, `${p}.subleaf`) }),
        regs: Object.fromEntries(CPUID_REGS.filter((r) => e[r] !== undefined).map((r) => [r, chars(e[r], `${p}.${r}`, 32)])),
      };
    }),
    msr: list(o.msr, `${path}.msr`).map((x, i) => {
      const p = `${path}.msr[${i}]`;
      const m = object(x, p, ['index', 'policy']);
      return { index: u32(m.index, `${p}.index`), policy: chars(m.policy, `${p}.policy`, 64) };
    }),
  };
}
