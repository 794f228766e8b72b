/**
 * xl's save file (`xl save`, `xl restore`; xl.h `save_file_header`): a 48-byte header — the
 * 32-byte magic, then four native-order (little-endian here) u32: byte-order mark 0x01020304,
 * mandatory flags, optional flags, optional data length — then the optional data (u32 config
 * length, the domain config as libxl JSON with its NUL), then the domain's state stream.
 *
 * dom0's stream is QEMU's migration stream, not libxl's: its files carry mandatory flag bit 31
 * (beside JSON, bit 0) so that Xen's xl refuses them ("need newer xl") instead of misreading
 * them, and dom0 refuses a Xen file (STREAMv2, bit 1) with a line saying why. Optional flag bit
 * 31 says that the config is followed by the saved machine's layout (u32 length, JSON
 * `{"pci":[{"id","slot","func"},...],"ramKiB":N}` with its NUL): its RAM and where its PCI
 * devices were, which a restore rebuilds (see `MachineLayout`). A reader that knows no optional
 * flag skips the data its length covers.
 *
 * It lives with the API, which xl loads for every command, rather than with the config code:
 * `xl restore` and `xl migrate[-receive]` need it without parsing any xl.cfg, and loading the
 * config area costs an xl ~30 ms.
 */
import { nestsDeeperThan, ToolstackError } from '../common/index.js';
import { firstNonUtf8Line } from '../host/index.js';
import type { MachineLayout, PciPlacement } from '../qemu/index.js';

export const SAVE_MAGIC = 'Xen saved domain, xl format\n \0 \r';
const BYTE_ORDER = 0x01020304;
export const SAVE_FLAG_JSON = 0x1;
export const SAVE_FLAG_STREAMV2 = 0x2;
export const SAVE_FLAG_QEMU_STREAM = 0x80000000;
export const SAVE_OPTIONAL_LAYOUT = 0x80000000;
const HEADER_BYTES = 48;
/** A PC's root bus has 32 slots of 8 functions. */
const MAX_PCI_PLACEMENTS = 256;

export interface SaveFileInfo {
  readonly mandatoryFlags: number;
  readonly optionalFlags: number;
  readonly optionalDataLen: number;
  /** The embedded config (libxl JSON, parsed: a JSON object), when the file has one. */
  readonly config: Record<string, unknown> | undefined;
  /** Where the state stream starts, bytes from the start of the file. */
  readonly streamOffset: number;
  /** The saved machine's layout, when the file has it. */
  readonly layout: MachineLayout | undefined;
}

/** `text` with its NUL, after its u32 length. */
function lengthPrefixed(text: string): Buffer {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length, 0);
  return Buffer.concat([len, body]);
}

/** The header and config of a dom0 save file for `configJson` (libxl JSON), and the machine's layout. */
export function saveFileHeader(configJson: string, layout?: MachineLayout): Buffer {
  const data = [lengthPrefixed(configJson), ...(layout === undefined ? [] : [lengthPrefixed(JSON.stringify({ pci: layout.pci, ramKiB: layout.ramKiB }))])];
  const h = Buffer.alloc(HEADER_BYTES);
  h.write(SAVE_MAGIC, 0, 'latin1');
  h.writeUInt32LE(BYTE_ORDER, 32);
  h.writeUInt32LE((SAVE_FLAG_JSON | SAVE_FLAG_QEMU_STREAM) >>> 0, 36);
  h.writeUInt32LE(layout === undefined ? 0 : SAVE_OPTIONAL_LAYOUT, 40);
  h.writeUInt32LE(data.reduce((n, b) => n + b.length, 0), 44);
  return Buffer.concat([h, ...data]);
}

/** How deep lists and objects in a save file's config may nest. */
const MAX_CONFIG_DEPTH = 32;

/** A config is a few KiB: a header that promises more than this is not a save file's. */
const MAX_SAVE_DATA_BYTES = 16 << 20;

/**
 * Checks the fixed header at the start of `head` (xl's magic, byte order and flags, with its
 * messages; SAVE_FILE when it is not one dom0 can restore) and returns the length of the data
 * (the config) that follows it, at most MAX_SAVE_DATA_BYTES: a reader of a stream can check
 * what it got before it reads that much.
 */
export function saveFileDataLength(head: Buffer, file: string): number {
  const bad = (line: string, hint: string): ToolstackError => new ToolstackError('SAVE_FILE', line, { lines: [line], hint });
  if (head.length < HEADER_BYTES || head.toString('latin1', 0, 32) !== SAVE_MAGIC) {
    throw bad('File has wrong magic number - corrupt or for a different tool?', `'${file}' is not a file xl save wrote`);
  }
  if (head.readUInt32LE(32) !== BYTE_ORDER) throw bad('File has wrong byte order', `'${file}' was saved on a host of the other byte order`);
  const mandatoryFlags = head.readUInt32LE(36);
  const optionalDataLen = head.readUInt32LE(44);
  const known = (SAVE_FLAG_JSON | SAVE_FLAG_QEMU_STREAM) >>> 0;
  // Every stream dom0 writes is flagged as QEMU's; Xen's (libxc's before 4.6, v2 since) never are.
  if ((mandatoryFlags & SAVE_FLAG_QEMU_STREAM) === 0) {
    throw bad(`Savefile '${file}' holds a Xen (libxl) domain stream`, 'dom0 restores the saves it made itself (QEMU\'s stream); restore this one on a Xen host');
  }
  if ((mandatoryFlags & ~known) !== 0) {
    throw bad(`Savefile has mandatory flag(s) 0x${((mandatoryFlags & ~known) >>> 0).toString(16)} which are not supported; need newer xl`, `'${file}' was written by a newer dom0 or another tool`);
  }
  if (optionalDataLen > MAX_SAVE_DATA_BYTES) {
    throw bad(`Savefile '${file}' is corrupt: its header promises ${optionalDataLen} bytes of config`, 'a config is a few KiB: the file was damaged, or is not a save file');
  }
  return optionalDataLen;
}

/**
 * Reads the header of save file `file` (its first bytes, `head`: at least the header and the
 * config), with xl's checks and messages; SAVE_FILE when it is not one dom0 can restore.
 */
export function readSaveFileHeader(head: Buffer, file: string): SaveFileInfo {
  const bad = (line: string, hint: string): ToolstackError => new ToolstackError('SAVE_FILE', line, { lines: [line], hint });
  const optionalDataLen = saveFileDataLength(head, file);
  const mandatoryFlags = head.readUInt32LE(36);
  const optionalFlags = head.readUInt32LE(40);
  const streamOffset = HEADER_BYTES + optionalDataLen;
  if (head.length < streamOffset) throw bad(`Savefile '${file}' is truncated`, 'its header promises more data than the file holds');
  let config: Record<string, unknown> | undefined;
  if ((mandatoryFlags & SAVE_FLAG_JSON) !== 0 && optionalDataLen >= 4) {
    const len = head.readUInt32LE(HEADER_BYTES);
    if (len > optionalDataLen - 4) throw bad(`Savefile '${file}' is corrupt: its config length ${len} exceeds its data`, 'the file was damaged after xl save wrote it');
    const bytes = head.subarray(HEADER_BYTES + 4, HEADER_BYTES + 4 + len);
    // Decoded with replacement, its bad bytes would name other files than the saved domain's.
    if (firstNonUtf8Line(bytes) !== undefined) throw bad(`Savefile '${file}' is corrupt: its config is not UTF-8`, 'xl save writes its config in UTF-8: the file was damaged, or is not a save file');
    const text = bytes.toString('utf8').replace(/\0$/, '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw bad(`Savefile '${file}' is corrupt: its config is not JSON (${e instanceof Error ? e.message : String(e)})`, 'the file was damaged after xl save wrote it');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw bad(`Savefile '${file}' is corrupt: its config is not a JSON object`, 'the file was damaged after xl save wrote it');
    }
    // libxl's config nests a few levels; a deeper one is no config (and too deep to send on).
    if (nestsDeeperThan(parsed, MAX_CONFIG_DEPTH)) {
      throw bad(`Savefile '${file}' is corrupt: its config nests deeper than ${MAX_CONFIG_DEPTH} levels`, 'the file was damaged after xl save wrote it, or is not a save file');
    }
    config = parsed as Record<string, unknown>;
  }
  let layout: MachineLayout | undefined;
  if ((optionalFlags & SAVE_OPTIONAL_LAYOUT) !== 0 && (mandatoryFlags & SAVE_FLAG_JSON) !== 0 && optionalDataLen >= 4) {
    const at = HEADER_BYTES + 4 + head.readUInt32LE(HEADER_BYTES);
    const corrupt = (why: string): ToolstackError => bad(`Savefile '${file}' is corrupt: ${why}`, 'the file was damaged after xl save wrote it');
    if (at + 4 > streamOffset) throw corrupt('its data ends before its machine\'s layout');
    const len = head.readUInt32LE(at);
    if (at + 4 + len > streamOffset) throw corrupt(`its machine's layout (${len} bytes) exceeds its data`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(head.toString('utf8', at + 4, at + 4 + len).replace(/\0$/, ''));
    } catch (e) {
      throw corrupt(`its machine's layout is not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const wrong = layoutProblem(parsed);
    if (wrong !== undefined) throw corrupt(`its machine's layout is wrong: ${wrong}`);
    layout = parsed as MachineLayout;
  }
  return { mandatoryFlags, optionalFlags, optionalDataLen, config, streamOffset, layout };
}

/** What makes `given` no `MachineLayout` (see above); undefined when it is one. */
export function layoutProblem(given: unknown): string | undefined {
  const { pci, ramKiB } = (typeof given === 'object' && given !== null ? given : {}) as Record<string, unknown>;
  if (!(typeof ramKiB === 'number' && Number.isSafeInteger(ramKiB) && ramKiB > 0)) return `ramKiB ${JSON.stringify(ramKiB)} is not a whole number of KiB above 0`;
  if (!Array.isArray(pci) || pci.length > MAX_PCI_PLACEMENTS) return `pci is not a list of at most ${MAX_PCI_PLACEMENTS} places`;
  const wrong: unknown = (pci as unknown[]).find((p) => !isPciPlacement(p));
  if (wrong !== undefined) return `${JSON.stringify(wrong)} is not a PCI device's place (a device id, a slot from 2 to 31, a function below 8)`;
  const places = pci as PciPlacement[];
  const twice = places.find((p, i) => places.findIndex((q) => q.id === p.id || (q.slot === p.slot && q.func === p.func)) !== i);
  return twice === undefined ? undefined : `${JSON.stringify(twice)} names a device or a place listed before`;
}

/** `p` is a PCI device's place: a QEMU device id, a slot of a PC's root bus and a function of it. */
function isPciPlacement(p: unknown): p is PciPlacement {
  const { id, slot, func } = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
  const whole = (n: unknown, below: number): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n < below;
  // Slots 0 and 1 are the host bridge's and the PIIX3's, which have no id.
  return typeof id === 'string' && /^[A-Za-z][\w.-]{0,127}$/.test(id) && whole(slot, 32) && (slot as number) >= 2 && whole(func, 8);
}
