/**
 * Files dom0 persists and the directories it keeps them in: atomic replacement, errno failures
 * turned into user-level errors naming the file, and private directories checked before use.
 */
import { isUtf8 } from 'node:buffer';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { errnoMessage, isErrno, terminalSafe, ToolstackError } from '../common/index.js';

let seq = 0;

export interface AtomicWriteOptions {
  /**
   * Sync the data and the directory entry before resolving, so the new content survives a crash
   * of the machine (default: it survives a crash of the process only).
   */
  readonly durable?: boolean;
}

/**
 * Replaces `path` with `data` atomically: readers see the old or the new content, never a torn
 * file, even if this process is killed mid-write (temp file in the same directory, every byte
 * checked written, then rename). The file is created 0600. Fails with a `fileError` (NO_SPACE on a
 * full file system), leaving the old content and no temp file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.${++seq}.tmp`;
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        off += bytesWritten;
      }
      if (options.durable === true) await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    if (options.durable === true) syncDir(dirname(path));
  } catch (e: unknown) {
    await unlink(tmp).catch(() => undefined);
    throw fileError('Writing', path, e);
  }
}

/** `writeFileAtomic`, synchronously (for start-up and probe caches). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = `${path}.${process.pid}.${++seq}.tmp`;
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      let off = 0;
      while (off < buf.length) {
        const n = writeSync(fd, buf, off, buf.length - off);
        if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        off += n;
      }
      if (options.durable === true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    if (options.durable === true) syncDir(dirname(path));
  } catch (e: unknown) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw fileError('Writing', path, e);
  }
}

/** The end of a file (`readFileTail`): `size` is the whole file's, `truncated` when `text` is not all of it. */
export interface FileTail {
  readonly size: number;
  readonly text: string;
  readonly truncated: boolean;
}

/**
 * The last `maxBytes` of the file at `path` (a log), as UTF-8. When the file is longer, the text
 * starts after the first newline in those bytes, so it begins with a whole line. Undefined when
 * there is no such file; another failure is a `fileError`.
 */
export async function readFileTail(path: string, maxBytes: number): Promise<FileTail | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e: unknown) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw fileError('Reading', path, e);
  }
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    const text = buf.toString('utf8', 0, bytesRead);
    const cut = start === 0 ? -1 : text.indexOf('\n');
    return { size, text: cut < 0 ? text : text.slice(cut + 1), truncated: start > 0 };
  } catch (e: unknown) {
    throw fileError('Reading', path, e);
  } finally {
    await fh.close();
  }
}

/**
 * The bytes of a file a user names (a config, a certificate), read as libxl reads a config: a
 * plain file only (anything else fails with ENOTTY, and is never waited on: a FIFO is opened
 * without blocking, a device is not read without end), at most `maxBytes` (EFBIG), the size it
 * had when opened. Throws the errno error.
 */
export function readPlainFileSync(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a plain file`), { code: 'ENOTTY', path });
    if (st.size > maxBytes) throw Object.assign(new Error(`${path} is too large`), { code: 'EFBIG', path });
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** fsync of directory `dir`: the names it holds (a rename into it) are on disk. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Frees the disk blocks of the first `length` bytes of `path` (rounded down to whole 4 KiB
 * blocks) without changing its size or any other byte: they read back as zeros. For a file
 * another process appends to, whose start has been consumed. Linux has the call (fallocate's
 * PUNCH_HOLE) and Node does not, so util-linux's `fallocate` makes it. Fails with the tool's
 * message (code EOPNOTSUPP when the file system cannot punch holes, ENOENT when there is no file).
 */
export function punchHole(path: string, length: number): Promise<void> {
  return fallocateFront('--punch-hole', path, length);
}

/**
 * Removes the first `length` bytes of `path` (rounded down to whole 4 KiB blocks): what follows
 * moves to the start, and a process appending to the file (O_APPEND) goes on at its new end. The
 * kernel does it in place and atomically (fallocate's COLLAPSE_RANGE, through util-linux's
 * `fallocate`); ext4 and XFS have it, tmpfs and others fail with EOPNOTSUPP.
 */
function collapseFront(path: string, length: number): Promise<void> {
  return fallocateFront('--collapse-range', path, length);
}

/** Keeps the log at `file` as `file.1` (replacing that), before a new one is written there. */
export function rotateLog(file: string): void {
  try {
    renameSync(file, `${file}.1`);
  } catch {
    // no previous log
  }
}

/** Default bound of `boundAppendedLog`. */
const LOG_MAX_BYTES = 16 << 20;
const LOG_KEEP_BYTES = 1 << 20;

/**
 * Holds a log that another process appends to (O_APPEND) for as long as it runs — a QEMU's
 * output, dom0d's own — to `max` bytes on disk: past that, all but its last MiB goes (collapsed
 * away where the file system can, so the file starts with what followed; else its blocks freed,
 * reading as zeros). A missing file is nothing to do.
 */
export async function boundAppendedLog(file: string, max = LOG_MAX_BYTES): Promise<void> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.blocks * 512 <= max) return; // on disk: a file whose start was freed keeps its length
    size = st.size;
  } catch {
    return;
  }
  const drop = size - Math.min(LOG_KEEP_BYTES, max);
  try {
    await collapseFront(file, drop);
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EOPNOTSUPP') throw e;
    await punchHole(file, drop);
  }
}

function fallocateFront(mode: '--punch-hole' | '--collapse-range', path: string, length: number): Promise<void> {
  const blocks = Math.floor(length / 4096) * 4096;
  if (blocks <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    execFile('fallocate', [mode, '--offset', '0', '--length', String(blocks), '--', path], { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolve();
      const text = stderr.trim() || error.message;
      const code = /not supported|Invalid argument/i.test(text) ? 'EOPNOTSUPP' : /No such file/i.test(text) ? 'ENOENT' : error.code;
      reject(Object.assign(new Error(`fallocate ${mode} ${path}: ${text}`), { code }));
    });
  });
}

/**
 * A failed file operation as the user-level error it is: `<action> <path> failed: <reason>`,
 * code NO_SPACE for a full file system or quota (with the hint to free space), IO otherwise.
 * A ToolstackError passes through unchanged.
 */
export function fileError(action: string, path: string, e: unknown): ToolstackError {
  if (e instanceof ToolstackError) return e;
  const code = isErrno(e) ? e.code : undefined;
  const text = errnoMessage(e);
  const reason = code !== undefined && text !== (e as Error).message ? `${text.charAt(0).toLowerCase()}${text.slice(1)}` : text;
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const fds = code === 'EMFILE' || code === 'ENFILE';
  return new ToolstackError(full ? 'NO_SPACE' : 'IO', `${action} ${path} failed: ${reason}`, {
    cause: e,
    hint: full ? `free space on the file system that holds ${dirname(path)}; nothing was changed`
      : fds ? `${code === 'EMFILE' ? 'the process has' : 'the host has'} as many files open as ${code === 'EMFILE' ? 'its limit (ulimit -n)' : 'it allows (fs.file-max)'} allows: raise it, or close some (fewer clients, domains); nothing was changed`
        : `check ${dirname(path)}`,
  });
}

/**
 * Makes `dir` (and its parents) if missing, then checks it is safe to keep private files in: a
 * real directory (not a symlink) owned by this process's user and writable by nobody else.
 * Otherwise UNSAFE_PATH: another user may have made it first (a shared /tmp) to read or plant
 * what dom0 puts there.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e: unknown) {
    if (!isErrno(e, 'EEXIST')) throw fileError('Creating', dir, e);
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  const why = !st.isDirectory() ? (st.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a directory')
    : st.uid !== uid ? `it belongs to uid ${st.uid}, not ${uid}`
      : (st.mode & 0o022) !== 0 ? `it is writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`
        : undefined;
  if (why !== undefined) {
    throw new ToolstackError('UNSAFE_PATH', `Using ${dir} failed: ${why}`, {
      hint: `remove it or fix its owner and mode (chown ${uid} ${dir}; chmod 700 ${dir}), or point the DOM0_*_DIR variables elsewhere`,
    });
  }
}

/**
 * What a server that unlinks `path` and binds a Unix socket there (QEMU's `server=on`, `-incoming
 * unix:`) would destroy: undefined when nothing is there, or a socket nobody listens on (a stale
 * one, which the server may replace); otherwise what is there, in words ("a regular file", "a
 * socket something listens on"), and whether it is such a live socket. Symlinks are not
 * followed: the server unlinks the link.
 */
export async function socketPathProblem(path: string): Promise<{ readonly what: string; readonly live: boolean } | undefined> {
  let st;
  try {
    st = lstatSync(path);
  } catch (e: unknown) {
    if (isErrno(e, 'ENOENT')) return undefined;
    return { what: `what cannot be looked at (${(e as NodeJS.ErrnoException).code ?? String(e)})`, live: false };
  }
  const other = (what: string): { what: string; live: boolean } => ({ what, live: false });
  if (st.isSymbolicLink()) return other('a symbolic link');
  if (st.isDirectory()) return other('a directory');
  if (!st.isSocket()) return other(st.isFile() ? 'a regular file' : 'a special file');
  const live = await new Promise<boolean>((resolve) => {
    const s = createConnection(path);
    const done = (listening: boolean): void => {
      s.destroy();
      resolve(listening);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(true));
  });
  return live ? { what: 'a socket something listens on', live: true } : undefined;
}

/**
 * The first symlink on the way to `path` that the kernel's `fs.protected_symlinks` would not let
 * root follow: one in a sticky, world-writable directory (/tmp) owned by neither this process's
 * user nor the directory's owner. Such a link is another user's, and a file root writes through
 * it (a save renamed over its target, a serial log QEMU appends guest output to) lands wherever
 * that user pointed it (/root/.ssh/authorized_keys). The rule is applied here whatever the sysctl
 * says (it is 0 on some hosts). Undefined when no such link is on the way (a missing part ends
 * the walk: what is created there is created by name).
 */
export function untrustedLink(path: string): string | undefined {
  const uid = process.getuid?.() ?? 0;
  // Not normalized first: `/tmp/link/../x` is `x` beside the link's target, as the kernel walks it.
  const todo = (isAbsolute(path) ? path : `${process.cwd()}/${path}`).split('/').filter((c) => c !== '');
  let at = '/';
  for (let links = 0; todo.length > 0;) {
    const name = todo.shift() as string;
    if (name === '.') continue;
    if (name === '..') {
      at = dirname(at);
      continue;
    }
    const next = join(at, name);
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) {
      at = next;
      continue;
    }
    // Too many links is ELOOP for whoever opens the path.
    if (++links > 40) return undefined;
    const dir = statSync(at);
    if ((dir.mode & 0o1002) === 0o1002 && st.uid !== uid && st.uid !== dir.uid) return next;
    const target = readlinkSync(next);
    if (target.startsWith('/')) at = '/';
    todo.unshift(...target.split('/').filter((c) => c !== ''));
  }
  return undefined;
}

/** `untrustedLink` of `path` as the reason and hint of a refusal; undefined when there is none. */
export function untrustedLinkRefusal(path: string): { readonly why: string; readonly hint: string } | undefined {
  const link = untrustedLink(path);
  return link === undefined ? undefined : {
    why: `${terminalSafe(link)} is another user's symlink in a sticky world-writable directory, which root does not follow`,
    hint: 'give a path no other user can point elsewhere',
  };
}

/** How long `probePaths` waits for the file systems of a request's paths. */
export const PROBE_PATHS_MS = 5000;

/**
 * A shell that looks at each path it reads (a line) with its `test -f` builtin, and opens it when it
 * is a regular file (an NFS client may answer a stat from its cache, not an open), then answers
 * with a line: the probe of `probePaths`, kept for the next one (a child per probe cost 6 ms
 * here). It ends when dom0d does (its stdin closes), or is killed when a probe it runs hangs.
 */
const PROBER = 'while IFS= read -r p; do [ -f "$p" ] && true <"$p" 2>/dev/null; echo; done';
let prober: ChildProcess | undefined;
let probing: Promise<unknown> = Promise.resolve();

/**
 * Whether the file systems of `paths` (absolute; each with its directory) answer: a child process
 * looks at them, and a hung mount (an NFS server gone, a FUSE server that stopped answering)
 * blocks it instead of dom0d. dom0d looks at the paths a request names with synchronous calls;
 * one of those blocked on such a mount stopped its event loop, and with it every xl command and
 * every guest's xenstore. Rejects with PATH_HUNG, naming the path the probe was at (and whose it
 * is, for one given with `whose`), when it has not ended within `timeoutMs`; the child is then killed (a process waiting on FUSE or a hard NFS
 * mount dies of SIGKILL). Whether a path exists is not its business: the checks after it say what
 * is wrong with one. Probes run one at a time; a host without /bin/sh probes nothing.
 */
export function probePaths(paths: ReadonlyArray<string | ProbedPath>, timeoutMs = PROBE_PATHS_MS): Promise<void> {
  const whose = new Map<string, string>();
  const args = [...new Set(paths.flatMap((item) => {
    const p = typeof item === 'string' ? item : item.path;
    if (!isAbsolute(p)) return [];
    // A path with a newline cannot be a line: its first directory before the newline stands for it.
    const looked = p.includes('\n') ? [dirname(p.slice(0, p.indexOf('\n')))] : [dirname(p), p];
    for (const l of looked) {
      // A path the request names is its own, whoever else's it is too.
      if (typeof item === 'string') whose.set(l, '');
      else if (!whose.has(l)) whose.set(l, item.whose);
    }
    return looked;
  }))];
  if (args.length === 0) return Promise.resolve();
  const run = probing.then(() => probeOnce(args, whose, timeoutMs));
  probing = run.catch(() => undefined);
  return run;
}

/** A new prober shell, which keeps no event loop alive; a write to one that died is its 'close'. */
function startProber(): ChildProcess {
  const child = spawn('/bin/sh', ['-c', PROBER], { stdio: ['pipe', 'pipe', 'ignore'] });
  prober = child;
  child.unref();
  for (const s of [child.stdin, child.stdout]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  child.stdin?.on('error', () => undefined);
  return child;
}

/** A path `probePaths` looks at for something else than the request: `whose` it is, for the message. */
export interface ProbedPath {
  readonly path: string;
  readonly whose: string;
}

function probeOnce(args: readonly string[], whose: ReadonlyMap<string, string>, timeoutMs: number): Promise<void> {
  const child = prober !== undefined && prober.exitCode === null && prober.signalCode === null ? prober : startProber();
  return new Promise<void>((done, fail) => {
    let answered = 0;
    const onData = (b: Buffer): void => {
      for (const x of b) if (x === 10) answered++;
      if (answered >= args.length) end();
    };
    const end = (e?: ToolstackError): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('close', gone);
      child.off('error', gone);
      if (e === undefined) done();
      else fail(e);
    };
    // A shell that could not start or died probes nothing: the checks after go on as before.
    const gone = (): void => end();
    const timer = setTimeout(() => {
      // The next probe has a shell of its own: this one dies only once the mount lets it.
      if (prober === child) prober = undefined;
      child.kill('SIGKILL');
      const at = args[Math.min(answered, args.length - 1)] as string;
      const of = whose.get(at) ?? '';
      end(new ToolstackError('PATH_HUNG', `${terminalSafe(at)}${of === '' ? '' : ` (${of})`} did not answer within ${timeoutMs / 1000} s: its file system hangs`, {
        hint: 'see the mount (an NFS server gone, a FUSE server that stopped answering: mount, dmesg); nothing was changed',
      }));
    }, timeoutMs);
    child.stdout?.on('data', onData);
    child.once('close', gone);
    child.once('error', gone);
    child.stdin?.write(`${args.join('\n')}\n`);
  });
}

/**
 * The 1-based number of the first line (`\n`-separated) of `bytes` that is not valid UTF-8, or
 * undefined when all of it is. Decoded with replacement, such bytes become U+FFFD and the text
 * names other files and other values than the bytes did.
 */
export function firstNonUtf8Line(bytes: Uint8Array): number | undefined {
  if (isUtf8(bytes)) return undefined;
  let line = 1;
  for (let at = 0; at <= bytes.length;) {
    const nl = bytes.indexOf(0x0a, at);
    const end = nl < 0 ? bytes.length : nl;
    if (!isUtf8(bytes.subarray(at, end))) return line;
    line++;
    at = end + 1;
  }
  return undefined;
}
