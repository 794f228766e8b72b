import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { parseCfg } from './cfg/parser.js';
import { readXlConf, XL_CONF_DEFAULTS, xlConfFromDoc } from './xlconf.js';

const conf = (text: string) => xlConfFromDoc(parseCfg(text, { source: 'xl.conf' }));

test('a missing xl.conf means xl\'s defaults, silently', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-xlconf-'));
  try {
    assert.equal(readXlConf(join(dir, 'none')), XL_CONF_DEFAULTS);
    writeFileSync(join(dir, 'xl.conf'), 'vif.default.bridge = "br1"\n');
    assert.equal(readXlConf(dir).vifDefaultBridge, 'br1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('legacy vifscript/defaultbridge warn and still apply; vif.default.* win', () => {
  const c = conf('vifscript = "vif-nat"\ndefaultbridge = "br7"\nvif.default.bridge = "br8"\n');
  assert.equal(c.vifDefaultScript, 'vif-nat');
  assert.equal(c.vifDefaultBridge, 'br8');
  assert.deepEqual(c.warnings, [
    'the global config option vifscript is deprecated, please switch to vif.default.script',
    'the global config option defaultbridge is deprecated, please switch to vif.default.bridge',
  ]);
});

test('bad values warn and keep the default, as xl does', () => {
  const c = conf('autoballoon = "maybe"\noutput_format = "xml"\ndomid_policy = "odd"\nclaim_mode = 0\n');
  assert.equal(c.autoballoon, 'auto');
  assert.equal(c.outputFormat, 'json');
  assert.equal(c.domidPolicy, 'xen');
  assert.equal(c.claimMode, false);
  assert.deepEqual(c.warnings, ['invalid autoballoon option', 'invalid default output format "xml"', 'invalid domid_policy option']);
});

test('a bad grant limit makes xl exit 1 without a message of its own', () => {
  assert.throws(() => conf('max_grant_frames = "lots"\n'), (e: unknown) => {
    assert.ok(isToolstackError(e, 'CFG_VALUE'));
    assert.deepEqual(e.lines, []);
    assert.match(e.hint ?? '', /max_grant_frames/);
    return true;
  });
  assert.equal(conf('max_grant_frames = 64\n').maxGrantFrames, 64);
});

test('a bad xl.conf fails with xl\'s own trailer for it (checked against Xen 4.17)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-xlconf-'));
  try {
    writeFileSync(join(dir, 'xl.conf'), 'autoballoon = "off"\nlockfile = [ "a" "b" ]\n');
    assert.throws(() => readXlConf(dir), (e: unknown) => isToolstackError(e, 'CFG_SYNTAX') && e.lines !== undefined && e.lines.join('\n') ===
      `${join(dir, 'xl.conf')}:2: config parsing error near \`"b"': syntax error, unexpected STRING, expecting ']'\nFailed to parse config file: Invalid argument`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vm.*cpumask: a bad item is reported and the items before it are kept, as xl does', () => {
  const c = conf('vm.cpumask = "1,x,2"\nvm.pv.cpumask = "^all"\nvm.hvm.cpumask = "0-3"\n');
  assert.equal(c.vmCpumask, '1');
  assert.equal(c.vmPvCpumask, '');
  assert.equal(c.vmHvmCpumask, '0-3');
  assert.deepEqual(c.warnings, ['Invalid pcpu range: x.', 'Can\'t combine "^" and "all".']);
});

test('vif.nat.bridge and vif.nat.subnet name dom0\'s NAT network (dom0nat and a free subnet by default)', () => {
  assert.equal(conf('').natBridge, 'dom0nat');
  assert.equal(conf('').natSubnet, undefined);
  const c = conf('vif.nat.bridge = "nat1"\nvif.nat.subnet = "192.168.50.0/24"\n');
  assert.equal(c.natBridge, 'nat1');
  assert.equal(c.natSubnet, '192.168.50.0/24');
});


test('an xl.conf that cannot be read (a directory, a FIFO) is xl\'s warning and the defaults, as xl goes on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-xlconf-'));
  try {
    mkdirSync(join(dir, 'xl.conf'));
    const conf = readXlConf(dir);
    assert.deepEqual({ ...conf, warnings: [] }, XL_CONF_DEFAULTS);
    assert.deepEqual(conf.warnings, [`Failed to read config file: ${join(dir, 'xl.conf')}: Inappropriate ioctl for device`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
