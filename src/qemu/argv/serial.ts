/**
 * HVM `serial=` items, read as QEMU reads its `-serial` strings (the compat syntax of its
 * character devices) so that what dom0 checks is what QEMU does, and refused (CFG_VALUE) when
 * QEMU would read them otherwise or they reach beyond a serial port:
 * - `pty` is dom0's own (a console chardev); `null`, `none`, `vc[:WxH]` are passed on;
 * - `file:PATH`, `pipe:PATH`: the rest of the string is the path, commas and all;
 * - `/dev/...`: a host terminal (QEMU's `serial` backend opens it read-write);
 * - `unix:PATH[,OPT...]`, `tcp:|telnet:|tn3270:|websocket:HOST:PORT[,OPT...]`, `udp:...`:
 *   options split at single commas (`,,` is a comma), a bare `OPT` is `OPT=on` and `noOPT` is
 *   `OPT=off`; only the socket options below are passed on, each once (QEMU lets the last of
 *   two win), and the unix path only as the first item: `logfile=` (a file QEMU truncates),
 *   `path=`, `backend=`, `fd=`, `mux=` would make the port something else.
 * `stdio` and `mon:` are refused: QEMU runs detached.
 */
import { invalid, unsupported } from './options.js';

/** What a `serial=` item makes of the host. */
export type SerialBackend =
  | { readonly kind: 'pty' }
  | { readonly kind: 'plain' }
  /** A file QEMU creates or truncates and writes. */
  | { readonly kind: 'file'; readonly path: string }
  /** `PATH.in` and `PATH.out`, else `PATH`, opened read-write. */
  | { readonly kind: 'pipe'; readonly path: string }
  /** A host terminal device. */
  | { readonly kind: 'tty'; readonly path: string }
  /** `server`: QEMU unlinks the path and listens there; else it connects to it. */
  | { readonly kind: 'unix'; readonly path: string; readonly server: boolean }
  | { readonly kind: 'inet' };

const PLAIN = /^(null|none|vc(:\d+(C?x\d+C?)?)?)$/;
/** Items that need QEMU's stdio or an interactive monitor: QEMU runs detached. */
const DETACHED = /^(stdio|mon:)/;
const INET = /^(tcp|telnet|tn3270|websocket):([^,]*)(?:,(.*))?$/s;
const UDP = /^udp:[^,]*$/;
const BOOLEAN: Readonly<Record<string, boolean>> = { on: true, yes: true, true: true, y: true, off: false, no: false, false: false, n: false };
/** Socket options passed on, and whether each is on/off (else a number). */
const SOCKET_OPTIONS: Readonly<Record<string, 'bool' | 'number'>> = {
  server: 'bool', wait: 'bool', nodelay: 'bool', telnet: 'bool', tn3270: 'bool', websocket: 'bool', ipv4: 'bool', ipv6: 'bool',
  reconnect: 'number', to: 'number', abstract: 'bool', tight: 'bool',
};

const HINT = "e.g. serial='pty', 'tcp::4555,server,nowait', 'unix:/run/g-com1.sock,server,nowait', 'file:/var/log/g-com1.log' or '/dev/ttyS1'";

/** Splits QEMU option text at single commas; `,,` is a comma. */
function splitOptions(text: string): string[] {
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === ',' && text[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      items.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  items.push(cur);
  return items;
}

/** The socket options of `items` (see the module comment); CFG_VALUE for any other, or one given twice. */
function socketOptions(value: string, items: readonly string[]): Map<string, boolean | number> {
  const seen = new Map<string, boolean | number>();
  for (const item of items) {
    const eq = item.indexOf('=');
    let key = eq < 0 ? item : item.slice(0, eq);
    let v: boolean | number | undefined;
    if (eq < 0) {
      const negated = !Object.hasOwn(SOCKET_OPTIONS, key) && key.startsWith('no') && Object.hasOwn(SOCKET_OPTIONS, key.slice(2)) && SOCKET_OPTIONS[key.slice(2)] === 'bool';
      if (negated) key = key.slice(2);
      v = SOCKET_OPTIONS[key] === 'bool' ? !negated : undefined;
    } else {
      const text = item.slice(eq + 1);
      v = SOCKET_OPTIONS[key] === 'bool' ? (Object.hasOwn(BOOLEAN, text) ? BOOLEAN[text] : undefined) : SOCKET_OPTIONS[key] === 'number' && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
    }
    if (!Object.hasOwn(SOCKET_OPTIONS, key)) throw invalid('serial', value, `option '${key}' is not passed on to QEMU (only its socket options are)`, HINT);
    if (v === undefined) throw invalid('serial', value, `option '${key}' takes ${SOCKET_OPTIONS[key] === 'bool' ? 'on or off' : 'a number'}`, HINT);
    if (seen.has(key)) throw invalid('serial', value, `option '${key}' is given twice`, HINT);
    seen.set(key, v);
  }
  return seen;
}

/**
 * `value` (a `serial=` item; CFG_VALUE for what dom0 does not pass on) with its file, FIFO or
 * socket path as `paths` maps it (QEMU's name of it), its options kept.
 */
export function withSerialPath(value: string, paths: ReadonlyMap<string, string> | undefined): string {
  const b = parseSerial(value);
  const to = 'path' in b ? paths?.get(b.path) : undefined;
  if (to === undefined) return value;
  if (b.kind === 'tty') return to;
  if (b.kind !== 'unix') return `${value.slice(0, 5)}${to}`;
  // Its options after the path's first unescaped comma (a comma in a path is doubled).
  const rest = /^(?:[^,]|,,)*(.*)$/s.exec(value.slice(5))?.[1] ?? '';
  return `unix:${to.replaceAll(',', ',,')}${rest}`;
}

/** One `serial=` item as QEMU reads it (see the module comment); CFG_VALUE for what dom0 does not pass on. */
export function parseSerial(value: string): SerialBackend {
  if (value === 'pty') return { kind: 'pty' };
  if (DETACHED.test(value)) throw unsupported('serial', value, 'QEMU runs detached, without a terminal', "use serial='pty' and xl console");
  if (PLAIN.test(value)) return { kind: 'plain' };
  if (value.startsWith('file:') || value.startsWith('pipe:')) {
    const path = value.slice(5);
    if (path === '') throw invalid('serial', value, 'no path', HINT);
    return { kind: value.startsWith('file:') ? 'file' : 'pipe', path };
  }
  if (value.startsWith('/dev/')) {
    if (value.includes(',')) throw invalid('serial', value, 'a host terminal takes no options', HINT);
    return { kind: 'tty', path: value };
  }
  if (value.startsWith('unix:')) {
    const [path = '', ...rest] = splitOptions(value.slice(5));
    if (path === '' || path.includes('=')) throw invalid('serial', value, 'the socket path comes first (unix:PATH[,server,nowait])', HINT);
    const o = socketOptions(value, rest);
    return { kind: 'unix', path, server: o.get('server') === true };
  }
  const inet = INET.exec(value);
  if (inet !== null) {
    socketOptions(value, inet[3] === undefined ? [] : splitOptions(inet[3]));
    return { kind: 'inet' };
  }
  if (UDP.test(value)) return { kind: 'inet' };
  throw invalid('serial', value, 'not a serial port dom0 passes on to QEMU', HINT);
}

/**
 * The path by which QEMU reaches the descriptor it inherited as `fd`, through an fd set of the
 * same number (`-add-fd fd=N,set=N`): QEMU dups it where it would open a path (a host terminal,
 * which QEMU opening it itself would take as its controlling terminal).
 */
export function fdSetPath(fd: number): string {
  return `/dev/fdset/${fd}`;
}

/** The fd set `path` names (see `fdSetPath`); undefined for any other path. */
export function fdSetOf(path: string): number | undefined {
  const m = /^\/dev\/fdset\/(\d+)$/.exec(path);
  return m === null ? undefined : Number(m[1]);
}
