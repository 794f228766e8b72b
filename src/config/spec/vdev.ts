/**
 * A disk's virtual device name (`vdev`) as the number libxl gives it (`libxl__device_disk_dev_number`,
 * Xen's xen-vbd-interface(7), grammar.md §5.4): the devid of its xenstore nodes
 * (`device/vbd/<devid>`), what `xl block-list` prints and what `xl block-detach` also accepts.
 */
import { strtoul } from './c-parse.js';

/** `<prefix><letters>[<partition>]`: letters bijective base 26 (`a` 0 … `z` 25, `aa` 26), no leading zero. */
function virtdisk(vdev: string, prefix: string, maxDisk: number, maxPartition: number): { disk: number; partition: number } | undefined {
  if (!vdev.startsWith(prefix)) return undefined;
  let i = prefix.length;
  let disk = -1;
  while (/[a-z]/.test(vdev[i] ?? '')) {
    disk = (disk + 1) * 26 + (vdev.charCodeAt(i) - 97);
    if (disk > maxDisk) return undefined;
    i++;
  }
  const rest = vdev.slice(i);
  if (rest === '') return { disk, partition: 0 };
  if (!/^[1-9]\d*$/.test(rest)) return undefined;
  const partition = Number(rest);
  return partition > maxPartition ? undefined : { disk, partition };
}

/** The devid libxl gives `vdev`; undefined where libxl answers -1 (not a disk name it knows). */
export function vdevNumber(vdev: string): number | undefined {
  const dp = /^d(\d+)p(\d+)$/.exec(vdev);
  const xvd = dp !== null && Number(dp[1]) < 1 << 20 && Number(dp[2]) < 256
    ? { disk: Number(dp[1]), partition: Number(dp[2]) }
    : virtdisk(vdev, 'xvd', (1 << 20) - 1, 255);
  if (xvd !== undefined && xvd.disk >= 0) {
    return xvd.disk <= 15 && xvd.partition <= 15 ? (202 << 8) | (xvd.disk << 4) | xvd.partition : (1 << 28) | (xvd.disk << 8) | xvd.partition;
  }
  const n = strtoul(vdev, 0);
  if (n.end === vdev.length && !n.overflow && n.value <= 0x7fffffffn) return Number(n.value);
  const hd = virtdisk(vdev, 'hd', 3, 63);
  if (hd !== undefined && hd.disk >= 0) return ((hd.disk < 2 ? 3 : 22) << 8) | ((hd.disk & 1) << 6) | hd.partition;
  const sd = virtdisk(vdev, 'sd', 15, 15);
  if (sd !== undefined && sd.disk >= 0) return (8 << 8) | (sd.disk << 4) | sd.partition;
  return undefined;
}
