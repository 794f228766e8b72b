import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../../common/index.js';
import { parseCfg } from '../cfg/parser.js';
import { xlConfFromDoc } from '../xlconf.js';
import { KNOWN_KEYS, OPTIONS } from './options.js';
import { didYouMean, domainConfigToLibxlJson, resolveDomainConfig } from './resolve.js';

const UUID = { generateUuid: () => '00000000-0000-4000-8000-000000000000' };
const resolve = (text: string, options = {}) => resolveDomainConfig(parseCfg(text, { source: 'g.cfg' }), { ...UUID, ...options });

test('the result is a typed libxl_domain_config', () => {
  const { config } = resolve('name="a"\nkernel="/k"\nmemory=256\nvcpus=2\n');
  assert.equal(config.c_info?.type, 'pv');
  assert.equal(config.b_info?.target_memkb, 262144);
  assert.equal(config.b_info?.max_memkb, 262144);
  assert.deepEqual(config.b_info?.avail_vcpus, [0, 1]);
  assert.equal(config.on_reboot, 'restart');
});

test('type= is prefix-matched and defaults to pv; builder= is its deprecated alias', () => {
  assert.equal(resolve('name="a"\ntype="h"\n').config.c_info?.type, 'hvm');
  assert.equal(resolve('name="a"\ntype="pvh"\nkernel="/k"\n').config.c_info?.type, 'pvh');
  assert.equal(resolve('name="a"\ntype="p"\nkernel="/k"\n').config.c_info?.type, 'pv');
  assert.equal(resolve('name="a"\nbuilder="hvm"\n').config.c_info?.type, 'hvm');
});

test('validation errors carry Xen\'s line and a hint with key, line and allowed values', () => {
  assert.throws(() => resolve('name="a"\nkernel="/k"\n\non_crash="boom"\n'), (e: unknown) => {
    assert.ok(isToolstackError(e, 'CFG_VALUE'));
    assert.deepEqual(e.lines, ['Unknown on_crash action "boom" specified']);
    assert.equal(e.hint, 'g.cfg:4: `on_crash\'; allowed values: destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset');
    assert.deepEqual(e.pos, { file: 'g.cfg', line: 4 });
    return true;
  });
});

test('a bad number warns as xl does and reads as absent', () => {
  const r = resolve('name="a"\nkernel="/k"\nmemory="lots"\n');
  assert.equal(r.config.b_info?.target_memkb, undefined);
  assert.deepEqual(r.warnings, ['g.cfg:3: warning: parameter `memory\' is not a valid number']);
});

test('unknown keys are kept, ignored and warned about with a suggestion', () => {
  const r = resolve('name="a"\nkernel="/k"\nmemroy=512\nzzzz_unrelated=1\n');
  assert.deepEqual(r.warnings, [
    'g.cfg:3: warning: unknown option `memroy\' (kept, ignored); did you mean `memory\'?',
    'g.cfg:4: warning: unknown option `zzzz_unrelated\' (kept, ignored)',
  ]);
  assert.deepEqual(r.unknown.map((u) => u.name), ['memroy', 'zzzz_unrelated']);
  assert.equal(didYouMean('on_crahs', KNOWN_KEYS), 'on_crash');
  assert.equal(didYouMean('vnclisen', KNOWN_KEYS), 'vnclisten');
});

test('the option table names every key once, with a libxl field or an applier', () => {
  const keys = OPTIONS.map((o) => o.key);
  assert.equal(new Set(keys).size, keys.length);
  for (const o of OPTIONS) assert.ok(o.field !== undefined || o.apply !== undefined || o.readBy !== undefined, o.key);
});

test('xl.conf globals reach the config: claim_mode, hotplug scripts, vif defaults, grant frames, vm.cpumask', () => {
  const xlConf = xlConfFromDoc(parseCfg('claim_mode=0\nrun_hotplug_scripts=0\nvif.default.bridge="br9"\nmax_grant_frames=32\nvm.cpumask="0-1"\n', { source: 'xl.conf' }));
  const { config } = resolve('name="a"\nkernel="/k"\nvcpus=2\nvif=[""]\n', { xlConf, hostCpus: 4 });
  assert.equal(config.b_info?.claim_mode, false);
  assert.equal(config.c_info?.run_hotplug_scripts, false);
  assert.equal(config.nics?.[0]?.bridge, 'br9');
  assert.equal(config.b_info?.max_grant_frames, 32);
  assert.deepEqual(config.b_info?.vcpu_hard_affinity, [[0, 1], [0, 1]]);
});

test('the JSON omits defaults and keeps IDL order', () => {
  const text = domainConfigToLibxlJson(resolve('name="a"\ntype="hvm"\nlocaltime=0\n').config);
  assert.match(text, /"localtime": "False",\n/);
  assert.ok(text.indexOf('"sched_params"') < text.indexOf('"claim_mode"'));
  assert.ok(!text.includes('on_poweroff'));
});

test('values named like what every object inherits are unknown values, not table entries', () => {
  // `on_reboot="constructor"` resolved to a function before: dropped on the way to dom0d, so a
  // reboot destroyed the domain where xl refuses the config.
  for (const v of ['constructor', 'toString', '__proto__', 'valueOf']) {
    assert.throws(() => resolve(`name="a"\nkernel="/k"\non_reboot="${v}"\n`), (e: unknown) => isToolstackError(e, 'CFG_VALUE') && e.lines?.[0] === `Unknown on_reboot action "${v}" specified`, v);
    assert.throws(() => resolve(`name="a"\ntype="hvm"\nvga="${v}"\n`), (e: unknown) => isToolstackError(e, 'CFG_VALUE') && e.lines?.[0] === `Unknown vga "${v}" specified`, v);
  }
  assert.match(resolve('name="a"\nkernel="/k"\nrestart="constructor"\n').warnings.join('\n'), /write on_poweroff=, on_reboot=, on_crash= instead/);
});

test('configs of a few bytes that expand without bound are refused before they expand (dom0d resolves configs for the web console)', () => {
  const refused = (text: string, pattern: RegExp, options = {}): void => {
    assert.throws(() => resolve(`name="a"\nkernel="/k"\n${text}\n`, options), (e: unknown) => {
      assert.ok(isToolstackError(e), String(e));
      assert.match(`${(e.lines ?? [e.message]).join('\n')}\nhint: ${e.hint ?? ''}`, pattern);
      return true;
    });
  };
  // Four billion colours took dom0d's whole heap and ended it.
  refused('llc_colors=["0-4294967295"]', /xl: llc_colors has more than 1024 colours \(at 0-4294967295\)/);
  assert.equal(resolve('name="a"\nkernel="/k"\nllc_colors=["0-1023"]\n').config.b_info?.llc_colors?.length, 1024);
  // n nodes are n*n distances, made before any node was read.
  refused(`vnuma=[${Array.from({ length: 20000 }, () => '1').join(',')}]`, /xl: vnuma has 20000 nodes: Xen takes at most 64 \(MAX_NUMNODES\)/);
  // dom0d's limit: its machine's vCPUs, before a list per vCPU is made.
  const pc = { vcpuLimit: { max: 255, why: "the 'pc' machine takes at most 255 vCPUs" } };
  refused('vcpus=1048576\ncpus="all"\ncpus_soft="all"', /vcpus=1048576: the 'pc' machine takes at most 255 vCPUs\nhint: .*give at most 255/, pc);
  refused('maxvcpus=1000000\nvnuma=[["vcpus=0-999999"]]', /maxvcpus=1000000: the 'pc' machine/, pc);
  assert.equal(resolve('name="a"\nkernel="/k"\nmaxvcpus=16000000\n').config.b_info?.max_vcpus, 16000000, 'only a number for xl');
  assert.equal(resolve('name="a"\nkernel="/k"\nvcpus=2\nmaxvcpus=255\n', pc).config.b_info?.max_vcpus, 255);
});

test('values of many spaces then a letter are trimmed in linear time, as xl trims them', () => {
  const spaces = ' '.repeat(200_000);
  const r = resolve(`name="a"\nkernel="/k"\nchannel=["name=x${spaces}y,connection=pty"]\n`);
  assert.equal(r.config.channels?.[0]?.name, `x${spaces}y`);
  assert.throws(() => resolve(`name="a"\n"${spaces}x" = 1\n`), (e: unknown) => isToolstackError(e) && /config parsing error near/.test(e.message));
});
