/**
 * Which accelerator guests run with: KVM where a tiny guest run through it reaches 64-bit long
 * mode and reports back within a deadline, TCG otherwise.
 *
 * Setting (ours, in xl.conf): `accel="auto"` (default: probe), `accel="kvm"` (no probe; fails
 * with HOST_CAPABILITY when /dev/kvm cannot be opened), `accel="tcg"` (no probe). The xl.conf
 * parser passes the value in; this module does not read files other than its cache.
 *
 * The probe guest (`accel-probe-guest.S`) is a 64 KiB `-bios` image: reset vector → long mode
 * → write to isa-debug-exit, so QEMU exits with status 85. It costs ~0.1 s under working KVM.
 * A nested KVM that runs only specially built guest kernels (this project's CI machines) hangs
 * at the switch to long mode: the QEMU is killed at the deadline and the answer is TCG.
 * The result is cached in `STATE_DIR/host/accel.json`, keyed by the QEMU binary, the host
 * kernel release, /dev/kvm and the CPU, so a changed host probes again.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monotonicMs, ToolstackError } from '../common/index.js';
import { resolveQemuBinary } from './capabilities.js';
import { cacheKey, hostCacheFile, readHostCache, writeHostCache } from './host-cache.js';
import { killPid, writeFileAtomicSync } from '../host/index.js';

export type Accel = 'kvm' | 'tcg';
export type AccelSetting = 'auto' | Accel;
export const ACCEL_SETTINGS: readonly AccelSetting[] = ['auto', 'kvm', 'tcg'];

export function isAccelSetting(value: string): value is AccelSetting {
  return (ACCEL_SETTINGS as readonly string[]).includes(value);
}

export interface AccelChoice {
  readonly accel: Accel;
  /** `setting`: forced by xl.conf; `probe`: probed now; `cache`: an earlier probe on this host. */
  readonly source: 'setting' | 'probe' | 'cache';
  /** One line saying why (shown by `xl info`-like output and logs). */
  readonly reason: string;
  /** How long the probe took, when it ran. */
  readonly probeMs?: number;
}

export interface AccelOptions {
  readonly stateDir: string;
  readonly setting?: AccelSetting;
  readonly binary?: string;
  /** The probe guest must report within this long (default 1500 ms). */
  readonly deadlineMs?: number;
  /** Ignore the cache and probe again. */
  readonly refresh?: boolean;
  /** The KVM device (default /dev/kvm). */
  readonly kvmDevice?: string;
  /** Runs the probe guest (default `runAccelProbe` under KVM); tests replace it. */
  readonly probe?: (binary: string, deadlineMs: number) => Promise<AccelProbeResult>;
}

/** The accelerator for new guests on this host (see the module comment). Never hangs. */
export async function chooseAccel(options: AccelOptions): Promise<AccelChoice> {
  const setting = options.setting ?? 'auto';
  const kvmDevice = options.kvmDevice ?? '/dev/kvm';
  if (setting === 'tcg') return { accel: 'tcg', source: 'setting', reason: 'accel="tcg" in xl.conf' };
  const kvmError = kvmUnusable(kvmDevice);
  if (setting === 'kvm') {
    if (kvmError !== undefined) {
      throw new ToolstackError('HOST_CAPABILITY', `accel="kvm" is set but ${kvmError}`, {
        hint: 'set accel="auto" or accel="tcg" in xl.conf',
      });
    }
    return { accel: 'kvm', source: 'setting', reason: 'accel="kvm" in xl.conf' };
  }
  if (kvmError !== undefined) return { accel: 'tcg', source: 'probe', reason: kvmError };
  const binary = resolveQemuBinary(options.binary);
  const key = hostKey(binary, kvmDevice);
  const file = hostCacheFile(options.stateDir, 'accel');
  if (options.refresh !== true) {
    const cached = readHostCache<AccelChoice>(file, key);
    if (cached !== undefined) return { ...cached, source: 'cache' };
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const result = await (options.probe ?? ((b, ms) => runAccelProbe(b, ms, 'kvm', dirname(file))))(binary, options.deadlineMs ?? 1500);
  const choice: AccelChoice = result.ok ?
    { accel: 'kvm', source: 'probe', reason: `a test guest reached long mode under KVM in ${result.ms} ms`, probeMs: result.ms } :
    { accel: 'tcg', source: 'probe', reason: `KVM is not usable: ${result.reason}`, probeMs: result.ms };
  writeHostCache(file, key, choice);
  return choice;
}

/** Why `device` cannot be used, or undefined when it can be opened read-write. */
function kvmUnusable(device: string): string | undefined {
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (e) {
    return `${device} cannot be opened (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

function hostKey(binary: string, kvmDevice: string): string {
  const bin = statSync(binary);
  const kvm = statSync(kvmDevice);
  let cpu = '';
  try {
    const first = readFileSync('/proc/cpuinfo', 'utf8').split('\n\n')[0] ?? '';
    cpu = first.split('\n').filter((l) => /^(vendor_id|model name|flags)\s*:/.test(l)).join('\n');
  } catch {
    // no /proc/cpuinfo: the key still covers the rest
  }
  return cacheKey(['accel/1', binary, bin.size, bin.mtimeMs, release(), kvm.rdev, kvm.ino, cpu]);
}

/** The probe guest's code at offset 0 of the image (linear 0xf0000); see accel-probe-guest.S. */
const PROBE_CODE =
  'fa31c08ed88ec08ed0bc0070bf0010b90018fcf3ab66c70600100320000066c70600200330000066c7060030830000002e660f011690000f' +
  '20e06683c8200f22e066b8001000000f22d866b9800000c00f32660d000100000f300f20c0660d010000800f22c066ea6e000f000800b02a' +
  'e6f4f4ebfd8d74000000000000000000ffff0000009aaf00ffff00000092cf00170078000f00';
/** At 0xfff0, the reset vector: `ljmp $0xf000, $0`. */
const PROBE_RESET = 'ea000000f0';
/** isa-debug-exit turns the guest's write of 0x2a into QEMU's exit status (0x2a << 1) | 1. */
const PROBE_EXIT_STATUS = 85;

/** The 64 KiB probe BIOS image. */
export function accelProbeImage(): Buffer {
  const image = Buffer.alloc(0x10000, 0);
  Buffer.from(PROBE_CODE, 'hex').copy(image, 0);
  Buffer.from(PROBE_RESET, 'hex').copy(image, 0xfff0);
  image.fill(0xf4, 0xfff0 + PROBE_RESET.length / 2);
  return image;
}

export interface AccelProbeResult {
  readonly ok: boolean;
  readonly reason: string;
  readonly ms: number;
}

/**
 * Runs the probe guest under `accel` (default kvm); ok when QEMU exits with the probe's status
 * before `deadlineMs`. The deadline holds even if this process dies first: QEMU runs under
 * coreutils `timeout -s KILL` (which puts both in a new process group); should that fail too,
 * the group is killed by its id half a second after the deadline.
 */
export async function runAccelProbe(binary: string, deadlineMs: number, accel: Accel = 'kvm', workDir?: string): Promise<AccelProbeResult> {
  // With a work directory (dom0d's STATE_DIR/host) the image stays there under a fixed name, so
  // a prober killed mid-probe leaves nothing that grows; otherwise a temp dir, removed after.
  const dir = workDir ?? mkdtempSync(join(tmpdir(), 'dom0-accel-'));
  const image = join(dir, 'accel-probe.bin');
  writeFileAtomicSync(image, accelProbeImage());
  const start = monotonicMs();
  try {
    const child = spawn('timeout', [
      '-s', 'KILL', (deadlineMs / 1000).toFixed(3), binary,
      '-nodefaults', '-no-user-config', '-machine', `pc,accel=${accel}`, '-m', '16', '-display', 'none',
      '-bios', image, '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-no-reboot',
    ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let unstarted: Error | undefined;
    // Listened for first: a spawn short of file descriptors has no stderr stream, and its 'error' comes next.
    const status = new Promise<number | null | 'unstarted'>((resolve) => {
      child.once('error', (e) => {
        if (child.pid === undefined) unstarted = e;
        resolve(unstarted === undefined ? null : 'unstarted');
      });
      child.once('exit', (code) => resolve(code));
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString('utf8'); });
    const backstop = setTimeout(() => {
      if (child.pid !== undefined) killPid(-child.pid, 'SIGKILL');
    }, deadlineMs + 500);
    const ended = await status;
    clearTimeout(backstop);
    // Not a finding on the accelerator (a result is kept): the host could not run the probe.
    if (ended === 'unstarted') throw new ToolstackError('IO', `Cannot run the accelerator probe: ${unstarted?.message ?? '?'}`, { hint: 'see dom0d\'s limits (ulimit -n, ulimit -u)' });
    const ms = Math.round(monotonicMs() - start);
    if (ended === PROBE_EXIT_STATUS) return { ok: true, reason: 'the probe guest reported', ms };
    // 137: `timeout` killed QEMU (128 + SIGKILL); null: the backstop killed the group.
    if (ended === 137 || ended === null) {
      return { ok: false, reason: `a test guest did not reach long mode within ${deadlineMs} ms`, ms };
    }
    const tail = stderr.trim().split('\n').filter((l) => !/warning/i.test(l)).slice(-2).join(' | ');
    return { ok: false, reason: `QEMU exited with status ${ended}${tail === '' ? '' : `: ${tail}`}`, ms };
  } finally {
    if (workDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
