// Every API operation against a real dom0d (autostarted by xl) and a real guest (QEMU, TCG: the
// test kernel booted directly as HVM, with a CD-ROM drive, a channel and VNC): each request body
// is valid against its operation's request schema in the /openapi.json that dom0d serves, each
// reply against its result schema (200) or `Error` (any other status), as the bytes came over
// api.sock. Steps in order: host-wide reads and settings; a guest created from parseConfig's
// config and every per-domain operation on it; CPU pools around it; save, restore, reboot,
// migrate (to a socket this test reads), shutdown, destroy; numa-split. Every operation must have
// given a result, but pci-assignable-add/-remove, which need an IOMMU and a device to give: their
// errors are validated instead.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readFileSync, readlinkSync, readSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { API_ROUTES, MAX_CONFIG_TEXT_BYTES } from '../../src/api/index.js';
import type { ApiOperation, DomainInfo, ToolstackApi } from '../../src/api/index.js';
import { routeRequest } from '../../src/api/routes.js';
import { readSaveFileHeader } from '../../src/api/index.js';
import type { LibxlJsonObject } from '../../src/config/index.js';
import { directBootConfig, ensureGuests, GuestConsole, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { OpenApiValidator } from '../support/openapi.js';
import { destroyDomains, destroyHost, makeHost, pidsNaming, until, xl, xsRead } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;
let validator: OpenApiValidator;
let con: GuestConsole | undefined;
/** What each operation gave: a result, or (only) an error. */
const seen = new Map<ApiOperation, 'result' | 'error'>();
/** The operations that cannot give a result on a host without an IOMMU and a device to spare. */
const ERROR_ONLY: readonly ApiOperation[] = ['addAssignablePci', 'removeAssignablePci'];

const file = (name: string): string => join(host.root, name);

/** One HTTP exchange over api.sock: the status and the JSON reply. */
function exchange(method: string, path: string, body?: object): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: host.socket, method, path, headers: payload === undefined ? {} : { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

type Req<K extends ApiOperation> = Parameters<ToolstackApi[K]> extends [infer R] ? R : undefined;
type Res<K extends ApiOperation> = Awaited<ReturnType<ToolstackApi[K]>>;

/** Sends operation `op`; the reply is validated against the document, whatever it is. */
async function send<K extends ApiOperation>(op: K, req: Req<K>): Promise<{ status: number; json: unknown }> {
  const route = API_ROUTES[op];
  const { path, body } = routeRequest(route, req ?? undefined);
  const reply = await exchange(route.method, path, route.method === 'POST' ? body : undefined);
  const part = reply.status === 200 ? 'result' : 'error';
  assert.deepEqual(validator.problems(validator.pointer(op, part), reply.json), [], `${op} ${part}: ${JSON.stringify(reply.json)}`);
  if (seen.get(op) !== 'result') seen.set(op, part);
  return reply;
}

/** Operation `op` with a request valid against its schema; its result. */
async function ok<K extends ApiOperation>(op: K, ...req: Req<K> extends undefined ? [] : [Req<K>]): Promise<Res<K>> {
  const r = req[0] as Req<K>;
  if (API_ROUTES[op].method === 'POST') {
    assert.deepEqual(validator.problems(validator.pointer(op, 'request'), routeRequest(API_ROUTES[op], r ?? undefined).body), [], `${op} request`);
  }
  const reply = await send(op, r);
  assert.equal(reply.status, 200, `${op}: ${JSON.stringify(reply.json)}`);
  return reply.json as Res<K>;
}

/** Operation `op` failing with error `code`. */
async function fails<K extends ApiOperation>(op: K, req: Req<K>, code: string): Promise<void> {
  const reply = await send(op, req);
  assert.notEqual(reply.status, 200);
  assert.equal((reply.json as { error: { code: string } }).error.code, code, JSON.stringify(reply.json));
}

before(async () => {
  guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  host.env['DOM0_RESTART_DELAY_MS'] = '100';
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file('data.qcow2'), '16M']);
  assert.equal((await xl(host, 'list')).code, 0);
  const doc = await exchange('GET', '/openapi.json');
  assert.equal(doc.status, 200);
  validator = new OpenApiValidator(doc.json as Record<string, unknown>);
});

after(async () => {
  con?.close();
  await destroyDomains(host);
  await destroyHost(host);
  for (const pid of pidsNaming(join(host.runDir, 'domains'))) process.kill(pid, 'SIGKILL');
});

test('host-wide reads and settings', async () => {
  await ok('daemonInfo');
  await ok('hostInfo');
  assert.equal((await ok('listDomains'))[0]?.name, 'Domain-0');
  await ok('domainStats');
  await ok('getScheduling');
  assert.deepEqual(await ok('listDomainConfigs'), []);
  await ok('listAssignablePci');
  await ok('sendDebugKeys', { keys: 'h' });
  assert.notEqual((await ok('readDmesg', {})).text, '');
  const quotas = await ok('getXenstoreQuota', { scope: 'global' });
  assert.ok(quotas.length > 0);
  assert.deepEqual(await ok('setXenstoreQuota', { scope: 'global', quotas }), quotas);
  await fails('addAssignablePci', { bdf: '0000:ff:1f.7' }, 'PCI_DEVICE');
  await fails('removeAssignablePci', { ident: '0000:ff:1f.7' }, 'PCI_DEVICE');
});

let dom = 0;

test('a guest from parseConfig, and every operation on a domain', async () => {
  const text = [
    ...directBootConfig(guests, 'api', { hvm: true }).filter((l) => l !== 'vnc = 0'),
    'vnc = 1', 'vnclisten = "127.0.0.1"', 'vncpasswd = "secret"',
    "disk = [ ',hdc:cdrom,r' ]", 'channel = [ "name=org.dom0.api,connection=pty" ]',
  ].join('\n');
  // The config is a file of dom0d's config directory, listed and read through the API.
  mkdirSync(host.env['DOM0_CONFIG_DIR'] as string, { recursive: true });
  const cfg = join(host.env['DOM0_CONFIG_DIR'] as string, 'api.cfg');
  writeFileSync(cfg, text);
  assert.deepEqual((await ok('listConfigFiles')).files.map((f) => f.name), ['api.cfg']);
  assert.equal((await ok('readConfigFile', { name: 'api.cfg' })).text, text);
  const parsed = await ok('parseConfig', { text, source: 'api.cfg' });
  // 62 bytes that expand to a million vCPU maps: refused at the machine's limit before they expand.
  await fails('parseConfig', { text: 'name="a"\nkernel="/k"\nvcpus=1048576\ncpus="all"\ncpus_soft="all"\n' }, 'CFG_VALUE');
  await fails('createDomain', { config: parsed.config, source: cfg, sourceText: 'x'.repeat(MAX_CONFIG_TEXT_BYTES + 1) }, 'USAGE');
  // QEMU unlinks an incoming socket's path before it listens: a path where something is is refused, the file kept.
  await fails('createDomain', { config: parsed.config, incoming: { socket: cfg } }, 'USAGE');
  assert.equal(readFileSync(cfg, 'utf8'), text);
  dom = (await ok('createDomain', { config: parsed.config, source: cfg, sourceText: text })).domid;
  con = await GuestConsole.connect(xsRead(host, `/local/domain/${dom}/serial/0/tty`));
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 90_000 });
  const ref = 'api';
  await ok('getDomain', { ref });
  const source = await ok('getDomainSource', { ref });
  assert.deepEqual([source.text, source.file?.text], [text, text]);
  assert.ok((await ok('getDomainXenstore', { ref })).nodes.some((n) => n.path === `/local/domain/${dom}/name`));
  await ok('getDomainLog', { ref });
  const { config } = await ok('getDomainConfig', { ref });
  await ok('updateDomainConfig', { ref, config });
  assert.equal((await ok('listDomainConfigs')).length, 1);
  await ok('domainStats');
  await ok('listVcpus', { ref });
  await ok('setVcpuAffinity', { ref, vcpu: 'all', hard: [0, 1] });
  await ok('setVcpus', { ref, count: 1 });
  const mem = await ok('getDomain', { ref });
  await ok('setMemory', { ref, targetKiB: mem.memKiB });
  await ok('attachConsole', { ref });
  assert.equal((await ok('getVnc', { ref })).password, 'secret');
  const layout = await ok('getMachineLayout', { ref });
  assert.ok(layout.ramKiB > 0 && layout.pci.some((p) => p.id === 'balloon0'), JSON.stringify(layout));
  assert.equal((await ok('listChannels', { ref })).length, 1);
  await ok('sendSysrq', { ref, key: 'h' });
  await ok('sendTrigger', { ref, trigger: 'nmi' });
  await ok('monitorCommand', { ref, command: 'info status' });
  await ok('attachDevice', { ref, kind: 'vbd', device: { pdev_path: file('data.qcow2'), vdev: 'xvde', format: 'qcow2', readwrite: 1 } });
  assert.equal((await ok('listDevices', { ref, kind: 'vbd' })).length, 2);
  await ok('detachDevice', { ref, kind: 'vbd', id: 'xvde', force: true });
  await ok('changeMedia', { ref, disk: { pdev_path: guests.cdrom, vdev: 'hdc', format: 'raw', removable: 1, is_cdrom: 1 } });
  await ok('pauseDomain', { ref });
  await ok('unpauseDomain', { ref });
  // The log view shows the file the running QEMU writes its stderr to: it follows the renames.
  const qemuStderr = (): string => readlinkSync(`/proc/${xsRead(host, `/local/domain/${dom}/image/device-model-pid`)}/fd/2`);
  await ok('renameDomain', { ref, name: 'api2' });
  assert.equal((await ok('getDomainLog', { ref: 'api2' })).file, join(host.logDir, 'qemu-api2.log'));
  assert.equal(qemuStderr(), join(host.logDir, 'qemu-api2.log'));
  await ok('renameDomain', { ref: 'api2', name: 'api' });
  assert.equal((await ok('getDomainLog', { ref })).file, qemuStderr());
  await ok('dumpCore', { ref, file: file('api.core') });
  await ok('suspendDomain', { ref });
  await ok('resumeDomain', { ref });
});

test('CPU pools and scheduling around the guest', async () => {
  const ref = 'api';
  await ok('setDomainSched', { ref, sched: 'credit2', weight: 512 });
  await ok('setPoolSched', { pool: 'Pool-0', sched: 'credit2', ratelimitUs: 1000 });
  await ok('removeCpupoolCpus', { pool: 'Pool-0', cpus: [1] });
  await ok('createCpupool', { name: 'rt', sched: 'rtds', cpus: [1] });
  await ok('migrateToCpupool', { ref, pool: 'rt' });
  await ok('setVcpuSched', { ref, all: { period: 10_000, budget: 4_000, extratime: true } });
  await ok('renameCpupool', { pool: 'rt', name: 'rt2' });
  await ok('migrateToCpupool', { ref, pool: 'Pool-0' });
  await ok('destroyCpupool', { pool: 'rt2' });
  await ok('addCpupoolCpus', { pool: 'Pool-0', cpus: [1] });
  await fails('setVcpuSched', { ref, all: { period: 10_000, budget: 4_000, extratime: true } }, 'SCHED');
});

test('save, restore, reboot, migrate, shutdown, destroy; numa-split', async () => {
  const ref = 'api';
  const saved = await ok('saveDomain', { ref, file: file('api.save') });
  assert.equal(saved.domain, null);
  const fd = openSync(file('api.save'), 'r');
  const head = Buffer.alloc(1 << 20);
  const info = readSaveFileHeader(head.subarray(0, readSync(fd, head, 0, head.length, 0)), file('api.save'));
  closeSync(fd);
  // As xl restore does: the machine as the save file's header has it (under TCG its RAM is not the config's).
  await ok('createDomain', { config: (info.config ?? {}) as LibxlJsonObject, restore: { file: file('api.save'), offset: info.streamOffset }, ...(info.layout === undefined ? {} : { layout: info.layout }) });
  await ok('rebootDomain', { ref });
  await until('the rebooted guest running', async () => {
    const r = await send('getDomain', { ref });
    return r.status === 200 && (r.json as DomainInfo).state === 'running';
  }, 60_000);
  // The stream goes into a named pipe; a reader of its own takes it here.
  const fifo = file('migrate.fifo');
  execFileSync('mkfifo', [fifo]);
  const received = new Promise<number>((resolve) => {
    let bytes = 0;
    const r = new Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    r.on('data', (d: Buffer) => (bytes += d.length));
    r.on('end', () => resolve(bytes));
  });
  // Claimed first (xl migrate, before its transport): another claim is refused, the claimer's
  // migrateDomain runs.
  await ok('claimMigration', { ref, holder: process.pid });
  assert.equal((await send('claimMigration', { ref, holder: 1 })).status, 409);
  await ok('migrateDomain', { ref, fifo, holder: process.pid });
  assert.ok(await received > 0);
  assert.equal((await ok('getMigrationProgress', { ref })).status, 'completed');
  // Another migration is refused until the sending xl ends the first (its target failed, say).
  assert.equal((await send('migrateDomain', { ref, fifo })).status, 409);
  await ok('endMigration', { ref });
  await ok('shutdownDomain', { ref });
  await ok('destroyDomain', { ref });
  await ok('numaSplitCpupools');
});

test('dom0d checks every body against its schema first: a typo or a wrong type is one 400 saying where', async () => {
  const typo = await exchange('POST', '/v1/domains/no-such-domain/destroy', { forse: true });
  assert.equal(typo.status, 400);
  assert.deepEqual((typo.json as { error: { code: string; message: string } }).error.message, 'Bad API request: /forse is not a field here (known: force)');
  const wrong = await exchange('POST', '/v1/domains/no-such-domain/memory', { targetKiB: '64M' });
  assert.equal(wrong.status, 400);
  assert.match((wrong.json as { error: { message: string } }).error.message, /^Bad API request: \/targetKiB must be an integer \(got "64M"\)$/);
});

test('every operation was validated: a result from each, an error from those that need a device', () => {
  for (const op of Object.keys(API_ROUTES) as ApiOperation[]) assert.equal(seen.get(op), ERROR_ONLY.includes(op) ? 'error' : 'result', op);
});
