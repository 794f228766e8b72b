/**
 * The xl.cfg files of dom0d's config directory (`DOM0_CONFIG_DIR`, /etc/xen), as the web
 * console's create form offers them. The contract: a file is named, never given as a path; it is
 * a regular file directly in the directory (a symlink counts when what it names is a regular
 * file inside the directory); names starting with `.`, `xl.conf` and its package manager's
 * copies (dom0's own settings), keys and certificates (`*.pem`, `*.key`, ...: the API's TLS key
 * may be kept there), xend's `*.sxp` and editors' and packages' leftovers (`*~`, `*.bak`,
 * `*.dpkg-old`, ...: an old copy may hold an old VNC password) are not domain configs. Reading
 * one is capped at MAX_CONFIG_FILE_BYTES. Every refusal is CFG_READ.
 */
import { constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { isErrno, ToolstackError } from '../common/index.js';
import { strerror } from '../config/index.js';
import { MAX_CONFIG_TEXT_BYTES } from './types.js';
import type { ConfigFileInfo, ConfigFileList, ConfigFileText } from './types.js';

/** The largest config file read (xl.cfg files are a few KiB). */
export const MAX_CONFIG_FILE_BYTES = MAX_CONFIG_TEXT_BYTES;
/** The most files a listing names (the first, by name); `truncated` tells there were more. */
export const MAX_CONFIG_FILES = 1000;

/** Names in the directory that are no domain config (see the module comment). */
const NOT_CONFIGS = /^xl\.conf|~$|\.(bak|old|orig|rej|save|swp|tmp|dpkg-[a-z]+|ucf-[a-z]+|rpm[a-z]+|pem|key|crt|cer|csr|der|p12|pfx|sxp)$/i;

/** Whether `name` may name a config file of the directory (no path, not hidden, not xl.conf; see the module comment). */
function isConfigName(name: string): boolean {
  return name !== '' && !name.startsWith('.') && !name.includes('/') && !name.includes('\0') && !NOT_CONFIGS.test(name);
}

function refused(name: string, reason: string, hint: string): ToolstackError {
  return new ToolstackError('CFG_READ', `Failed to read config file: ${name}: ${reason}`, { hint });
}

/** A failed operation on the directory itself, `e` its errno error. */
function dirRefused(dir: string, e: unknown): ToolstackError {
  return refused(dir, strerror(isErrno(e) ? e.code : undefined), `check that ${dir} is a readable directory`);
}

/** The directory's real path, or undefined when it does not exist. */
async function realDir(dir: string): Promise<string | undefined> {
  try {
    return await realpath(dir);
  } catch (e: unknown) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw dirRefused(dir, e);
  }
}

/**
 * Where `name` leads: the real path of a regular file inside `real` (the directory's real path),
 * else a refusal.
 */
async function resolveConfigFile(dir: string, real: string, name: string): Promise<{ readonly path: string; readonly stats: Stats }> {
  if (!isConfigName(name)) {
    throw refused(name, 'not a config file name', `give the name of a domain config in ${dir} (no '/', not starting with '.', not xl.conf, no key, certificate or backup)`);
  }
  let path: string;
  let stats: Stats;
  try {
    path = await realpath(join(real, name));
    stats = await stat(path);
  } catch (e: unknown) {
    const code = isErrno(e) ? e.code : undefined;
    throw refused(name, strerror(code), code === 'ENOENT' ? `no such file in ${dir}` : `check that ${join(dir, name)} is readable`);
  }
  if (!path.startsWith(real + sep)) throw refused(name, 'it leads out of the config directory', `${join(dir, name)} is a symlink to ${path}`);
  if (!stats.isFile()) throw refused(name, 'not a regular file', `${join(dir, name)} is not a file dom0d reads configs from`);
  return { path, stats };
}

function infoOf(name: string, stats: Stats): ConfigFileInfo {
  return { name, size: stats.size, mtimeMs: Math.trunc(stats.mtimeMs) };
}

/** The config files of `dir`, by name (none when it does not exist). */
export async function listConfigDir(dir: string): Promise<ConfigFileList> {
  const real = await realDir(dir);
  if (real === undefined) return { dir, files: [], truncated: false };
  const names = (await readdir(real).catch((e: unknown) => {
    throw dirRefused(dir, e);
  })).filter(isConfigName).sort();
  const files: ConfigFileInfo[] = [];
  for (const name of names) {
    if (files.length === MAX_CONFIG_FILES) return { dir, files, truncated: true };
    try {
      files.push(infoOf(name, (await resolveConfigFile(dir, real, name)).stats));
    } catch (e: unknown) {
      // Not a config file (a directory, a device, a symlink out): not listed.
      if (!(e instanceof ToolstackError)) throw e;
    }
  }
  return { dir, files, truncated: false };
}

/** The text of config file `name` of `dir` (see the module comment for what is refused). */
export async function readConfigDirFile(dir: string, name: string): Promise<ConfigFileText> {
  const real = await realDir(dir);
  if (real === undefined) throw refused(name, strerror('ENOENT'), `${dir} does not exist`);
  const { path } = await resolveConfigFile(dir, real, name);
  // What was checked is what is read: no symlink followed now, no FIFO waited on, size from the open file.
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e: unknown) {
    throw refused(name, strerror(isErrno(e) ? e.code : undefined), `check that ${join(dir, name)} is readable`);
  }
  try {
    const stats = await fh.stat();
    if (!stats.isFile()) throw refused(name, 'not a regular file', `${join(dir, name)} changed while it was read`);
    const tooBig = refused(name, `larger than ${MAX_CONFIG_FILE_BYTES >> 20} MiB`, 'an xl.cfg file is a few KiB: is this the right file?');
    if (stats.size > MAX_CONFIG_FILE_BYTES) throw tooBig;
    const buf = Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > MAX_CONFIG_FILE_BYTES) throw tooBig;
    return { ...infoOf(name, stats), size: got, text: buf.toString('utf8', 0, got) };
  } finally {
    await fh.close();
  }
}
