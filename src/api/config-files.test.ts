import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isToolstackError, resolvePaths } from '../common/index.js';
import { DomainManager } from '../domain/index.js';
import { MAX_CONFIG_FILE_BYTES } from './config-files.js';
import { ToolstackService } from './service.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-config-files-'));
const etc = join(root, 'etc');
let api: ToolstackService;

before(async () => {
  mkdirSync(join(etc, 'auto'), { recursive: true });
  writeFileSync(join(etc, 'b.cfg'), 'name = "b"\n');
  writeFileSync(join(etc, 'a.cfg'), 'name = "a"\nmemory = 128\n');
  writeFileSync(join(etc, 'xl.conf'), '');
  // Not domain configs: the package manager's copy of xl.conf, the API's TLS key, a backup.
  for (const name of ['xl.conf.dpkg-old', 'api-key.pem', 'web.cfg~', 'web.cfg.bak', 'xend-config.sxp']) writeFileSync(join(etc, name), 'vncpasswd = "old"\n');
  writeFileSync(join(etc, '.hidden.cfg'), 'name = "h"\n');
  writeFileSync(join(etc, 'auto', 'deep.cfg'), 'name = "deep"\n');
  writeFileSync(join(root, 'outside.cfg'), 'name = "outside"\n');
  writeFileSync(join(etc, 'big.cfg'), Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1, 0x23));
  symlinkSync('a.cfg', join(etc, 'link.cfg'));
  symlinkSync('../outside.cfg', join(etc, 'out.cfg'));
  symlinkSync('/etc', join(etc, 'host-etc'));
  execFileSync('mkfifo', [join(etc, 'fifo.cfg')]);
  const paths = resolvePaths({ DOM0_STATE_DIR: join(root, 'state'), DOM0_CONFIG_DIR: etc, DOM0_LOG_DIR: join(root, 'log') }, { uid: 0, home: '/root', cwd: '/' });
  api = new ToolstackService(await DomainManager.open({ domainsDir: paths.domainsDir }), { paths, startedAt: 0 });
});
after(() => rmSync(root, { recursive: true, force: true }));

const refused = (re: RegExp) => (e: unknown): boolean => isToolstackError(e, 'CFG_READ') && re.test(e.message);

test('listConfigFiles: regular files directly in the config dir (symlinks staying inside), by name; no directories, FIFOs, hidden files, xl.conf or links out', async () => {
  const list = await api.listConfigFiles();
  assert.equal(list.dir, etc);
  assert.equal(list.truncated, false);
  assert.deepEqual(list.files.map((f) => [f.name, f.size]), [['a.cfg', 24], ['b.cfg', 11], ['big.cfg', MAX_CONFIG_FILE_BYTES + 1], ['link.cfg', 24]]);
  assert.ok(list.files.every((f) => Number.isInteger(f.mtimeMs) && f.mtimeMs > 0));
});

test('readConfigFile: a file by name, its text', async () => {
  const f = await api.readConfigFile({ name: 'a.cfg' });
  assert.deepEqual([f.name, f.size, f.text], ['a.cfg', 24, 'name = "a"\nmemory = 128\n']);
  assert.equal((await api.readConfigFile({ name: 'link.cfg' })).text, f.text);
});

test('readConfigFile refuses paths and names that are not config files (CFG_READ)', async () => {
  for (const name of ['../outside.cfg', '..', '.', 'auto/deep.cfg', '/etc/passwd', '', '.hidden.cfg', 'xl.conf', 'a.cfg\0x', 'xl.conf.dpkg-old', 'api-key.pem', 'web.cfg~', 'web.cfg.bak']) {
    await assert.rejects(api.readConfigFile({ name }), refused(/not a config file name/), JSON.stringify(name));
  }
  await assert.rejects(api.readConfigFile({ name: 7 } as never), (e: unknown) => isToolstackError(e, 'USAGE'));
  await assert.rejects(api.readConfigFile({ name: 'none.cfg' }), refused(/none\.cfg: No such file or directory/));
});

test('readConfigFile refuses symlinks out of the config dir, non-regular files, and files over 1 MiB', async () => {
  await assert.rejects(api.readConfigFile({ name: 'out.cfg' }), refused(/out\.cfg: it leads out of the config directory/));
  await assert.rejects(api.readConfigFile({ name: 'host-etc' }), refused(/leads out of the config directory/));
  await assert.rejects(api.readConfigFile({ name: 'auto' }), refused(/auto: not a regular file/));
  await assert.rejects(api.readConfigFile({ name: 'fifo.cfg' }), refused(/fifo\.cfg: not a regular file/));
  await assert.rejects(api.readConfigFile({ name: 'big.cfg' }), refused(/big\.cfg: larger than 1 MiB/));
});

test('getDomainSource: the text a domain was created from, and its config file when it is in the config dir', async () => {
  const config = (name: string) => ({ c_info: { name }, b_info: { max_memkb: 65536, target_memkb: 65536 } });
  await api.registerDomain({ config: config('from-etc'), source: join(etc, 'a.cfg') });
  await api.registerDomain({ config: config('from-cwd'), source: 'a.cfg', sourceText: 'name = "from-cwd"\n' });
  await api.registerDomain({ config: config('from-out'), source: join(etc, 'out.cfg') });
  const s = await api.getDomainSource({ ref: 'from-etc' });
  assert.deepEqual([s.source, s.file?.name, s.file?.text, s.modifiedSince], [join(etc, 'a.cfg'), 'a.cfg', 'name = "a"\nmemory = 128\n', false]);
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(etc, 'a.cfg'), later, later);
  assert.equal((await api.getDomainSource({ ref: 'from-etc' })).modifiedSince, true);
  assert.deepEqual(await api.getDomainSource({ ref: 'from-cwd' }), { domid: 2, name: 'from-cwd', source: 'a.cfg', text: 'name = "from-cwd"\n', file: null, modifiedSince: false });
  // With the text it was made from kept, by content: touched unchanged is not modified; changed with an old time is.
  await api.registerDomain({ config: config('with-text'), source: join(etc, 'a.cfg'), sourceText: 'name = "a"\nmemory = 128\n' });
  assert.equal((await api.getDomainSource({ ref: 'with-text' })).modifiedSince, false);
  await api.registerDomain({ config: config('other-text'), source: join(etc, 'a.cfg'), sourceText: 'name = "a"\nmemory = 64\n' });
  utimesSync(join(etc, 'a.cfg'), new Date(0), new Date(0));
  assert.equal((await api.getDomainSource({ ref: 'other-text' })).modifiedSince, true);
  assert.equal((await api.getDomainSource({ ref: 'from-out' })).file, null);
  await assert.rejects(api.getDomainSource({ ref: '0' }), (e: unknown) => isToolstackError(e, 'NOT_SUPPORTED'));
});
