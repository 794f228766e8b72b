/**
 * What the installed QEMU offers, for the argv builder: version, accelerators, machines, devices
 * and firmware files. Read from `-version`, `-accel help`, `-machine help` and `-device help`
 * (about 0.15 s in all), cached in `STATE_DIR/host/qemu-capabilities.json` keyed by the binary's
 * path, size and mtime.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ToolstackError } from '../common/index.js';
import { cacheKey, hostCacheFile, readHostCache, writeHostCache } from './host-cache.js';

export const DEFAULT_QEMU_BINARY = 'qemu-system-x86_64';

export interface QemuMachineType {
  readonly name: string;
  readonly description: string;
  /** The versioned machine this one stands for (`pc` → `pc-i440fx-7.2`). */
  readonly aliasOf?: string;
  readonly isDefault: boolean;
}

export interface QemuDeviceType {
  readonly name: string;
  /** The section of `-device help` (`Network devices`, `Storage devices`, ...). */
  readonly category: string;
  readonly bus?: string;
  readonly alias?: string;
  readonly description?: string;
}

export interface QemuCapabilities {
  /** Absolute path of the binary probed. */
  readonly binary: string;
  readonly version: { readonly major: number; readonly minor: number; readonly micro: number };
  /** The first line of `-version`. */
  readonly versionText: string;
  readonly accelerators: readonly string[];
  readonly machines: readonly QemuMachineType[];
  readonly devices: readonly QemuDeviceType[];
  /** Firmware images found on the host (SeaBIOS is QEMU's default; OVMF for `bios="ovmf"`). */
  readonly firmware: { readonly seabios?: string; readonly ovmfCode?: string; readonly ovmfVars?: string };
}

/** The device type `name` (its name or alias) of this QEMU, if it has one. */
export function deviceType(caps: QemuCapabilities, name: string): QemuDeviceType | undefined {
  return caps.devices.find((d) => d.name === name || d.alias === name);
}

export function hasDevice(caps: QemuCapabilities, name: string): boolean {
  return deviceType(caps, name) !== undefined;
}

export function hasMachine(caps: QemuCapabilities, name: string): boolean {
  return caps.machines.some((m) => m.name === name);
}

/** The search path when the environment has none (a daemon started with an empty environment). */
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The absolute path of `binary` (a name looked up in PATH, or a path). Code `QEMU` if absent. */
export function resolveQemuBinary(binary: string = DEFAULT_QEMU_BINARY, path = process.env['PATH'] || FALLBACK_PATH): string {
  const candidates = binary.includes('/') ? [binary] : path.split(delimiter).filter((d) => d !== '').map((d) => join(d, binary));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return realpathSync(c);
    } catch {
      // next
    }
  }
  throw new ToolstackError('QEMU', `QEMU binary '${binary}' was not found`, {
    hint: 'install it: apt-get install qemu-system-x86 (scripts/setup.sh does)',
  });
}

export interface CapabilityProbeOptions {
  readonly stateDir: string;
  readonly binary?: string;
  /** Ignore the cache and probe again. */
  readonly refresh?: boolean;
}

/** The capabilities of the QEMU binary, from the cache when the binary is unchanged. */
export async function probeCapabilities(options: CapabilityProbeOptions): Promise<QemuCapabilities> {
  const binary = resolveQemuBinary(options.binary);
  const st = statSync(binary);
  const key = cacheKey(['qemu-capabilities/1', binary, st.size, st.mtimeMs]);
  const file = hostCacheFile(options.stateDir, 'qemu-capabilities');
  if (options.refresh !== true) {
    const cached = readHostCache<QemuCapabilities>(file, key);
    if (cached !== undefined) return cached;
  }
  const [version, accel, machines, devices] = await Promise.all([
    run(binary, ['-version']),
    run(binary, ['-accel', 'help']),
    run(binary, ['-machine', 'help']),
    run(binary, ['-device', 'help']),
  ]);
  const caps: QemuCapabilities = {
    binary,
    ...parseVersion(version),
    accelerators: parseAccelHelp(accel),
    machines: parseMachineHelp(machines),
    devices: parseDeviceHelp(devices),
    firmware: findFirmware(),
  };
  writeHostCache(file, key, caps);
  return caps;
}

/** `QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)` → numbers and the line. */
export function parseVersion(text: string): Pick<QemuCapabilities, 'version' | 'versionText'> {
  const first = text.split('\n')[0]?.trim() ?? '';
  const m = /version (\d+)\.(\d+)(?:\.(\d+))?/.exec(first);
  if (m === null) throw new ToolstackError('QEMU', `Cannot read QEMU's version from '${first}'`);
  return { version: { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3] ?? 0) }, versionText: first };
}

export function parseAccelHelp(text: string): string[] {
  return text.split('\n').slice(1).map((l) => l.trim()).filter((l) => /^[a-z0-9_-]+$/.test(l));
}

/** Lines `NAME  DESCRIPTION[ (alias of X)][ (default)]` after the `Supported machines are:` line. */
export function parseMachineHelp(text: string): QemuMachineType[] {
  const out: QemuMachineType[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m === null || line.startsWith('Supported machines')) continue;
    let description = m[2] as string;
    let isDefault = false;
    let aliasOf: string | undefined;
    for (;;) {
      const d = /\s*\(default\)$/.exec(description);
      const a = /\s*\(alias of ([^)]+)\)$/.exec(description);
      if (d !== null) {
        isDefault = true;
        description = description.slice(0, d.index);
      } else if (a !== null) {
        aliasOf = a[1];
        description = description.slice(0, a.index);
      } else {
        break;
      }
    }
    out.push({ name: m[1] as string, description, isDefault, ...(aliasOf === undefined ? {} : { aliasOf }) });
  }
  return out;
}

/** Sections `Category devices:` of lines `name "N", bus B, alias "A", desc "D"`. */
export function parseDeviceHelp(text: string): QemuDeviceType[] {
  const out: QemuDeviceType[] = [];
  let category = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('name ') && line.endsWith(':')) {
      category = line.slice(0, -1);
      continue;
    }
    const name = /^name "([^"]+)"/.exec(line);
    if (name === null) continue;
    const bus = /, bus ([^,]+)/.exec(line);
    const alias = /, alias "([^"]+)"/.exec(line);
    const desc = /, desc "(.*)"$/.exec(line);
    out.push({
      name: name[1] as string,
      category,
      ...(bus === null ? {} : { bus: bus[1] as string }),
      ...(alias === null ? {} : { alias: alias[1] as string }),
      ...(desc === null ? {} : { description: desc[1] as string }),
    });
  }
  return out;
}

function findFirmware(): QemuCapabilities['firmware'] {
  const first = (paths: readonly string[]): string | undefined => paths.find((p) => existsSync(p));
  const seabios = first(['/usr/share/qemu/bios-256k.bin', '/usr/share/seabios/bios-256k.bin']);
  const ovmfCode = first(['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/ovmf/OVMF.fd']);
  const ovmfVars = first(['/usr/share/OVMF/OVMF_VARS_4M.fd', '/usr/share/OVMF/OVMF_VARS.fd']);
  return {
    ...(seabios === undefined ? {} : { seabios }),
    ...(ovmfCode === undefined ? {} : { ovmfCode }),
    ...(ovmfVars === undefined ? {} : { ovmfVars }),
  };
}

function run(binary: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 10_000, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new ToolstackError('QEMU', `'${binary} ${args.join(' ')}' failed: ${stderr.trim() || error.message}`, { cause: error }));
      } else {
        resolve(stdout);
      }
    });
  });
}
