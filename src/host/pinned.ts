import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { ToolstackError } from '../common/index.js';

/**
 * Paths that reach what this process holds open: `/proc/<pid>/fd/<fd>` is the very file (or
 * directory) of descriptor `fd`, whatever its name has become since it was opened, for this
 * process and for any other of the same user (QEMU, a shell QEMU runs). A path named by an
 * untrusted party (another user's directory, given to root) is opened once, checked as opened,
 * and reached from then on through these paths only: a name swapped afterwards for a link (to
 * /etc, to another user's file) is never followed.
 */
export function heldPath(fd: number, name?: string): string {
  return `/proc/${process.pid}/fd/${fd}${name === undefined ? '' : `/${name}`}`;
}

/** A directory held open (`O_DIRECTORY`), its names reached through it (`at`). */
export class HeldDir {
  readonly fd: number;
  /** Its path as the kernel resolved it when it was opened. */
  readonly real: string;

  private constructor(fd: number, real: string) {
    this.fd = fd;
    this.real = real;
  }

  /** Opens `dir` (links in it followed, once); errno errors as Node throws them. */
  static open(dir: string): HeldDir {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      return new HeldDir(fd, readlinkSync(heldPath(fd)));
    } catch (e: unknown) {
      closeSync(fd);
      throw e;
    }
  }

  /** Where `name` (one component) in this directory really is: its path as opened, plus `name`. */
  realOf(name: string): string {
    return `${this.real === '/' ? '' : this.real}/${name}`;
  }

  /** `name` (one component) in this directory, as a path for this process or another. */
  at(name: string): string {
    return heldPath(this.fd, name);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A file that replaces `target` once complete (`xl save`, `xl dump-core`): created new beside it
 * (`O_EXCL`: never through a link, mode 0600), in `target`'s directory as opened when this is
 * made; `commit` renames it over `target` within that directory and syncs the directory;
 * `discard` (also after a commit: then nothing) removes it. `path` is what another process
 * writes it through. `real` is where the file ends up (its directory's path as opened), for the
 * caller's checks.
 */
export class ReplacingFile {
  readonly fd: number;
  /** The path it replaces, as given. */
  readonly target: string;
  readonly real: string;
  readonly #dir: HeldDir;
  readonly #base: string;
  readonly #temp: string;
  #marker: number | undefined;
  #committed = false;

  private constructor(target: string, dir: HeldDir, temp: string, fd: number) {
    this.target = target;
    this.#dir = dir;
    this.#base = basename(target);
    this.#temp = temp;
    this.fd = fd;
    this.real = dir.realOf(this.#base);
  }

  /**
   * Opens `target`'s directory and creates the new file there (named `.<tag>-<random>`); `refuse`
   * (which throws) is given where the file would go first, and nothing is made when it throws.
   */
  static create(target: string, tag: string, refuse?: (real: string) => void): ReplacingFile {
    const dir = HeldDir.open(dirname(target));
    try {
      refuse?.(dir.realOf(basename(target)));
      const temp = `.${tag}-${randomBytes(6).toString('hex')}`;
      const fd = openSync(dir.at(temp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      return new ReplacingFile(target, dir, temp, fd);
    } catch (e: unknown) {
      dir.close();
      throw e;
    }
  }

  /** The path another process writes the file through. */
  get path(): string {
    return heldPath(this.fd);
  }

  /**
   * A second new file beside it, empty until another process appends to it (through the path
   * returned): a shell that writes the file says it is done so. Removed with the file.
   */
  marker(): string {
    this.#marker ??= openSync(this.#dir.at(`${this.#temp}.done`), constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    return heldPath(this.#marker);
  }

  /** True once something was written to the marker. */
  marked(): boolean {
    return this.#marker !== undefined && fstatSync(this.#marker).size > 0;
  }

  /**
   * Renames the file over the target and syncs the directory (where its file system can). The
   * rename is by name (Linux renames no descriptor): if what it moved is not this file (its name
   * was taken by something else meanwhile), IO: the file written has no name left, and the
   * caller must not act as if it were saved.
   */
  commit(): void {
    renameSync(this.#dir.at(this.#temp), this.#dir.at(this.#base));
    this.#committed = true;
    const mine = fstatSync(this.fd);
    const named = lstatSync(this.#dir.at(this.#base), { throwIfNoEntry: false });
    if (named?.ino !== mine.ino || named.dev !== mine.dev) {
      throw new ToolstackError('IO', `${this.target}: the file being written was replaced by another process, and is lost`, {
        hint: 'write into a directory no other user can change',
      });
    }
    try {
      fsyncSync(this.#dir.fd);
    } catch (e: unknown) {
      if (!['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  }

  /** Removes the new file (unless committed) and its marker. */
  discard(): void {
    if (!this.#committed) rmSync(this.#dir.at(this.#temp), { force: true });
    if (this.#marker !== undefined) rmSync(this.#dir.at(`${this.#temp}.done`), { force: true });
  }

  /** Discards what is not committed and closes every descriptor. */
  close(): void {
    this.discard();
    closeSync(this.fd);
    if (this.#marker !== undefined) closeSync(this.#marker);
    this.#dir.close();
  }
}
