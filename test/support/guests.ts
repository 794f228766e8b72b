/**
 * The project's test guests (built by scripts/guests/build.sh from Debian packages) and a
 * console client for tests that boot them.
 *
 * Guest contract (scripts/guests/init.sh): the console is the kernel's last `console=` (hvc0 for
 * pv guests, ttyS0 for the hvm disk and ISO); `DOM0-GUEST-READY` is printed when the guest is
 * up, then the prompt `dom0-guest# `. Typed lines run as shell commands; `poweroff`, `reboot`,
 * `panic` act at once; the ACPI power button powers off (printing `DOM0-GUEST-POWEROFF`);
 * a hot-plugged CPU is onlined at once, one asked back by ACPI is ejected.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GUEST_READY_LINE = 'DOM0-GUEST-READY';
export const GUEST_PROMPT = 'dom0-guest# ';
export const GUEST_POWEROFF_LINE = 'DOM0-GUEST-POWEROFF';

export interface GuestImages {
  /** The build key (package versions + build scripts). */
  readonly key: string;
  readonly dir: string;
  /** Debian's cloud kernel (bzImage) for direct kernel boot (`kernel=`). */
  readonly vmlinuz: string;
  /** The same kernel uncompressed: an ELF QEMU boots through its PVH entry (`type="pvh"`). */
  readonly vmlinux: string;
  /** The busybox initramfs (`ramdisk=`). */
  readonly initrd: string;
  /** Raw BIOS-bootable disk (SYSLINUX); attach read-only or with a snapshot/overlay. */
  readonly disk: string;
  /** Bootable ISO (ISOLINUX, also isohybrid). */
  readonly cdrom: string;
  /** An ISO that writes `disk` over the guest's first hard disk and powers off (scripts/guests/init.sh). */
  readonly installer: string;
  /** The command line the disk and ISO boot with (serial console ttyS0). */
  readonly hvmCmdline: string;
  /** A command line for direct kernel boot (`extra=`): console hvc0, fast, panic resets. */
  readonly pvCmdline: string;
  readonly kernelRelease: string;
  readonly kernelPackage: string;
  readonly kernelPackageVersion: string;
}

/** `${DOM0_GUEST_DIR:-/var/cache/dom0/guests}`. */
export function guestCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const v = env['DOM0_GUEST_DIR'];
  return v === undefined || v === '' ? '/var/cache/dom0/guests' : v;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The guest images, building them first if needed (scripts/guests/build.sh: ~25 ms when
 * cached, under 10 s from scratch). Throws with the script's output when the build fails.
 */
export function ensureGuests(env: NodeJS.ProcessEnv = process.env): GuestImages {
  execFileSync('bash', [join(repoRoot, 'scripts', 'guests', 'build.sh'), '--quiet'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const latest = JSON.parse(readFileSync(join(guestCacheDir(env), 'latest.json'), 'utf8')) as { manifest: string };
  const m = JSON.parse(readFileSync(latest.manifest, 'utf8')) as GuestImages & { initrd: string };
  return {
    key: m.key, dir: m.dir, vmlinuz: m.vmlinuz, vmlinux: m.vmlinux, initrd: m.initrd, disk: m.disk, cdrom: m.cdrom, installer: m.installer,
    hvmCmdline: m.hvmCmdline, pvCmdline: m.pvCmdline, kernelRelease: m.kernelRelease, kernelPackage: m.kernelPackage,
    kernelPackageVersion: m.kernelPackageVersion,
  };
}

/**
 * A client of a guest console exposed as a Unix socket chardev
 * (`-chardev socket,id=..,path=P,server=on,wait=off[,logfile=..]`). Keeps every byte received.
 */
export class GuestConsole {
  #text = '';
  readonly #socket: Socket;
  readonly #waiters = new Set<() => void>();
  #ended = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#text += d.toString('utf8');
      for (const w of [...this.#waiters]) w();
    });
    socket.on('close', () => {
      this.#ended = true;
      for (const w of [...this.#waiters]) w();
    });
    socket.on('error', () => { /* close follows */ });
  }

  /** Connects, retrying while the socket is not there yet (up to `timeoutMs`). */
  static async connect(path: string, timeoutMs = 5000): Promise<GuestConsole> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect(path);
          c.once('connect', () => { c.off('error', reject); resolve(c); });
          c.once('error', reject);
        });
        return new GuestConsole(s);
      } catch (e) {
        if (Date.now() >= deadline) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Everything received so far. */
  get text(): string {
    return this.#text;
  }

  /**
   * Resolves with the text received so far once `pattern` occurs at or after `from` (an offset
   * into `text`). Rejects at the timeout, or when the console closes first, quoting the tail.
   */
  waitFor(pattern: string | RegExp, options: { timeoutMs?: number; from?: number } = {}): Promise<string> {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const found = (): boolean => {
      const rest = this.#text.slice(from);
      return typeof pattern === 'string' ? rest.includes(pattern) : pattern.test(rest);
    };
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (found()) {
          done();
          resolve(this.#text);
        } else if (this.#ended) {
          done();
          reject(new Error(`console closed before ${String(pattern)}; tail: ${JSON.stringify(this.#text.slice(-300))}`));
        }
      };
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${String(pattern)} on the console within ${timeoutMs} ms; tail: ${JSON.stringify(this.#text.slice(-300))}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * Runs `command` in the guest's shell (at its prompt); resolves with what it printed (between
   * the echoed command line and the end mark) and its exit status.
   */
  async run(command: string, timeoutMs = 60_000): Promise<{ out: string; rc: number }> {
    const from = this.#text.length;
    const mark = `END${Date.now()}`;
    this.send(`${command}; echo ${mark}=$?`);
    // The echoed command line has `=$?` after the mark; the result a number (a prompt may come first).
    const text = await this.waitFor(new RegExp(`${mark}=(\\d+)\\r?\\n`), { from, timeoutMs });
    const out = text.slice(from);
    const m = new RegExp(`${mark}=(\\d+)`).exec(out) as RegExpExecArray;
    return { out: out.slice(out.indexOf('\n') + 1, m.index), rc: Number(m[1]) };
  }

  /** Types `line` and Enter (CR, as a terminal sends it). */
  send(line: string): void {
    this.#socket.write(`${line}\r`);
  }

  close(): void {
    this.#socket.destroy();
  }
}

/**
 * The xl.cfg lines of a test guest booted directly from the test kernel and initramfs: PV with
 * its console on hvc0, or (`hvm`) HVM with COM1 as `serial="pty"` and no VNC; `memory` MiB.
 */
export function directBootConfig(guests: GuestImages, name: string, options: { readonly hvm?: boolean; readonly memory?: number } = {}): string[] {
  const common = [`name = "${name}"`, `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `memory = ${options.memory ?? 128}`];
  if (options.hvm !== true) return [...common, `cmdline = "${guests.pvCmdline}"`];
  return [...common, 'type = "hvm"', `cmdline = "${guests.pvCmdline.replace('console=hvc0', 'console=ttyS0')}"`, 'serial = "pty"', 'vnc = 0'];
}
