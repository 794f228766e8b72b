// The xl commands of a host without the feature (Flask, PSR, hypfs, driver domains, Remus, tmem)
// and the small host commands (vm-list, sharing, claims, xenstore quotas, button-press): output
// and exit status as Xen's xl, run in process against an in-process dom0d (no QEMU).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startDom0d } from '../../src/daemon/dom0d.js';
import type { Dom0d } from '../../src/daemon/dom0d.js';
import { ProcessOnlyDriver } from '../../src/domain/index.js';
import { readPsrFeatures } from '../../src/host/index.js';
import { runXl } from '../support/xl.js';
import type { XlRun } from '../support/xl.js';

const root = mkdtempSync('/tmp/dom0-xl-misc-');
const env = {
  DOM0_CONFIG_DIR: join(root, 'etc'),
  DOM0_STATE_DIR: join(root, 'state'),
  DOM0_RUN_DIR: join(root, 'run'),
  DOM0_LOG_DIR: join(root, 'log'),
};
let dom0d: Dom0d | undefined;
after(async () => {
  await dom0d?.stop();
  rmSync(root, { recursive: true, force: true });
});

function xl(...argv: string[]): Promise<XlRun> {
  return runXl(argv, { env, cwd: root });
}

/** The run as [status, stdout, stderr]. */
async function run(...argv: string[]): Promise<[number, string, string]> {
  const r = await xl(...argv);
  return [r.rc, r.stdout, r.stderr];
}

const helpOf = async (cmd: string): Promise<string> => (await xl('help', cmd)).stdout;

test('without dom0d: tmem-* and dt-overlay are not in x86 Xen\'s table; Flask, hypfs, devd answer as Xen without them', async () => {
  for (const cmd of ['tmem-list', 'tmem-freeze', 'tmem-thaw', 'tmem-set', 'tmem-shared-auth', 'dt-overlay']) {
    assert.deepEqual(await run(cmd, 'x'), [1, '', 'command not implemented\n'], cmd);
  }
  // xl's Flask commands parse no options: -h is an argument.
  assert.deepEqual(await run('getenforce'), [255, 'Flask XSM Disabled\n', '']);
  assert.deepEqual(await run('getenforce', '-h'), [255, 'Flask XSM Disabled\n', '']);
  const json = await xl('getenforce', '--json');
  assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'NOT_SUPPORTED');
  const setenforceHelp = await helpOf('setenforce');
  for (const args of [[], ['-h'], ['2'], ['maybe']]) assert.deepEqual(await run('setenforce', ...args), [2, setenforceHelp, ''], args.join(' '));
  for (const mode of ['0', '1', 'PERMISSIVE', 'enforcing']) assert.deepEqual(await run('setenforce', mode), [255, '', 'Flask XSM disabled\n'], mode);
  assert.deepEqual(await run('loadpolicy'), [2, await helpOf('loadpolicy'), '']);
  assert.deepEqual(await run('loadpolicy', 'no-such.pol'), [255, '', "Error occurred opening policy file 'no-such.pol': No such file or directory\n"]);
  assert.deepEqual(await run('loadpolicy', '/'), [255, '', 'Unable to read new Flask policy file: Is a directory\n']);
  // xl reads the size the file has: a device gives nothing (it is not read without end).
  assert.deepEqual(await run('loadpolicy', '/dev/zero'), [255, '', 'Flask XSM disabled\n']);
  // A save file is a plain file: a device, directory or FIFO is refused at once, not read or waited on.
  execFileSync('mkfifo', [join(root, 'fifo.save')]);
  for (const f of ['/dev/zero', root, join(root, 'fifo.save')]) {
    const [code, out, err] = await run('restore', f);
    assert.deepEqual([code, out], [1, ''], f);
    assert.match(err, new RegExp(`^Cannot open save file '${f}': not a plain file .*\nhint: `), f);
  }
  // A sparse file of 8 GiB: xl would try to allocate it all; it gave "Unknown error ERR_OUT_OF_RANGE".
  execFileSync('truncate', ['-s', '8G', join(root, 'huge.pol')]);
  assert.deepEqual(await run('loadpolicy', join(root, 'huge.pol')), [255, '', 'Unable to read new Flask policy file: File too large\n']);
  writeFileSync(join(root, 'xenpolicy'), 'policy');
  assert.deepEqual(await run('loadpolicy', 'xenpolicy'), [255, '', 'Flask XSM disabled\n']);

  const setParams = await run('set-parameters', 'sched_ratelimit_us=100 noreboot');
  assert.equal(setParams[0], 1);
  assert.match(setParams[2], /^libxl: error: libxl\.c:626:libxl_set_parameters: opening Xen hypfs: Function not implemented\ncannot set parameters: sched_ratelimit_us=100 noreboot\nhint: /);
  assert.equal((await xl('set-parameters')).rc, 2);

  assert.deepEqual(await run('devd', '-x'), [2, '', "option `x' not supported.\n"]);
  assert.deepEqual(await run('devd', '-h'), [0, await helpOf('devd'), '']);
  const devd = await run('devd', '-F', '--pidfile', join(root, 'devd.pid'));
  assert.equal(devd[0], 1);
  assert.match(devd[2], /^xl devd: dom0d runs the device backends of every domain; there is no driver domain to serve\nhint: /);
  assert.equal(existsSync(join(root, 'devd.pid')), false);
});

test('without dom0d: the usage errors of the new commands, in xl\'s order and with its statuses', async () => {
  const bp = await xl('button-press');
  assert.deepEqual([bp.rc, bp.stdout], [2, await helpOf('button-press')]);
  assert.equal(bp.stderr, 'WARNING: "button-press" is deprecated. Please use "trigger"\n\'xl button-press\' requires at least 2 arguments.\n\n');
  assert.deepEqual(await run('button-press', '-h'), [0, await helpOf('button-press'), 'WARNING: "button-press" is deprecated. Please use "trigger"\n']);
  assert.deepEqual(await run('remus', 'g1'), [2, await helpOf('remus'), "'xl remus' requires at least 2 arguments.\n\n"]);
  assert.deepEqual(await run('xenstore-quota-get'), [1, '', 'Domain or "-g" must be specified.\n']);
  assert.deepEqual(await run('xenstore-quota-get', '-g', '0'), [1, '', 'Domain or "-g" must be specified.\n']);
  assert.deepEqual(await run('xenstore-quota-set', '-g'), [1, await helpOf('xenstore-quota-set'), 'Not enough parameters.\n']);
  const bad = await run('xenstore-quota-set', '-g', 'nodes=10', 'watches');
  assert.deepEqual([bad[0], bad[1]], [1, '']);
  assert.match(bad[2], /^Quota specification "watches" lacks "="\.\nhint: /);
  assert.deepEqual(await run('psr-cmt-show', 'bogus-type'), [2, await helpOf('psr-cmt-show'), '']);
  assert.deepEqual(await run('psr-cmt-show', 'cache-occupancy', 'a', 'b'), [2, await helpOf('psr-cmt-show'), '']);
  assert.equal((await xl('psr-cat-set', 'g1')).rc, 2);
  assert.match((await xl('psr-cat-set', '-l', '4', 'g1', '0xf')).stderr, /^Input lvl 4 is wrong\n/);
  assert.match((await xl('psr-cat-set', '-c', '-d', 'g1', '0xf')).stderr, /^Cannot handle -c and -d at the same time\n/);
  assert.deepEqual(await run('psr-cat-set', 'g1', '0xf', 'extra'), [2, await helpOf('psr-cat-set'), '']);
  assert.deepEqual(await run('psr-mba-set', 'g1'), [1, await helpOf('psr-mba-set'), '']);
  assert.deepEqual(await run('psr-mba-show', 'a', 'b'), [2, await helpOf('psr-mba-show'), '']);
  assert.deepEqual(await run('psr-cat-show', 'a', 'b'), [2, await helpOf('psr-cat-show'), '']);
  assert.deepEqual(await run('sharing', 'a', 'b'), [1, await helpOf('sharing'), '']);
  assert.equal(await helpOf('claims'), 'Usage: xl [-vtT] claims \n\nList outstanding claim information about all domains.\n\nOptions:\n\n\n');
  assert.equal(existsSync(join(env.DOM0_RUN_DIR, 'api.sock')), false, 'no dom0d was started');
});

test('with dom0d', async (t) => {
  dom0d = await startDom0d({ env, log: () => undefined, driver: () => new ProcessOnlyDriver() });
  const g1 = await dom0d.api.registerDomain({
    config: { c_info: { type: 'pv', name: 'g1' }, b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 262144, target_memkb: 262144 } },
  });
  await dom0d.xenstored.introduceDomain(g1.domid);
  const sockets = new Set((await dom0d.api.hostInfo()).facts.cpus.map((c) => c.socket)).size;
  const psr = readPsrFeatures();

  await t.test('vm-list lists Domain-0 and the guests (Xen\'s libxl_list_vm does)', async () => {
    const [rc, out, err] = await run('vm-list');
    assert.deepEqual([rc, err], [0, '']);
    assert.equal(out, 'UUID                                  ID    name\n' +
      `00000000-0000-0000-0000-000000000000  0    ${'Domain-0'.padEnd(30)}\n${g1.uuid}  ${g1.domid}    ${'g1'.padEnd(30)}\n`);
    assert.deepEqual((JSON.parse((await xl('vm-list', '--json')).stdout) as Array<{ name: string }>).map((d) => d.name), ['Domain-0', 'g1']);
  });

  await t.test('migrate refuses Domain-0, with -C too, before any transport runs', async () => {
    writeFileSync(join(root, 'any.cfg'), 'name = "any"\n');
    const marker = join(root, 'transport-ran');
    const [code, out, err] = await run('migrate', '-C', join(root, 'any.cfg'), '-s', `touch ${marker};`, '0', 'host');
    assert.deepEqual([code, out, err.split('\n')[0]], [1, '', 'Cannot migrate Domain-0: it is the host']);
    assert.equal(existsSync(marker), false);
  });

  await t.test('sharing: Shared is 0; a domain as xl list takes it', async () => {
    const [rc, out] = await run('sharing');
    assert.equal(rc, 0);
    assert.match(out, /^Name {40}ID {3}Mem Shared\nDomain-0 {32} {5}0 +\d+  {5}0\ng1 {38} {5}1 {3}256  {5}0\n$/);
    assert.deepEqual(await run('sharing', 'g1'), [0, `Name                                        ID   Mem Shared\n${'g1'.padEnd(40)}     1   256      0\n`, '']);
    assert.deepEqual(await run('sharing', '7'), [1, '', "Error: Domain '7' does not exist.\n"]);
    assert.deepEqual(await run('sharing', 'nope'), [1, '', 'nope is an invalid domain identifier (rc=-6)\n']);
  });

  await t.test('claims: xl list with a Claimed column of 0; a note when claim_mode is off', async () => {
    const table = /^Name {40}ID {3}Mem VCPUs\tState\tTime\(s\)  Claimed\nDomain-0 .* {5}0\ng1 {38} {5}1 {3}256 {5}1 {5}r----- {7}0\.0 {5}0\n$/;
    const [rc, out, err] = await run('claims');
    assert.deepEqual([rc, err], [0, '']);
    assert.match(out, table);
    const conf = join(root, 'conf-noclaim');
    mkdirSync(conf);
    writeFileSync(join(conf, 'xl.conf'), 'claim_mode = 0\n');
    const off = await runXl(['claims'], { env: { ...env, DOM0_CONFIG_DIR: conf }, cwd: root });
    assert.deepEqual([off.rc, off.stderr], [0, 'claim_mode not enabled (see man xl.conf).\n']);
    assert.match(off.stdout, table);
  });

  await t.test('psr-* on a host without Intel RDT answer as Xen\'s xl', { skip: psr.source !== 'none' && `this host has RDT (${psr.source})` }, async () => {
    const cmt = 'Cache Monitoring Technology (CMT):\nEnabled         : 0\n';
    assert.deepEqual(await run('psr-hwinfo'), [253, cmt, '']);
    assert.deepEqual(await run('psr-hwinfo', '--cmt'), [0, cmt, '']);
    assert.deepEqual(await run('psr-hwinfo', '-a'), [253, '', '']);
    assert.deepEqual(await run('psr-hwinfo', '-m', '-b'), [253, cmt, '']);
    assert.deepEqual(JSON.parse((await xl('psr-hwinfo', '-m', '--json')).stdout), { cmt: { enabled: false } });
    const noCmt = 'libxl: error: libxl_psr.c:71:libxl__psr_cmt_log_err_msg: CMT is not supported in this system: No such device\n';
    const noDomain = 'libxl: error: libxl_psr.c:46:libxl__psr_log_err_msg: invalid domain ID: No such process\n';
    assert.deepEqual(await run('psr-cmt-attach', 'g1'), [253, '', noCmt]);
    assert.deepEqual(await run('psr-cmt-detach', '0'), [253, '', noCmt]);
    assert.deepEqual(await run('psr-cmt-attach', '9'), [253, '', noDomain]);
    assert.deepEqual(await run('psr-cmt-detach', 'nope'), [1, '', 'nope is an invalid domain identifier (rc=-6)\n']);
    assert.deepEqual(await run('psr-cmt-show', 'total-mem-bandwidth'), [255, '', 'CMT is disabled in the system\n']);
    assert.deepEqual(await run('psr-cmt-show', 'cache-occupancy', 'g1'), [255, '', 'CMT is disabled in the system\n']);
    const alloc = (feature: string): string => `libxl: error: libxl_psr.c:123:libxl__psr_alloc_log_err_msg: ${feature}: is not supported in this system\n`.repeat(sockets);
    assert.deepEqual(await run('psr-cat-set', 'g1', '0xff'), [253, '', alloc('L3 CAT')]);
    assert.deepEqual(await run('psr-cat-set', '-d', 'g1', '0xff'), [253, '', alloc('CDP')]);
    assert.deepEqual(await run('psr-cat-set', '--level=2', '-s', '0', 'g1', '0xff'), [253, '', alloc('L2 CAT').slice(0, alloc('L2 CAT').length / sockets)]);
    assert.deepEqual(await run('psr-cat-set', '9', '0xff'), [253, '', noDomain.repeat(sockets)]);
    if (sockets < 8) assert.deepEqual(await run('psr-cat-set', '-s', '7', 'g1', '0xff'), [0, '', '']);
    assert.deepEqual(await run('psr-cat-show'), [253, '', 'Failed to get info\n']);
    assert.deepEqual(await run('psr-cat-show', '-l', '2', 'g1'), [253, '', 'Failed to get info\n']);
    assert.match((await xl('psr-cat-show', '-l', '9', 'g1')).stderr, /^Input lvl 9 is wrong\n/);
    assert.deepEqual(await run('psr-cat-show', 'nope'), [1, '', 'nope is an invalid domain identifier (rc=-6)\n']);
    assert.deepEqual(await run('psr-mba-set', 'g1', '10'), [253, '', alloc('MBA')]);
    assert.deepEqual(await run('psr-mba-show', 'g1'), [253, '', 'Failed to get info\n']);
  });

  await t.test('xenstore-quota-get/-set talk to dom0d\'s xenstored (GET_QUOTA / SET_QUOTA)', async () => {
    const table = (rows: Array<[string, number]>): string =>
      `Quota name           Quota value\n--------------------------------\n${rows.map(([n, v]) => `${n.padEnd(20)} ${String(v).padStart(8)}\n`).join('')}`;
    const defaults: Array<[string, number]> = [['nodes', 1000], ['watches', 128], ['outstanding', 20], ['memory', 2621440], ['soft-memory', 2097152],
      ['transactions', 10], ['transaction-nodes', 1024], ['node-permissions', 5], ['path-max', 2048], ['node-size', 2048]];
    assert.deepEqual(await run('xenstore-quota-get', '-g'), [0, table(defaults), '']);
    assert.deepEqual(await run('xenstore-quota-set', 'g1', 'nodes=0x7d0', 'soft-memory=4096'), [0, '', '']);
    const mine = defaults.map(([n, v]): [string, number] => [n, n === 'nodes' ? 2000 : n === 'soft-memory' ? 4096 : v]);
    assert.deepEqual(await run('xenstore-quota-get', 'g1'), [0, table(mine), '']);
    assert.deepEqual(await run('xenstore-quota-get', String(g1.domid)), [0, table(mine), '']);
    assert.deepEqual(await run('xenstore-quota-get', '-g'), [0, table(defaults), '']);
    const xs = dom0d!.xenstored.connect();
    assert.equal(await xs.getQuota('nodes', g1.domid), 2000);
    xs.close();
    // The first item xenstored refuses ends it; those before stay set.
    const refused = await run('xenstore-quota-set', '-g', 'watches=64', 'bogus=1', 'nodes=5');
    assert.deepEqual([refused[0], refused[1]], [1, '']);
    assert.match(refused[2], /^Quota could not be set\.\nhint: .*EINVAL/);
    assert.deepEqual((JSON.parse((await xl('xenstore-quota-get', '-g', '--json')).stdout) as Array<{ name: string; value: number }>).slice(0, 2),
      [{ name: 'nodes', value: 1000 }, { name: 'watches', value: 64 }]);
    const unknown = await run('xenstore-quota-get', '77');
    assert.deepEqual([unknown[0], unknown[1]], [1, '']);
    assert.match(unknown[2], /^Quota could not be obtained\.\nhint: .*ENOENT/);
    assert.deepEqual(await run('xenstore-quota-get', 'nope'), [1, '', 'nope is an invalid domain identifier (rc=-6)\n']);
    assert.deepEqual(await run('xenstore-quota-get', '-h'), [1, '', '-h is an invalid domain identifier (rc=-6)\n']);
    await run('xenstore-quota-set', '-g', 'watches=128');
  });

  await t.test('button-press warns, then is xl trigger', async () => {
    const warning = 'WARNING: "button-press" is deprecated. Please use "trigger"\n';
    const trigger = await run('trigger', 'g1', 'power');
    const press = await run('button-press', 'g1', 'power');
    assert.deepEqual(press, [trigger[0], trigger[1], warning + trigger[2]]);
    const triggerSleep = await run('trigger', 'g1', 'sleep');
    assert.deepEqual(await run('button-press', 'g1', 'sleep'), [triggerSleep[0], triggerSleep[1], warning + triggerSleep[2]]);
    const foo = await run('button-press', 'g1', 'foo');
    assert.deepEqual([foo[0], foo[1]], [1, '']);
    assert.match(foo[2], /^WARNING: .*\nfoo is an invalid button identifier\nhint: /);
    assert.deepEqual(await run('button-press', 'nope', 'foo'), [1, '', `${warning}nope is an invalid domain identifier (rc=-6)\n`]);
  });

  await t.test('remus: xl\'s checks, then Xen\'s failure without network buffering', async () => {
    const noNetbuf = `libxl: error: libxl_remus.c:87:libxl__remus_setup: Domain ${g1.domid}:Remus: No support for network buffering\nRemus: Backup failed? resuming domain at primary.\nhint: `;
    const r = await run('remus', 'g1', 'backup-host');
    assert.deepEqual([r[0], r[1]], [1, '']);
    assert.ok(r[2].startsWith(noNetbuf), r[2]);
    assert.deepEqual(await run('remus', 'nope', 'h'), [1, '', 'nope is an invalid domain identifier (rc=-6)\n']);
    assert.deepEqual(await run('remus', '-p', 'g1', 'h'), [255, '', 'Option -p must be used in conjunction with -c\n']);
    assert.deepEqual(await run('remus', '-c', '-i', '100', 'g1', 'h'), [255, '', 'option -c is conflict with -i, -d, -n or -b: Success\n']);
    assert.deepEqual(await run('remus', '-b', 'g1', 'h'), [1, '',
      `libxl: error: libxl_domain.c:446:libxl_domain_remus_start: Domain ${g1.domid}:Unsafe mode must be enabled to replicate to /dev/null,disable network buffering and disk replication\nRemus: Backup failed? resuming domain at primary.\n`]);
    assert.ok((await xl('remus', '-b', '-F', 'g1', 'h')).stderr.startsWith(noNetbuf));
    const colo = await run('remus', '-c', '-u', 'g1', 'h');
    assert.deepEqual([colo[0], colo[1]], [1, '']);
    assert.match(colo[2], /^COLO: Backup failed\? resuming domain at primary\.\nhint: /);
    assert.deepEqual(await run('remus', '9', 'h'), [1, '', 'unable to retrieve domain configuration\n']);
    assert.deepEqual(await run('remus', '-b', '9', 'h'), [0, '',
      'libxl: error: libxl_dom.c:37:libxl__domain_type: Domain 9:unable to get dominfo: No such process\nRemus: Primary domain has been destroyed.\n']);
  });
});
