// xl as a process meets the ways a shell can leave it: standard output closed by its reader
// (`xl ... | head`), standard output on a full disk, a working directory removed under it. Each
// ends with at most one line, never a Node stack trace. And a stray SIGUSR1, which makes a Node
// process open a debugger port by default. No dom0d runs (xenstored alone, for the signal).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { saveFileHeader } from '../../src/api/index.js';
import { MAX_RUN_DIR_BYTES } from '../../src/common/index.js';
import { dom0CgroupName } from '../../src/domain/index.js';
import { findCpuCgroups } from '../../src/host/index.js';

const XL = join(import.meta.dirname, '..', '..', '..', 'bin', 'xl');
const root = mkdtempSync('/tmp/dom0-xl-process-');
after(() => rmSync(root, { recursive: true, force: true }));

test('standard output closed by its reader: xl ends silently, as on SIGPIPE (141)', async () => {
  const child = spawn(XL, ['help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // long before Node has started and xl writes
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise((r) => child.on('close', r));
  assert.deepEqual([code, err], [141, '']);
});

test('standard output on a full disk: one line, exit 1', () => {
  const full = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(XL, ['help'], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'xl: cannot write standard output: ENOSPC: no space left on device, write\n');
  } finally {
    closeSync(full);
  }
});

test('a working directory removed under xl: it still runs', () => {
  const gone = join(root, 'gone');
  const r = spawnSync('sh', ['-c', `mkdir "${gone}" && cd "${gone}" && rmdir "${gone}" && exec "${XL}" help`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Usage xl /);
  assert.doesNotMatch(r.stderr, /at |Error:/);
});

/** An environment whose DOM0_*_DIRs are under a new directory of `root`. */
function hostEnv(name: string): NodeJS.ProcessEnv {
  const dir = join(root, name);
  mkdirSync(dir);
  return { ...process.env, DOM0_CONFIG_DIR: join(dir, 'etc'), DOM0_STATE_DIR: join(dir, 'state'), DOM0_RUN_DIR: join(dir, 'run'), DOM0_LOG_DIR: join(dir, 'log') };
}

test('what xl cannot make for itself is one line, not an internal error: dom0d\'s log, a temporary directory', () => {
  const env = hostEnv('nolog');
  mkdirSync(join(env['DOM0_LOG_DIR'] as string, 'dom0d.log'), { recursive: true });
  let r = spawnSync(XL, ['list'], { env, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^Cannot start dom0d: EISDIR: .*dom0d\.log'\nhint: check /);
  r = spawnSync(XL, ['gdbsx', '-a', '5', '64', '47123'], { env: { ...hostEnv('notmp'), TMPDIR: join(root, 'missing') }, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^Cannot make a temporary directory in .*missing: ENOENT: .*\nhint: set TMPDIR/);
});

test('a directory where dom0d\'s socket, pid file or start lock goes: one line naming it, from xl and in dom0d\'s log', () => {
  for (const name of ['api.sock', 'dom0d.pid', 'dom0d.start.lock']) {
    const env = hostEnv(`in-the-way-${name}`);
    const inTheWay = join(env['DOM0_RUN_DIR'] as string, name);
    mkdirSync(inTheWay, { recursive: true });
    const r = spawnSync(XL, ['list'], { env, encoding: 'utf8' });
    assert.equal(r.status, 1, name);
    // Before: dom0d crashed with a stack (xl showed its last line, "Node.js v20..."), or
    // took the directory for another dom0d starting.
    const said = name === 'api.sock'
      ? `Cannot start dom0d: EISDIR: illegal operation on a directory, unlink '${inTheWay}'\nhint: check ${inTheWay}\n`
      : `${name === 'dom0d.pid' ? 'Cannot start dom0d: ' : ''}${inTheWay} is a directory, not a pid file\nhint: remove it (rm -r ${inTheWay}) if nothing of yours uses it\n`;
    assert.equal(r.stderr, said, name);
    if (name !== 'dom0d.start.lock') assert.doesNotMatch(readFileSync(join(env['DOM0_LOG_DIR'] as string, 'dom0d.log'), 'utf8'), /^\s+at /m, name);
    // A dom0d that failed to start leaves no cgroup of its own behind.
    const cgroups = findCpuCgroups();
    if (cgroups !== undefined) assert.equal(existsSync(join(cgroups.cpu, dom0CgroupName(env['DOM0_RUN_DIR'] as string))), false, name);
  }
});

test('xl migrate-receive checks the stream\'s header before it reads its config: what is no save stream is not read on', () => {
  const env = hostEnv('not-a-stream');
  let r = spawnSync(XL, ['migrate-receive'], { env, input: Buffer.alloc(4096, 0xa5), encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^migration target: Ready to receive domain\.\nFile has wrong magic number - corrupt or for a different tool\?\n/);
  // A header that promises 4 GiB of config: it was read (held in memory) before any check.
  const head = saveFileHeader('{}').subarray(0, 48);
  head.writeUInt32LE(0xffffffff, 44);
  r = spawnSync(XL, ['migrate-receive'], { env, input: head, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Savefile 'migration stream' is corrupt: its header promises 4294967295 bytes of config\n/);
});

test('signals xl was started with ignored (nohup: SIGHUP; a background job: SIGINT) stay ignored; others still stop it', async () => {
  // xl migrate-receive waits for its stream on stdin, held open here. Before, Node's start reset
  // the dispositions: `nohup xl migrate ... &` ended at logout (status 129).
  const waiting = (ignore: string): { child: ReturnType<typeof spawn>; closed: Promise<unknown>; err: () => string } => {
    const child = spawn('sh', ['-c', `trap '' ${ignore}; exec "$0" migrate-receive`, XL], { env: hostEnv(`sigign-${ignore}`), stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.resume();
    return { child, closed: new Promise((r) => child.on('close', (code, signal) => r(signal ?? code))), err: () => err };
  };
  for (const [ignore, signal] of [['HUP', 'SIGHUP'], ['INT', 'SIGINT']] as const) {
    const w = waiting(ignore);
    await new Promise((r) => setTimeout(r, 1500)); // Node started, waiting on stdin
    w.child.kill(signal);
    const early = await Promise.race([w.closed, new Promise((r) => setTimeout(() => r('running'), 500))]);
    assert.equal(early, 'running', `${signal}: ${w.err()}`);
    w.child.kill('SIGTERM');
    assert.equal(await w.closed, 'SIGTERM', 'SIGTERM (not ignored) still ends it');
  }
});

test('xl migrate-receive ends on a refused header while its sender keeps the stream open (the sender sees it close)', async () => {
  const child = spawn(XL, ['migrate-receive'], { env: hostEnv('held-stream'), stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout.resume();
  child.stdin.write(Buffer.alloc(48));
  const code = await Promise.race([
    new Promise((r) => child.on('close', r)),
    new Promise((r) => setTimeout(() => r('still running 10 s after the header'), 10_000)),
  ]);
  child.stdin.destroy();
  if (code !== 1) child.kill('SIGKILL');
  assert.equal(code, 1, err);
  assert.match(err, /File has wrong magic number/);
});

test('a save file whose config is not JSON is a corrupt save file, not an internal error', () => {
  const config = Buffer.from('{not json\0');
  const head = Buffer.alloc(48 + 4);
  head.write('Xen saved domain, xl format\n \0 \r', 0, 'latin1');
  head.writeUInt32LE(0x01020304, 32);
  head.writeUInt32LE(0x80000001, 36);
  head.writeUInt32LE(4 + config.length, 44);
  head.writeUInt32LE(config.length, 48);
  const file = join(root, 'bad.save');
  writeFileSync(file, Buffer.concat([head, config]));
  const r = spawnSync(XL, ['restore', file], { env: hostEnv('badsave'), encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`Savefile '${file}' is corrupt: its config is not JSON \\(.*\\)\\nhint: `));
  // Nested too deep to be a config (xl failed sending it on: "Maximum call stack size exceeded").
  const deep = saveFileHeader(`{"c_info":{"name":"deep","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
  writeFileSync(file, deep);
  for (const [i, args] of [['restore', file], ['migrate-receive']].entries()) {
    const d = spawnSync(XL, args, { env: hostEnv(`deepsave${i}`), encoding: 'utf8', input: deep });
    assert.equal(d.status, 1, d.stderr);
    assert.match(d.stderr, /is corrupt: its config nests deeper than 32 levels\nhint: /);
  }
});

test('a run directory too long for its sockets is refused, by xl and by dom0d, before anything is made', () => {
  const env = hostEnv('longrun');
  const runDir = join(root, 'longrun', 'r'.repeat(MAX_RUN_DIR_BYTES));
  env['DOM0_RUN_DIR'] = runDir;
  const xl = spawnSync(XL, ['list'], { env, encoding: 'utf8' });
  assert.equal(xl.status, 1);
  assert.match(xl.stderr, /^The run directory .* is too long \(\d+ bytes\) for the Unix sockets dom0 makes in it\nhint: give a DOM0_RUN_DIR of at most \d+ bytes\n$/);
  const dom0d = spawnSync(join(XL, '..', 'dom0d'), ['run'], { env, encoding: 'utf8' });
  assert.equal(dom0d.status, 1);
  assert.match(dom0d.stderr, /is too long/);
  assert.equal(existsSync(runDir), false);
});

/** The TCP ports `pid` listens on (its sockets' inodes looked up in /proc/net/tcp{,6}). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
    } catch {
      return undefined; // closed meanwhile
    }
  }).filter((x) => x !== undefined));
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((f) => readFileSync(f, 'utf8').split('\n').slice(1))
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c[3] === '0A' && inodes.has(c[9] ?? ''))
    .map((c) => Number.parseInt(c[1]?.split(':')[1] ?? '', 16));
}

/** Starts `argv`, waits until `ready` is in its output, sends SIGUSR1, and returns what it then listens on. */
async function afterSigusr1(argv: string[], ready: string, env: NodeJS.ProcessEnv): Promise<{ alive: boolean; ports: number[] }> {
  const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const seen = (c: Buffer): void => {
        out += c.toString();
        if (out.includes(ready)) resolve();
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    child.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 500));
    return { alive: child.exitCode === null && child.signalCode === null, ports: listeningPorts(child.pid as number) };
  } finally {
    child.kill('SIGKILL');
  }
}

test("SIGUSR1 opens no debugger port in xl or dom0d (Node's default: an inspector on 127.0.0.1:9229, root's code to any local user)", async () => {
  const env = hostEnv('usr1');
  assert.deepEqual(await afterSigusr1([XL, 'migrate-receive'], 'Ready to receive domain', env), { alive: true, ports: [] });
  const dom0d = join(import.meta.dirname, '..', '..', '..', 'bin', 'dom0d');
  const xs = [dom0d, 'xenstored', '--socket', join(root, 'usr1', 'xs.sock'), '--state-dir', join(root, 'usr1', 'xs')];
  assert.deepEqual(await afterSigusr1(xs, 'listening on', env), { alive: true, ports: [] });
});
