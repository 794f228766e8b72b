// Benchmark: the latency of xl's CPU and device commands against one running guest.
// - `xl vcpu-pin` and `xl sched-credit2 -w` (credit2 is the default scheduler) wall time, CLI start included (goal ≤ 50 ms each),
//   as a ratio to `node -e 0` (the floor of any Node CLI) measured interleaved in the same run;
// - hotplug: from the start of `xl block-attach` to the disk in the guest's /sys/block (the guest
//   polls every 10 ms and says so on its console; goal ≤ 0.5 s plus the guest's own scan), and
//   `xl block-attach` / `xl block-detach` wall times.
// Prints one JSON object.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../test/support/guests.js';
import { benchHost, interleavedMedians, median, NODE_BASELINE, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 15);
const HOTPLUGS = Number(process.env.DOM0_BENCH_HOTPLUGS ?? 5);

export async function commands(): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost();
  let dom0d: number | undefined;
  let con: GuestConsole | undefined;
  try {
    writeFileSync(join(dir, 'b.cfg'), [
      'name = "b"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`,
      'memory = 128', 'vcpus = 2',
    ].join('\n'));
    wallMs([XL, 'create', '-q', 'b.cfg'], env, dir);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    const domid = (spawnSync(XL, ['domid', 'b'], { env, encoding: 'utf8' }).stdout).trim();
    con = await GuestConsole.connect(join(dir, 'run', 'domains', domid, 'console0.tty'));
    await con.waitFor(GUEST_READY_LINE, { timeoutMs: 180_000 });
    await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });

    const cli = interleavedMedians({
      node: NODE_BASELINE,
      list: [XL, 'list'],
      vcpuPin: [XL, 'vcpu-pin', 'b', '0', '1'],
      schedCredit: [XL, 'sched-credit2', '-d', 'b', '-w', '512'],
    }, RUNS, env);

    const image = join(dir, 'extra.img');
    spawnSync('qemu-img', ['create', '-q', '-f', 'raw', image, '16M']);
    const seen: number[] = [];
    const attach: number[] = [];
    const detach: number[] = [];
    for (let i = 0; i < HOTPLUGS; i++) {
      // The guest has no other disk: the first virtio disk is vda. The mark is printed, not echoed.
      const mark = `SEEN-${i + 1000}`;
      const from = con.text.length;
      con.send(`while [ ! -e /sys/block/vda ]; do usleep 10000; done; echo SEEN-$((${i} + 1000))`);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      const appeared = con.waitFor(`${mark}\r`, { from, timeoutMs: 30_000 }).then(() => performance.now() - t0);
      attach.push(wallMs([XL, 'block-attach', 'b', `format=raw,vdev=xvdb,access=rw,target=${image}`], env));
      seen.push(await appeared);
      await con.waitFor(GUEST_PROMPT, { from: con.text.indexOf(mark, from), timeoutMs: 10_000 });
      detach.push(wallMs([XL, 'block-detach', 'b', 'xvdb'], env));
      const gone = await con.run('while [ -e /sys/block/vda ]; do usleep 10000; done; echo gone');
      if (!gone.out.includes('gone')) throw new Error('commands: the disk did not leave the guest');
    }
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      bench: 'commands',
      runs: RUNS,
      nodeStartMs: r1(cli.node),
      xlListMs: r1(cli.list),
      vcpuPinMs: r1(cli.vcpuPin),
      vcpuPinPerNodeStart: r2(cli.vcpuPin / cli.node),
      schedCreditMs: r1(cli.schedCredit),
      schedCreditPerNodeStart: r2(cli.schedCredit / cli.node),
      goalMs: 50,
      hotplugs: HOTPLUGS,
      blockAttachToGuestMs: r1(median(seen)),
      blockAttachMs: r1(median(attach)),
      blockDetachMs: r1(median(detach)),
      goalAttachToGuestMs: 500,
    };
  } finally {
    con?.close();
    spawnSync(XL, ['destroy', 'b'], { env });
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await commands()));
}
