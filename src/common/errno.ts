/** C library error texts (strerror) for the errno codes Node reports, as Xen's tools print them. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  ENOTTY: 'Inappropriate ioctl for device',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EROFS: 'Read-only file system',
  EEXIST: 'File exists',
  ENFILE: 'Too many open files in system',
  EINVAL: 'Invalid argument',
  ENODEV: 'No such device',
  EBUSY: 'Device or resource busy',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};

/** C's strerror() text for a Node errno code. */
export function strerror(code: string | undefined): string {
  return (code !== undefined ? STRERROR[code] : undefined) ?? `Unknown error ${code ?? ''}`.trim();
}

/** The C library's text of the errno of `e` (a failed system call) where it is known, else `e`'s message. */
export function errnoMessage(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? STRERROR[code] : undefined;
  return known ?? (e instanceof Error ? e.message : String(e));
}
