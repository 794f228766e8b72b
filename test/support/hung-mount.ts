// A mount whose file system never answers: a FUSE mount made on /dev/fuse by this process, which
// then never reads a request. Every access under it (stat of the mount itself included) blocks,
// as on an NFS mount whose server is gone. Root only. `close` detaches it and ends the
// connection: what waited on it fails with ENOTCONN.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';

export interface HungMount {
  readonly dir: string;
  close(): void;
}

/** Mounts a hung file system on `dir` (made when missing); never touch `dir` from this process. */
export function hungMount(dir: string): HungMount {
  mkdirSync(dir, { recursive: true });
  const fd = openSync('/dev/fuse', 'r+');
  const r = spawnSync('mount', ['-t', 'fuse', '-o', 'fd=3,rootmode=40000,user_id=0,group_id=0,allow_other', 'dom0-test-hung', dir], {
    stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8',
  });
  if (r.status !== 0) {
    closeSync(fd);
    throw new Error(`cannot mount a FUSE file system on ${dir}: ${r.stderr}`);
  }
  let open = true;
  return {
    dir,
    close: () => {
      if (!open) return;
      open = false;
      spawnSync('umount', ['-l', dir]);
      closeSync(fd);
    },
  };
}
