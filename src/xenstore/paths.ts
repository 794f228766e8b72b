/**
 * Xenstore path rules (C `canonicalize`): only `A-Z a-z 0-9 - / _ @`; `@` may start a path only
 * where special paths are allowed (watches, permissions); a path not starting with `/` or `@`
 * is relative to the connection's home `/local/domain/<domid>`; no `//`, no trailing `/` except
 * the root itself. For unprivileged connections the length after a `/local/domain/<id>/` prefix
 * is limited by the `path-max` quota. Every violation is EINVAL.
 */
import { XsFault } from './wire.js';

const VALID = /^[A-Za-z0-9\-/_@]*$/;
const LOCAL_PREFIX = /^\/local\/domain\/\d{1,5}\//;

export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

export interface CanonicalPath {
  /** Absolute (or `@`-special) path. */
  readonly path: string;
  /** Length of the home prefix plus `/` to strip when reporting to the client (relative paths). */
  readonly prefixLen: number;
}

/**
 * Validates `raw` and makes it absolute for a connection of `domid`. `pathMax` (0 = unlimited)
 * is checked against the length after any `/local/domain/<id>/` prefix.
 */
export function canonicalize(
  raw: string,
  opts: { domid: number; allowSpecial: boolean; pathMax: number },
): CanonicalPath {
  if (!VALID.test(raw) || (raw.startsWith('@') && !opts.allowSpecial)) throw new XsFault('EINVAL');
  let path = raw;
  let prefixLen = 0;
  if (!raw.startsWith('/') && !raw.startsWith('@')) {
    const home = domainPath(opts.domid);
    path = `${home}/${raw}`;
    prefixLen = home.length + 1;
  }
  if ((path.endsWith('/') && path !== '/') || path.includes('//')) throw new XsFault('EINVAL');
  if (opts.pathMax > 0) {
    const m = LOCAL_PREFIX.exec(path);
    if (path.length - (m ? m[0].length : 0) > opts.pathMax) throw new XsFault('EINVAL');
  }
  return { path, prefixLen };
}

/** Parent of an absolute path (`/` for top-level nodes and for `@` paths). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** `path` and each of its ancestors, deepest first, ending with `/`. */
export function selfAndAncestors(path: string): string[] {
  const out = [path];
  let p = path;
  while (p !== '/' && !p.startsWith('@')) {
    p = parentOf(p);
    out.push(p);
  }
  return out;
}
