// libxl JSON → IDL value → libxl JSON is the identity, byte for byte, on every config the golden
// create cases and the seeded differential-fuzz generator resolve (and on the devices of its
// block-attach / network-attach cases): what `xl -N create` prints is what dom0d's API accepts.
// Also through dom0's JSON transport (`toJson`: 64-bit integers beyond 2^53 as strings).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { toJson } from '../../src/common/index.js';
import {
  DOMAIN_CONFIG, idlFromJson, idlToJson, libxlJson, loadDomainConfig, parseCfg, parseDiskSpec, parseVifArgs,
  readXlConf, resolveDomainConfig, withExtraConfig, xlConfFromDoc,
} from '../../src/config/index.js';
import type { DomainConfig, LibxlJsonObject } from '../../src/config/index.js';
import { generate } from '../xen-reference/generate.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const GOLDEN = join(ROOT, 'test', 'golden', 'create');
const UUID = { generateUuid: () => '00000000-0000-4000-8000-000000000000' };

function assertRoundTrip(json: LibxlJsonObject, what: string): void {
  const text = libxlJson(json);
  assert.equal(libxlJson(idlToJson(DOMAIN_CONFIG, idlFromJson(DOMAIN_CONFIG, json))), text, what);
  assert.equal(libxlJson(idlToJson(DOMAIN_CONFIG, idlFromJson(DOMAIN_CONFIG, JSON.parse(toJson(json))))), text, `${what} (over toJson)`);
}

/** The config, or undefined where xl fails on it. */
function attempt(load: () => DomainConfig): DomainConfig | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}

test('every golden create config survives idlFromJson(idlToJson(config))', () => {
  let n = 0;
  for (const file of readdirSync(GOLDEN).filter((f) => f.endsWith('.cfg')).sort()) {
    const conf = join(GOLDEN, `${file.slice(0, -'.cfg'.length)}.conf`);
    const xlConf = existsSync(conf) ? readXlConf(conf) : undefined;
    const config = attempt(() => loadDomainConfig(join(GOLDEN, file), { ...UUID, ...(xlConf === undefined ? {} : { xlConf }) }).config);
    if (config === undefined) continue;
    assertRoundTrip(idlToJson(DOMAIN_CONFIG, config), file);
    n++;
  }
  assert.ok(n >= 40, `only ${n} golden configs resolved`);
});

test('3,000 generated configs and attach arguments survive the round trip', () => {
  const counts = { create: 0, disk: 0, nic: 0 };
  for (const c of generate(20260812, 3000)) {
    const [, command, ...args] = c.argv;
    if (command === 'block-attach' || command === 'network-attach') {
      const disk = command === 'block-attach';
      const config = attempt(() => (disk ? { disks: [parseDiskSpec(args.slice(1))] } : { nics: [parseVifArgs(args.slice(1))] }));
      if (config === undefined) continue;
      assertRoundTrip(idlToJson(DOMAIN_CONFIG, config), `${c.id} ${c.argv.join(' ')}`);
      counts[disk ? 'disk' : 'nic']++;
      continue;
    }
    if (c.cfg === undefined) continue;
    const extra = c.argv.slice(c.argv.findIndex((a) => a.endsWith('FILE')) + 1).filter((a) => a.includes('=') && !a.startsWith('-'));
    const config = attempt(() => resolveDomainConfig(parseCfg(withExtraConfig(c.cfg ?? '', extra), { source: 'f.cfg' }), {
      ...UUID,
      ...(c.xlconf === undefined ? {} : { xlConf: xlConfFromDoc(parseCfg(c.xlconf, { source: 'xl.conf' })) }),
    }).config);
    if (config === undefined) continue;
    assertRoundTrip(idlToJson(DOMAIN_CONFIG, config), `${c.id}:\n${c.cfg}`);
    counts.create++;
  }
  assert.ok(counts.create >= 300 && counts.disk >= 100 && counts.nic >= 100, JSON.stringify(counts));
});
