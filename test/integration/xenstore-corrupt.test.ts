// Damaged state files, corrupted byte by byte: xenstored reports what it could not replay (file,
// offset, frames and bytes), keeps the damaged file aside under another name, starts with what
// it can trust and serves; the next start finds clean state. A torn last frame is not damage.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startXenstored, XenstoreClient } from '../../src/xenstore/index.js';
import type { XsServer } from './xenstore-harness.js';
import { haveXenstoreUtils, startServer, xs } from './xenstore-harness.js';

const JOURNAL_HEADER = 8;
const SNAPSHOT_HEADER = 12;

/** Offsets of the frames (`u32 length, u32 crc, payload`) of a state file from `start`. */
function frameOffsets(buf: Buffer, start: number): number[] {
  const out: number[] = [];
  for (let off = start; off + 8 <= buf.length; off += 8 + buf.readUInt32LE(off)) out.push(off);
  return out;
}

/** The one name in `dir` that starts with `prefix` other than `except`. */
function asideOf(dir: string, prefix: string, except: string): string {
  const names = readdirSync(dir).filter((n) => n.startsWith(prefix) && n !== except);
  assert.equal(names.length, 1, `files kept aside: ${readdirSync(dir).join(' ')}`);
  return join(dir, names[0]!);
}

/** Report lines: those of a start that are not the start-up banner. */
function reports(srv: XsServer): string[] {
  return srv.stderr.filter((l) => !l.includes('listening on'));
}

describe('xenstored with damaged state files', { skip: !haveXenstoreUtils && 'xenstore-utils not installed' }, () => {
  const servers: XsServer[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const s of servers) await s.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function start(dir?: string): Promise<XsServer> {
    const s = await startServer(dir === undefined ? {} : { dir });
    servers.push(s);
    if (dir === undefined) dirs.push(s.dir);
    return s;
  }

  it('a checksum error mid-journal: the frames from it on are reported, kept aside, not replayed', async () => {
    const first = await start();
    for (let i = 1; i <= 6; i++) assert.equal((await xs(first.socket, 'xenstore-write', ['-s', `/c/${i}`, `value-${i}`])).code, 0);
    await first.stop();
    const file = join(first.stateDir, 'journal-0.log');
    const buf = readFileSync(file);
    const offsets = frameOffsets(buf, JOURNAL_HEADER);
    const bad = offsets.find((o) => buf.subarray(o, o + 8 + buf.readUInt32LE(o)).includes('value-3'))!;
    buf[bad + 8 + 3] = buf[bad + 8 + 3]! ^ 0x40;
    writeFileSync(file, buf);

    const second = await start(first.dir);
    const lines = reports(second);
    assert.equal(lines.length, 1, lines.join('\n'));
    const after = offsets.filter((o) => o > bad).length;
    assert.match(lines[0]!, new RegExp(`journal-0\\.log.*offset ${bad}\\b.*\\b${after + 1} frames \\(${buf.length - bad} bytes\\)`));
    assert.doesNotMatch(lines[0]!, /torn/);
    const aside = asideOf(first.stateDir, 'journal-0.log', 'journal-0.log');
    assert.ok(lines[0]!.includes(aside.slice(first.stateDir.length + 1)), 'the report names the file kept aside');
    assert.deepEqual(readFileSync(aside), buf);
    const S = second.socket;
    assert.equal((await xs(S, 'xenstore-read', ['/c/1', '/c/2'])).stdout, 'value-1\nvalue-2\n');
    for (const i of [3, 4, 5, 6]) assert.equal((await xs(S, 'xenstore-exists', [`/c/${i}`])).code, 1);
    assert.equal((await xs(S, 'xenstore-write', ['/c/new', 'n'])).code, 0);
    await second.stop();

    const third = await start(first.dir);
    assert.deepEqual(reports(third), []);
    assert.equal((await xs(third.socket, 'xenstore-list', ['/c'])).stdout, '1\n2\nnew\n');
    await third.stop();
  });

  it('an empty journal is reported, and so is one with a bad header (kept aside)', async () => {
    const first = await start();
    await xs(first.socket, 'xenstore-write', ['-s', '/e/1', 'one']);
    await first.stop();
    const file = join(first.stateDir, 'journal-0.log');
    truncateSync(file, 0);
    const second = await start(first.dir);
    assert.equal(reports(second).length, 1, reports(second).join('\n'));
    assert.match(reports(second)[0]!, /journal-0\.log.*empty/);
    assert.equal((await xs(second.socket, 'xenstore-read', ['/tool/xenstored'])).code, 0);
    await xs(second.socket, 'xenstore-write', ['-s', '/e/2', 'two']);
    await second.stop();

    const buf = readFileSync(file);
    buf.write('GARBAGE!', 0, 'latin1');
    writeFileSync(file, buf);
    const third = await start(first.dir);
    assert.equal(reports(third).length, 1, reports(third).join('\n'));
    assert.match(reports(third)[0]!, new RegExp(`journal-0\\.log.*header.*${buf.length} bytes`));
    assert.deepEqual(readFileSync(asideOf(first.stateDir, 'journal-0.log', 'journal-0.log')), buf);
    assert.equal((await xs(third.socket, 'xenstore-exists', ['/e/2'])).code, 1);
    assert.equal((await xs(third.socket, 'xenstore-write', ['/e/3', 'three'])).code, 0);
    await third.stop();
    const fourth = await start(first.dir);
    assert.deepEqual(reports(fourth), []);
    assert.equal((await xs(fourth.socket, 'xenstore-read', ['/e/3'])).stdout, 'three\n');
    await fourth.stop();
  });

  /** A state directory with a snapshot of several frames (/s/a/*, /s/b/*) and /s/late in the journal after it. */
  async function withSnapshot(): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'xs-snap-'));
    dirs.push(dir);
    const h = await startXenstored({ socketPath: join(dir, 'run', 'socket'), stateDir: join(dir, 'state'), compactBytes: 64 * 1024 });
    const c = h.connect();
    for (const part of ['a', 'b']) {
      await c.transaction(async (t) => {
        for (let i = 0; i < 1500; i++) await t.write(`/s/${part}/${i}`, `${part}${i}`);
      });
    }
    await c.write('/s/late', 'after the snapshot');
    c.close();
    await h.close();
    assert.ok(readdirSync(join(dir, 'state')).includes('journal-1.log'), 'the state compacted once');
    return dir;
  }

  it('a checksum error in the snapshot: reported, kept aside; every good frame and the journal are replayed', async () => {
    const dir = await withSnapshot();
    const file = join(dir, 'state', 'snapshot');
    const buf = readFileSync(file);
    const offsets = frameOffsets(buf, SNAPSHOT_HEADER);
    assert.ok(offsets.length >= 3, `${offsets.length} snapshot frames`);
    const bad = offsets[1]!;
    buf[bad + 8 + 5] = buf[bad + 8 + 5]! ^ 0x01;
    writeFileSync(file, buf);

    const srv = await start(dir);
    const lines = reports(srv);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`snapshot.*offset ${bad}\\b.*${offsets[2]! - bad} bytes`));
    assert.ok(!srv.stderr.some((l) => /^\s+at /.test(l)), 'no stack trace');
    assert.deepEqual(readFileSync(asideOf(join(dir, 'state'), 'snapshot', 'snapshot')), buf);
    const c = await XenstoreClient.connect(srv.socket);
    assert.equal(await c.readString('/s/a/0'), 'a0');
    assert.equal(await c.readString('/s/late'), 'after the snapshot');
    const a = await c.directory('/s/a');
    assert.ok(a.length > 0 && a.length < 1500, `${a.length} of /s/a`);
    // The tree is whole: every child listed exists (xenstore-ls walks all of it).
    assert.equal((await xs(srv.socket, 'xenstore-ls', ['/s'])).code, 0);
    await c.write('/s/new', 'n');
    c.close();
    await srv.stop();

    const again = await start(dir);
    assert.deepEqual(reports(again), []);
    assert.equal((await xs(again.socket, 'xenstore-read', ['/s/new', '/s/a/0'])).stdout, 'n\na0\n');
    await again.stop();
  });

  it('a snapshot with a bad header: reported, kept aside, xenstored starts', async () => {
    const dir = await withSnapshot();
    const file = join(dir, 'state', 'snapshot');
    const buf = readFileSync(file);
    buf.write('NOTASNAP', 0, 'latin1');
    writeFileSync(file, buf);
    const srv = await start(dir);
    const lines = reports(srv);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`snapshot.*header.*${buf.length} bytes`));
    assert.deepEqual(readFileSync(asideOf(join(dir, 'state'), 'snapshot', 'snapshot')), buf);
    assert.equal((await xs(srv.socket, 'xenstore-read', ['/tool/xenstored'])).code, 0);
    assert.equal((await xs(srv.socket, 'xenstore-write', ['/x', '1'])).code, 0);
    await srv.stop();
    const again = await start(dir);
    assert.deepEqual(reports(again), []);
    assert.equal((await xs(again.socket, 'xenstore-read', ['/x'])).stdout, '1\n');
    await again.stop();
  });
});
