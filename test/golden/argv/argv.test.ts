// Golden cases for the QEMU argv builder: each `NAME.cfg` here, and each article config
// `examples/article/X.cfg` as `article-X`, is resolved as `xl create` does (legacy xm configs
// through the legacy interpreter) and built with a fixed fake host (below); the result is
// `NAME.args` here (one argument a line) or `NAME.err` (code, message, `hint: ...`).
// `NAME.env.json` may change the host for one case: {"accel", "caps": {"firmware", "displays"},
// "runtime": {...}}. DOM0_UPDATE_GOLDEN=1 rewrites the expected files from the builder's output.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../../../src/common/index.js';
import { loadDomainConfig } from '../../../src/config/index.js';
import type { DomainConfig } from '../../../src/config/index.js';
import { argvRequirements, buildQemuArgs, formatHasChain } from '../../../src/qemu/index.js';
import type { ArgvCapabilities, ArgvEnv, DomainRuntime } from '../../../src/qemu/index.js';
import { machineDevices } from '../../../src/domain/index.js';
import { FAKE_CAPS } from './fake-host.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const DIR = join(ROOT, 'test', 'golden', 'argv');
const ARTICLE = join(ROOT, 'examples', 'article');
const UPDATE = process.env['DOM0_UPDATE_GOLDEN'] === '1';

/** The runtime a domain layer would give domid 7, for what the config needs. */
function fakeRuntime(config: DomainConfig, caps: ArgvCapabilities, extra: Partial<DomainRuntime>): DomainRuntime {
  const need = argvRequirements(config, caps);
  const run = '/run/dom0/qemu/7';
  return {
    domid: 7,
    qmpSocket: `${run}/qmp.sock`,
    pidFile: `${run}/qemu.pid`,
    consoles: Object.fromEntries(need.consoles.map((c) => [c.id, { socket: `${run}/${c.id}.sock`, logFile: `/var/log/dom0/console/7-${c.id}.log` }])),
    nics: Array.from({ length: need.nics }, (_, i) => ({ tap: `vif7.${i}`, mac: `00:16:3e:00:07:${i.toString(16).padStart(2, '0')}` })),
    ...(need.ovmfVars ? { ovmfVars: '/var/lib/dom0/domains/7/OVMF_VARS.fd' } : {}),
    ...(need.clock ? { clock: { nowMs: Date.UTC(2026, 0, 2, 3, 4, 5), utcOffsetMinutes: 60 } } : {}),
    // Images with nothing in their headers, as the disk checks would find new ones.
    diskChains: Object.fromEntries((config.disks ?? []).filter((d) => formatHasChain(d.format)).map((d) => [d.vdev ?? '', { backing: [] }])),
    ...extra,
  };
}

interface EnvOverride {
  readonly accel?: 'kvm' | 'tcg';
  readonly caps?: Partial<ArgvCapabilities>;
  readonly runtime?: Partial<DomainRuntime>;
}

function render(name: string, cfg: string): { kind: 'args' | 'err'; text: string; config?: DomainConfig } {
  const envFile = join(DIR, `${name}.env.json`);
  const o = (existsSync(envFile) ? JSON.parse(readFileSync(envFile, 'utf8')) : {}) as EnvOverride;
  const caps = { ...FAKE_CAPS, ...o.caps };
  try {
    const { config } = loadDomainConfig(cfg, { generateUuid: () => '5eed0000-0000-4000-8000-000000000007', hostCpus: 2 });
    const env: ArgvEnv = { caps, accel: o.accel ?? 'tcg', runtime: fakeRuntime(config, caps, o.runtime ?? {}) };
    return { kind: 'args', text: buildQemuArgs(config, env).map((a) => `${a}\n`).join(''), config };
  } catch (e) {
    if (!isToolstackError(e)) throw e;
    return { kind: 'err', text: `${e.code}\n${e.message}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}` };
  }
}

const cfgs = (dir: string, prefix: string): Array<{ name: string; cfg: string }> =>
  (existsSync(dir) ? readdirSync(dir) : []).filter((f) => f.endsWith('.cfg')).sort()
    .map((f) => ({ name: `${prefix}${f.slice(0, -4)}`, cfg: join(dir, f) }));
const cases = [...cfgs(DIR, ''), ...cfgs(ARTICLE, 'article-')];

test('argv goldens exist, the article configs among them', () => {
  assert.ok(cases.length >= 20);
  assert.ok(cases.filter((c) => c.name.startsWith('article-')).length >= 4);
});

for (const { name, cfg } of cases) {
  test(`argv golden ${name}`, () => {
    const got = render(name, cfg);
    const base = join(DIR, name);
    if (UPDATE) {
      writeFileSync(`${base}.${got.kind}`, got.text);
      rmSync(`${base}.${got.kind === 'args' ? 'err' : 'args'}`, { force: true });
    }
    const expected = existsSync(`${base}.${got.kind}`) ? readFileSync(`${base}.${got.kind}`, 'utf8') : undefined;
    assert.ok(expected !== undefined, `${name}: produced ${got.kind === 'args' ? 'arguments' : 'an error'}, which ${name}.${got.kind} does not hold:\n${got.text}`);
    assert.equal(got.text, expected, `${name}: ${got.kind} differ`);
  });
}

test('every device of each config is a QEMU device of its hot-plug id (what a guest\'s eject and a takeover compare)', () => {
  let devices = 0;
  for (const { name, cfg } of cases) {
    const got = render(name, cfg);
    if (got.config === undefined) continue;
    const args = got.text.split('\n');
    const ids = new Set(args.flatMap((a, i) => (args[i - 1] === '-device' ? /(?:^|,)id=([^,]+)/.exec(a)?.[1] ?? [] : [])));
    for (const { device, id } of machineDevices(got.config)) {
      assert.ok(ids.has(id), `${name}: its ${device.kind} has no QEMU device of id ${id}`);
      devices++;
    }
  }
  assert.ok(devices >= 40, String(devices));
});
