// Differential test of dom0's xenstored against Xen 4.17's own C xenstored (run through
// scripts/xen-reference/xenstored; opt-in: DOM0_XEN_REF=1). Seeded random sequences of raw
// requests — valid and malformed — go to both servers over several connections; every
// connection's stream (replies and watch events in arrival order, connection closes) must be the
// same, transaction ids compared by order of appearance. Then Debian's xenstore-* clients run the
// same seeded commands against both, compared by exit code, stdout and stderr.
// DOM0_XEN_REF_SEEDS=N (default 40) and DOM0_XEN_REF_STEPS=N (default 60) bound the work;
// DOM0_XEN_REF_SEED=S runs one seed and prints its request log.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { XsServer } from '../integration/xenstore-harness.js';
import { RawConn, startServer, xs } from '../integration/xenstore-harness.js';

// dist/test/xen-reference → the repository root (the script is not built).
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const enabled = process.env.DOM0_XEN_REF === '1';
const SEEDS = Number(process.env.DOM0_XEN_REF_SEEDS ?? 40);
const STEPS = Number(process.env.DOM0_XEN_REF_STEPS ?? 60);
const ONE_SEED = process.env.DOM0_XEN_REF_SEED;

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Side {
  readonly name: string;
  readonly socket: string;
  stop(): Promise<void>;
}

async function startXen(): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'xs-ref-'));
  const socket = join(dir, 'socket');
  const proc: ChildProcess = spawn(join(root, 'scripts', 'xen-reference', 'xenstored'), [dir], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (!existsSync(socket)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`Xen's xenstored did not start (${proc.exitCode})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    name: 'xen',
    socket,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startOurs(): Promise<Side> {
  const srv: XsServer = await startServer();
  return { name: 'dom0', socket: srv.socket, stop: () => srv.cleanup() };
}

// ---- request generation ---------------------------------------------------------------------

/** One step: which connection, the frame, and tx placeholders resolved per side. */
interface Step {
  readonly conn: number;
  readonly type: number;
  readonly reqId: number;
  /** Header tx: a number, or `{tx: k}` = the k-th transaction id this side handed out. */
  readonly tx: number | { tx: number };
  /** Payload parts; `{tx: k}` is replaced by that side's k-th transaction id in decimal. */
  readonly payload: (string | { tx: number })[];
  /** Header len override (oversized / short frames). */
  readonly len?: number;
  /** Close the connection right after sending (a client dying mid-request). */
  readonly thenClose?: boolean;
}

const GOOD = ['/', '/a', '/a/b', '/a/b/c', '/a/d', '/e', '/e/f', '/tool', '/tool/xenstored', '/local/domain/0', '/local/domain/3', '/local/domain/3/x'];
const REL = ['a', 'a/b', 'data', 'data/x'];
const BAD = ['', '/a/', '//a', '/a//b', '/a b', '/a.b', 'a/', '@', '@a', '/@x', '/a/@', '@releaseDomain/3', '/a/b\x01'];
const SPECIAL = ['@releaseDomain', '@introduceDomain'];
const LONG = [`/${'x'.repeat(2040)}`, `/${'x'.repeat(2100)}`, `/${'y'.repeat(3070)}`, `/${'z'.repeat(3100)}`, 'r'.repeat(2040), 'r'.repeat(2100)];
const PERMS = ['n0', 'r0', 'w0', 'b0', 'n5', 'r5', 'w3', 'b3', 'r7', 'x1', 'n', 'r0x5', 'r-1', 'n65535', 'n70000', 'b032', 'r 5', '', 'R5', 'n5x'];
const DOMIDS = ['0', '1', '3', '5', '7', 'abc', '-1', '70000', '', '3x', '32752', '65535'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function genPath(r: () => number): string {
  const x = r();
  if (x < 0.65) return pick(r, GOOD);
  if (x < 0.75) return pick(r, REL);
  if (x < 0.9) return pick(r, BAD);
  if (x < 0.95) return pick(r, SPECIAL);
  return pick(r, LONG);
}

function genValue(r: () => number): string {
  return pick(r, ['', 'v', 'hello', 'a\0b', '\x01\xff', 'x'.repeat(100), 'y'.repeat(2100), 'z'.repeat(4090)]);
}

function genStep(r: () => number, txCount: () => number, conns: number): Step {
  const conn = Math.floor(r() * conns);
  const reqId = r() < 0.2 ? Math.floor(r() * 0xffffffff) : 0;
  const anyTx = (): number | { tx: number } => {
    const n = txCount();
    const x = r();
    if (x < 0.6 || n === 0) return 0;
    if (x < 0.95) return { tx: Math.floor(r() * n) };
    return pick(r, [999999, 0xffffffff]);
  };
  // A missing NUL where more strings follow; one-argument requests always get theirs, as Xen
  // 4.17 answers those with a stale errno or aborts (see the golden test of ours).
  const nul = (s: string): string => (r() < 0.05 ? s : `${s}\0`);
  const one = (s: string): string => `${s}\0`;
  const x = r();
  if (x < 0.12) return { conn, reqId, type: 11, tx: anyTx(), payload: r() < 0.05 ? [genPath(r)] : [`${genPath(r)}\0`, genValue(r)] };
  if (x < 0.22) return { conn, reqId, type: 2, tx: anyTx(), payload: [one(genPath(r))] };
  if (x < 0.3) return { conn, reqId, type: 1, tx: anyTx(), payload: [one(genPath(r))] };
  if (x < 0.36) return { conn, reqId, type: 12, tx: anyTx(), payload: [one(genPath(r))] };
  if (x < 0.43) return { conn, reqId, type: 13, tx: anyTx(), payload: [one(genPath(r))] };
  if (x < 0.48) return { conn, reqId, type: 3, tx: anyTx(), payload: [one(genPath(r))] };
  if (x < 0.54) {
    const n = Math.floor(r() * 4);
    const perms = Array.from({ length: n }, () => nul(pick(r, PERMS)));
    return { conn, reqId, type: 14, tx: anyTx(), payload: [`${genPath(r)}\0`, ...perms] };
  }
  if (x < 0.62) {
    const p = r() < 0.8 ? pick(r, [...GOOD, ...REL, ...SPECIAL]) : genPath(r);
    const tok = pick(r, ['t1', 't2', p, '']);
    const extra = r() < 0.1 ? pick(r, ['1\0', '0\0', 'x\0']) : '';
    return { conn, reqId, type: r() < 0.75 ? 4 : 5, tx: anyTx(), payload: [`${p}\0`, nul(tok), extra] };
  }
  if (x < 0.7) return { conn, reqId, type: 6, tx: r() < 0.85 ? 0 : anyTx(), payload: [pick(r, ['\0', '\0', '', 'x\0'])] };
  if (x < 0.77) return { conn, reqId, type: 7, tx: r() < 0.9 ? anyTx() : 0, payload: [pick(r, ['T\0', 'T\0', 'F\0', 'X\0', 'T', ''])] };
  if (x < 0.8) return { conn, reqId, type: 22, tx: anyTx(), payload: [`${genPath(r)}\0`, nul(pick(r, ['0', '1', '2', '5', '100', 'x', '-1', '']))] };
  if (x < 0.83) return { conn, reqId, type: 21, tx: anyTx(), payload: [pick(r, ['\0', '', 'x\0'])] };
  if (x < 0.86) return { conn, reqId, type: 10, tx: 0, payload: [one(pick(r, DOMIDS))] };
  if (x < 0.88) return { conn, reqId, type: 17, tx: 0, payload: [one(pick(r, DOMIDS))] };
  if (x < 0.9) {
    const type = pick(r, [8, 9, 18, 19]);
    // INTRODUCE only of domids a Xen host could have (a huge one wraps to 16 bits in the grant map).
    const args = type === 8 ? [pick(r, ['0', '1', '3', '5', 'abc', '']), pick(r, ['0', '12']), pick(r, ['0', '1', '5', 'x'])] : type === 19 ? [pick(r, DOMIDS), pick(r, DOMIDS)] : [pick(r, DOMIDS)];
    return { conn, reqId, type, tx: 0, payload: type === 9 || type === 18 ? args.map(one) : args.map(nul) };
  }
  if (x < 0.92) {
    const cmd = pick(r, ['print\0hello\0', 'print\0', 'nope\0', '', 'check\0', 'log\0on\0', 'log\0off\0', 'x']);
    return { conn, reqId, type: 0, tx: anyTx(), payload: [cmd] };
  }
  if (x < 0.94) return { conn, reqId, type: pick(r, [15, 16, 20, 27, 100, 65535]), tx: anyTx(), payload: [`${genPath(r)}\0`] };
  if (x < 0.96) return { conn, reqId, type: pick(r, [2, 11]), tx: 0, payload: [`/big\0${'q'.repeat(4100)}`] };
  if (x < 0.97) return { conn, reqId, type: 2, tx: 0, payload: ['/a\0'], len: pick(r, [4097, 0x7fffffff]) };
  if (x < 0.98) return { conn, reqId, type: 11, tx: 0, payload: ['/partial\0v'], len: 40, thenClose: true };
  if (x < 0.99) return { conn, reqId, type: 11, tx: anyTx(), payload: [`${pick(r, GOOD)}\0`, genValue(r)], thenClose: true };
  return { conn, reqId, type: 2, tx: 0, payload: ['\0'] };
}

// ---- running a sequence against one side ------------------------------------------------------

interface Msg {
  readonly type: number;
  readonly reqId: number;
  readonly tx: string;
  readonly payload: string;
}

/** A connection's messages as text, each with the index of the step during which it arrived. */
type Stream = [string, number][];

/**
 * Intended differences, made equal before comparing:
 * - DIRECTORY_PART's generation count is each server's own counter (only "unchanged ⇒ same"
 *   is promised; the unit tests of ours check that);
 * - GET_PERMS of an `@` path: Xen 4.17 refuses it (EINVAL); newer Xen keeps the special nodes
 *   as nodes and answers their permissions, as dom0 does.
 */
function normalize(m: Msg, req?: Step): string {
  if (m.type === 22) return m.payload.replace(/^\d+\0/, '<gen>\0');
  if (req?.type === 3 && typeof req.payload[0] === 'string' && req.payload[0].startsWith('@')) return '<GET_PERMS of a special path>';
  return m.payload;
}

function show(s: string): string {
  const t = s.length > 80 ? `${s.slice(0, 40)}…(${s.length})…${s.slice(-20)}` : s;
  return JSON.stringify(t);
}

async function runSide(side: Side, steps: readonly Step[], conns: number): Promise<Stream[]> {
  const streams: Stream[] = Array.from({ length: conns }, () => []);
  const sockets: (RawConn | undefined)[] = new Array(conns).fill(undefined);
  const txIds: number[] = [];
  const txName = (id: number): string => {
    if (id === 0) return '0';
    const k = txIds.indexOf(id);
    return k >= 0 ? `T${k}` : String(id);
  };
  const render = (m: Msg, req?: Step): string => {
    const n = normalize(m, req);
    return n.startsWith('<') ? n : `${m.type} r${m.reqId} ${m.tx} ${show(n)}`;
  };
  let now = -1;
  const take = (i: number, m: { type: number; reqId: number; txId: number; payload: Buffer }, req?: Step): Msg => {
    let payload = m.payload.toString('latin1');
    if (m.type === 6 && /^\d+\0$/.test(payload)) {
      const id = Number(payload.slice(0, -1));
      if (!txIds.includes(id)) txIds.push(id);
      payload = `${txName(id)}\0`;
    }
    const msg = { type: m.type, reqId: m.reqId, tx: txName(m.txId), payload };
    streams[i]!.push([render(msg, m.type === 15 ? undefined : req), now]);
    return msg;
  };
  const drain = async (i: number): Promise<void> => {
    const c = sockets[i];
    if (c === undefined) return;
    for (;;) {
      let m;
      try {
        m = await c.next(0);
      } catch {
        return;
      }
      if (m === undefined) {
        streams[i]!.push(['<closed>', now]);
        sockets[i] = undefined;
        return;
      }
      take(i, m);
    }
  };
  for (const [n, st] of steps.entries()) {
    now = n;
    let c = sockets[st.conn];
    if (c === undefined) {
      try {
        c = await RawConn.open(side.socket);
      } catch {
        streams[st.conn]!.push([`<server gone @${n}>`, n]);
        break;
      }
      sockets[st.conn] = c;
      streams[st.conn]!.push([`<open @${n}>`, n]);
    }
    const resolveTx = (t: number | { tx: number }): number => (typeof t === 'number' ? t : (txIds[t.tx] ?? 424242));
    const payload = Buffer.from(st.payload.map((p) => (typeof p === 'string' ? p : String(resolveTx(p)))).join(''), 'latin1');
    c.frame(st.type, payload, { reqId: st.reqId, txId: resolveTx(st.tx), ...(st.len === undefined ? {} : { len: st.len }) });
    if (st.thenClose === true) {
      // A whole request is left time to be read first: C xenstored drops a connection whose
      // peer hung up without reading what it had sent (poll reports POLLHUP), which is a race.
      if (st.len === undefined) await new Promise((r) => setTimeout(r, 20));
      c.close();
      sockets[st.conn] = undefined;
      streams[st.conn]!.push(['<client closed>', n]);
      // Let the server notice before the next step, as a crashed client is noticed.
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    for (;;) {
      let m;
      try {
        m = await c.next(st.len !== undefined ? 1500 : 5000);
      } catch {
        streams[st.conn]!.push(['<no reply>', n]);
        c.close();
        sockets[st.conn] = undefined;
        break;
      }
      if (m === undefined) {
        streams[st.conn]!.push(['<closed>', n]);
        sockets[st.conn] = undefined;
        break;
      }
      if (take(st.conn, m, st).type !== 15) break;
    }
    // C xenstored writes one queued message per connection per poll round and reads the next
    // request first: a client that sends before the events behind a reply arrived can lose them
    // if its request gets the connection dropped. Clients wait for what they expect; so do we.
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < conns; i++) await drain(i);
  for (const c of sockets) c?.close();
  return streams;
}

function describeStep(st: Step): string {
  const p = st.payload.map((x) => (typeof x === 'string' ? x : `<T${x.tx}>`)).join('');
  const tx = typeof st.tx === 'number' ? String(st.tx) : `T${st.tx.tx}`;
  return `c${st.conn} type=${st.type} r${st.reqId} tx=${tx}${st.len === undefined ? '' : ` len=${st.len}`}${st.thenClose === true ? ' +close' : ''} ${show(p)}`;
}

function genSequence(seed: number): { steps: Step[]; conns: number } {
  const r = rng(seed);
  const conns = 1 + Math.floor(r() * 3);
  const steps: Step[] = [];
  let starts = 0;
  for (let i = 0; i < STEPS; i++) {
    const st = genStep(r, () => starts, conns);
    if (st.type === 6) starts++;
    steps.push(st);
  }
  return { steps, conns };
}

// ---- Xen's clients ----------------------------------------------------------------------------

function genCli(r: () => number): [string, string[]] {
  const p = (): string => pick(r, [...GOOD, ...REL, '/a/b/c/d', '/nope/x', '', '/a/', '/x y']);
  const x = r();
  if (x < 0.25) return ['xenstore-write', r() < 0.2 ? [p(), genValue(r).slice(0, 50).replace(/\0/g, ''), p(), 'w2'] : [p(), pick(r, ['v', '', 'a\\x01b', 'q q'])]];
  if (x < 0.4) return ['xenstore-read', r() < 0.3 ? ['-p', p(), p()] : [p()]];
  if (x < 0.5) return ['xenstore-ls', pick(r, [[p()], ['-p', p()], ['-f', p()], []])];
  if (x < 0.6) return ['xenstore-list', r() < 0.3 ? ['-p', p()] : [p()]];
  if (x < 0.7) return ['xenstore-rm', r() < 0.3 ? ['-t', p()] : [p()]];
  if (x < 0.8) return ['xenstore-chmod', [...(r() < 0.2 ? ['-r'] : []), p(), ...Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(r, PERMS))]];
  if (x < 0.9) return ['xenstore-exists', [p()]];
  return ['xenstore-watch', ['-n', '1', p()]];
}

// ---- the tests --------------------------------------------------------------------------------

describe('dom0 xenstored against Xen 4.17 xenstored (DOM0_XEN_REF=1)', { skip: !enabled && 'set DOM0_XEN_REF=1' }, () => {
  const seeds = ONE_SEED !== undefined ? [Number(ONE_SEED)] : Array.from({ length: SEEDS }, (_, i) => i + 1);
  let compared = 0;
  after(() => console.error(`xen-ref: compared ${compared} request/reply streams`));

  it(`raw request sequences: ${seeds.length} seeds × ${STEPS} steps`, { timeout: 600_000 }, async () => {
    const failures: string[] = [];
    for (const seed of seeds) {
      const { steps, conns } = genSequence(seed);
      const xen = await startXen();
      const ours = await startOurs();
      try {
        const a = await runSide(xen, steps, conns);
        const b = await runSide(ours, steps, conns);
        compared += steps.length;
        if (ONE_SEED !== undefined) steps.forEach((s, i) => console.error(`${i}: ${describeStep(s)}`));
        for (let i = 0; i < conns; i++) {
          const sa = a[i]!;
          const sb = b[i]!;
          const k = sa.findIndex((v, j) => v[0] !== sb[j]?.[0]);
          if (k >= 0 || sa.length !== sb.length) {
            const at = k >= 0 ? k : Math.min(sa.length, sb.length);
            const step = sa[at]?.[1] ?? sb[at]?.[1] ?? -1;
            const prev = sa.slice(Math.max(0, at - 2), at).map((e) => e[0]);
            failures.push(`seed ${seed} conn ${i} message ${at}, step ${step}: ${step >= 0 ? describeStep(steps[step]!) : ''}\n  xen:  ${sa[at]?.[0] ?? '<end>'}\n  dom0: ${sb[at]?.[0] ?? '<end>'}\n  before: ${prev.join(' | ')}`);
            break;
          }
        }
      } finally {
        await xen.stop();
        await ours.stop();
      }
    }
    assert.deepEqual(failures, []);
  });

  it('Xen\'s xenstore-control: same exit code and output (CONTROL without live-update and quota names)', async () => {
    const ref = process.env.DOM0_XEN_REF_DIR ?? '/var/cache/dom0/xen-ref';
    const bin = join(ref, 'root', 'usr', 'lib', 'xen-4.17', 'bin', 'xenstore-control');
    const env = { ...process.env, LD_LIBRARY_PATH: join(ref, 'root', 'usr', 'lib', 'x86_64-linux-gnu') };
    const cmds = [['check'], ['print', 'hello'], ['log', 'on'], ['log', 'off'], ['log'], ['log', 'maybe'], ['quota-soft'],
      ['quota-soft', 'set', 'memory', '100'], ['quota-soft'], ['quota-soft', 'set', 'nodes', '1'], ['quota', 'set', 'nodes', '0'],
      ['quota', 'set', 'bogus', '1'], ['quota', 'set', 'nodes', '7'], ['nope'], ['check', 'extra']];
    const run = (sock: string, args: string[]): Promise<string> => new Promise((resolve) => {
      execFile(bin, args, { env: { ...env, XENSTORED_PATH: sock }, timeout: 10_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        // After an error the client prints the server's `help`, whose command list differs.
        resolve(`${code}|${stdout}|${stderr}`.replace(/(Valid commands are:\n)[\s\S]*/, '$1<help>'));
      });
    });
    const xen = await startXen();
    const ours = await startOurs();
    const failures: string[] = [];
    try {
      for (const c of cmds) {
        const a = await run(xen.socket, c);
        const b = await run(ours.socket, c);
        compared++;
        if (a !== b) failures.push(`xenstore-control ${c.join(' ')}\n  xen:  ${show(a)}\n  dom0: ${show(b)}`);
      }
    } finally {
      await xen.stop();
      await ours.stop();
    }
    assert.deepEqual(failures, []);
  });

  it('Xen\'s xenstore-* clients: same exit code, stdout and stderr', { timeout: 600_000 }, async () => {
    const failures: string[] = [];
    const cliSeeds = seeds.slice(0, Math.max(1, Math.ceil(seeds.length / 4)));
    for (const seed of cliSeeds) {
      const r = rng(seed * 7919);
      const xen = await startXen();
      const ours = await startOurs();
      try {
        for (let i = 0; i < STEPS; i++) {
          const [cmd, args] = genCli(r);
          const ra = await xs(xen.socket, cmd, args);
          const rb = await xs(ours.socket, cmd, args);
          compared++;
          const norm = (s: string, sock: string): string => s.split(sock).join('<socket>');
          const ka = `${ra.code}|${norm(ra.stdout, xen.socket)}|${norm(ra.stderr, xen.socket)}`;
          const kb = `${rb.code}|${norm(rb.stdout, ours.socket)}|${norm(rb.stderr, ours.socket)}`;
          if (ka !== kb) {
            failures.push(`seed ${seed} step ${i}: ${cmd} ${args.map(show).join(' ')}\n  xen:  ${show(ka)}\n  dom0: ${show(kb)}`);
            break;
          }
        }
      } finally {
        await xen.stop();
        await ours.stop();
      }
    }
    assert.deepEqual(failures, []);
  });
});
