/**
 * Disk specifications (`disk=[...]` items, `xl block-attach` arguments): Xen's flex scanner
 * `libxlu_disk_l.l` and `xlu_disk_parse`, rule for rule.
 *
 * Scanning follows flex: at each position every rule is tried, the longest match wins (text
 * matched by a rule's trailing context counts towards its length but is not consumed), ties go
 * to the earlier rule. Errors do not stop the scan unless the rule says so; each is printed as
 * `<source>: config parsing error in disk specification: <msg>[: near `<text>'] in `<spec>'`
 * and the parse fails after the fragment. Several fragments (block-attach's arguments) share
 * one parse state and make one disk.
 */
import type { DiskDevice } from '../domain-config/domain-config.js';
import { atoi, specError } from './c-parse.js';

type DiskFormat = NonNullable<DiskDevice['format']>;

export interface DiskParseOptions {
  /** The name Xen prints before errors: the config file, or `command line` (the default). */
  readonly source?: string;
}

const HINT = 'see xl-disk-configuration(5): [target,[format,[vdev,[access]]]] or key=value pairs, target= last';

interface Ctx {
  readonly disk: DiskDevice;
  readonly source: string;
  spec: string;
  hadDeprPrefix: boolean;
  accessSet: boolean;
  readonly errors: string[];
}

/** What a rule's action returns: `stop` ends the scan of this fragment (flex `return 0`). */
type Outcome = 'stop' | undefined;

interface Rule {
  /** The consumed part (sticky). */
  readonly head: RegExp;
  /** Trailing context (sticky), matched right after the head: counts for length only. */
  readonly trail?: RegExp;
  readonly action: (c: Ctx, text: string) => Outcome;
}

function err(c: Ctx, near: string | undefined, msg: string): void {
  c.errors.push(
    `${c.source}: config parsing error in disk specification: ${msg}${near === undefined ? '' : `: near \`${near}'`} in \`${c.spec}'`,
  );
}

function strip(text: string, delim: string): string {
  return text.endsWith(delim) ? text.slice(0, -1) : text;
}

function fromEquals(text: string): string {
  return text.slice(text.indexOf('=') + 1);
}

type StringField = 'backend_domname' | 'pdev_path' | 'vdev' | 'script' | 'colo_host' | 'colo_export' | 'active_disk' | 'hidden_disk';

/** `savestring`: a non-empty earlier value is an error; an empty one is silently replaced. */
function saveString(c: Ctx, what: string, field: StringField, value: string): void {
  const cur = c.disk[field];
  if (cur !== undefined && cur !== '') {
    err(c, value, `${what} respecified`);
    return;
  }
  c.disk[field] = value;
}

function dset<F extends 'format' | 'backend' | 'specification'>(c: Ctx, field: F, value: DiskDevice[F], str: string): void {
  const cur = c.disk[field] ?? 'unknown';
  if (cur !== 'unknown' && cur !== value) err(c, str, `${field} respecified`);
  else c.disk[field] = value;
}

function setAccess(c: Ctx, str: string): void {
  if (str === 'r' || str === 'ro') c.disk.readwrite = 0;
  else if (str === 'rw' || str === 'w' || str === '') c.disk.readwrite = 1;
  else err(c, str, 'unknown value for access');
}

const FORMATS: Readonly<Record<string, DiskFormat>> = {
  '': 'raw', raw: 'raw', qcow: 'qcow', qcow2: 'qcow2', vhd: 'vhd', empty: 'empty', qed: 'qed',
};

function setFormat(c: Ctx, str: string): void {
  const f = Object.hasOwn(FORMATS, str) ? FORMATS[str] : undefined;
  if (f === undefined) err(c, str, 'unknown value for format');
  else dset(c, 'format', f, str);
}

function setBackendType(c: Ctx, str: string): void {
  if (str === 'phy' || str === 'tap' || str === 'qdisk' || str === 'standalone') dset(c, 'backend', str, str);
  else err(c, str, 'unknown value for backendtype');
}

function setSpecification(c: Ctx, str: string): void {
  if (str === 'xen' || str === 'virtio') dset(c, 'specification', str, str);
  else err(c, str, 'unknown value for specification');
}

/** The deprecated positional `<vdev>:<devtype>`: true when the text had a colon. */
function vdevAndDevtype(c: Ctx, str: string): boolean {
  const colon = str.lastIndexOf(':');
  if (colon < 0) return false;
  saveString(c, 'vdev', 'vdev', str.slice(0, colon));
  const type = str.slice(colon + 1);
  if (type === 'cdrom') c.disk.is_cdrom = 1;
  else if (type === 'disk') c.disk.is_cdrom = 0;
  else err(c, type, 'unknown deprecated type');
  return true;
}

/** `key=[^,]*,?` rules: the value after `=`, trailing comma stripped. */
function kv(key: string, action: (c: Ctx, value: string) => void): Rule {
  return { head: new RegExp(`${key}=[^,]*,?`, 'y'), action: (c, t) => void action(c, fromEquals(strip(t, ','))) };
}

function flag(word: string, action: (c: Ctx) => void): Rule {
  return { head: new RegExp(`${word},?`, 'y'), action: (c) => void action(c) };
}

function deprecatedPrefix(c: Ctx): Outcome {
  c.hadDeprPrefix = true;
  return undefined;
}

const REST = /[^\n]*/y;

/** The scanner rules, in `libxlu_disk_l.l` order (flex `.` is any character but newline). */
const RULES: readonly Rule[] = [
  { head: /[ \t\n]+/y, trail: /(?:[^ \t\n][^\n]*)?/y, action: () => undefined },
  kv('format', setFormat),
  flag('cdrom', (c) => (c.disk.is_cdrom = 1)),
  flag('devtype=cdrom', (c) => (c.disk.is_cdrom = 1)),
  flag('devtype=disk', (c) => (c.disk.is_cdrom = 0)),
  { head: /devtype=[^,]*,?/y, action: (c, t) => void err(c, t, 'unknown value for type') },
  kv('access', setAccess),
  kv('backend', (c, v) => saveString(c, 'backend', 'backend_domname', v)),
  kv('backendtype', setBackendType),
  kv('specification', setSpecification),
  kv('vdev', (c, v) => saveString(c, 'vdev', 'vdev', v)),
  kv('script', (c, v) => saveString(c, 'script', 'script', v)),
  flag('direct-io-safe', (c) => (c.disk.direct_io_safe = true)),
  flag('discard', (c) => (c.disk.discard_enable = true)),
  flag('no-discard', (c) => (c.disk.discard_enable = false)),
  flag('colo', (c) => (c.disk.colo_enable = true)),
  flag('no-colo', (c) => (c.disk.colo_enable = false)),
  kv('colo-host', (c, v) => saveString(c, 'colo-host', 'colo_host', v)),
  kv('colo-port', (c, v) => {
    const port = atoi(v);
    if (port !== 0) c.disk.colo_port = port;
    else err(c, v, 'unknown value for colo_port');
  }),
  kv('colo-export', (c, v) => saveString(c, 'colo-export', 'colo_export', v)),
  kv('active-disk', (c, v) => saveString(c, 'active-disk', 'active_disk', v)),
  kv('hidden-disk', (c, v) => saveString(c, 'hidden-disk', 'hidden_disk', v)),
  flag('trusted', (c) => (c.disk.trusted = true)),
  flag('untrusted', (c) => (c.disk.trusted = false)),
  flag('grant_usage=1', (c) => (c.disk.grant_usage = true)),
  flag('grant_usage=0', (c) => (c.disk.grant_usage = false)),
  { head: /target=[^\n]*/y, action: (c, t) => void saveString(c, 'target', 'pdev_path', fromEquals(strip(t, ','))) },
  { head: /[a-z][-a-z0-9]*=[^,],?/y, action: (c, t) => void err(c, t, 'unknown parameter') },
  {
    head: /(?:raw|qcow2?|vhd):/y,
    trail: REST,
    action: (c, t) => {
      c.hadDeprPrefix = true;
      setFormat(c, strip(t, ':'));
      return undefined;
    },
  },
  {
    head: /(?:iscsi|e?nbd|drbd):/y,
    trail: REST,
    action: (c, t) => {
      c.hadDeprPrefix = true;
      saveString(c, 'script', 'script', `block-${strip(t, ':')}`);
      return undefined;
    },
  },
  { head: /tapdisk:/y, trail: REST, action: deprecatedPrefix },
  { head: /tap2?:/y, trail: REST, action: deprecatedPrefix },
  { head: /aio:/y, trail: REST, action: deprecatedPrefix },
  { head: /ioemu:/y, trail: REST, action: deprecatedPrefix },
  { head: /file:/y, trail: REST, action: deprecatedPrefix },
  { head: /phy:/y, trail: REST, action: deprecatedPrefix },
  {
    head: /[a-z][a-z0-9]*:/y,
    trail: /(?:[^a-z0-9\n][^\n]*)?/y,
    action: (c, t) => {
      err(c, t, 'unknown deprecated disk prefix');
      return 'stop';
    },
  },
  { head: /[^=,]*,|[^=,]+,?/y, action: positional },
];

function positional(c: Ctx, t: string): Outcome {
  const text = strip(t, ',');
  const d = c.disk;
  if (c.errors.length > 0) return undefined;
  if (d.pdev_path === undefined) {
    saveString(c, 'target', 'pdev_path', text);
  } else if (!c.hadDeprPrefix && (d.format ?? 'unknown') === 'unknown') {
    if (d.pdev_path === '' && vdevAndDevtype(c, text)) d.format = 'empty';
    else setFormat(c, text);
  } else if (d.vdev === undefined) {
    if (!vdevAndDevtype(c, text)) saveString(c, 'vdev', 'vdev', text);
  } else if (!c.accessSet) {
    c.accessSet = true;
    setAccess(c, text);
  } else {
    err(c, text, 'too many positional parameters');
    return 'stop';
  }
  return undefined;
}

function matchAt(re: RegExp, s: string, pos: number): string | undefined {
  re.lastIndex = pos;
  const m = re.exec(s);
  return m === null ? undefined : m[0];
}

/** Runs the scanner over one fragment. */
function scan(c: Ctx, spec: string): void {
  let pos = 0;
  while (pos < spec.length) {
    let best: { rule: Rule; text: string; len: number } | undefined;
    for (const rule of RULES) {
      const text = matchAt(rule.head, spec, pos);
      if (text === undefined) continue;
      const trail = rule.trail === undefined ? '' : (matchAt(rule.trail, spec, pos + text.length) ?? '');
      const len = text.length + trail.length;
      if (len > 0 && (best === undefined || len > best.len)) best = { rule, text, len };
    }
    if (best === undefined) {
      // `.` then `<LEXERR>.*`: the bad character and the rest of the line. A bad character at
      // the very end reaches end-of-input first, which flex ends silently.
      const rest = matchAt(REST, spec, pos + 1) ?? '';
      if (rest !== '') err(c, spec.slice(pos, pos + 1) + rest, 'bad disk syntax');
      return;
    }
    pos += best.text.length;
    if (best.rule.action(c, best.text) === 'stop') return;
  }
}

/**
 * `xlu_disk_parse`: parses the fragments of one disk spec. Throws ToolstackError SPEC_DISK with
 * Xen's error lines.
 */
export function parseDiskSpec(specs: readonly string[], options: DiskParseOptions = {}): DiskDevice {
  const c: Ctx = {
    // xl starts from an initialised disk, read-write.
    disk: { readwrite: 1 }, source: options.source ?? 'command line', spec: '(null)', hadDeprPrefix: false, accessSet: false, errors: [],
  };
  for (const spec of specs) {
    c.spec = spec;
    scan(c, spec);
    if (c.errors.length > 0) throw specError('SPEC_DISK', c.errors, HINT);
  }
  const d = c.disk;
  if ((d.format ?? 'unknown') === 'unknown') d.format = 'raw';
  if ((d.is_cdrom ?? 0) !== 0) {
    d.removable = 1;
    d.readwrite = 0;
    if (d.pdev_path === undefined || d.pdev_path === '') d.format = 'empty';
  }
  if (d.vdev === undefined) err(c, undefined, 'no vdev specified');
  else if (d.pdev_path === undefined && (d.removable ?? 0) === 0) err(c, undefined, 'no target specified (and device not removable)');
  if (c.errors.length > 0) throw specError('SPEC_DISK', c.errors, HINT);
  return d;
}
