// libxl JSON → IDL value → libxl JSON is the identity, byte for byte, on every config the golden
// create cases and the seeded differential-fuzz generator resolve (and on the devices of its
// block-attach / network-attach cases): what `xl -N create` prints is what dom0d's API accepts.
// Also through dom0's JSON transport (`toJson`: 64-bit integers beyond 2^53 as strings).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toJson } from '../../src/common/index.js';
import { DOMAIN_CONFIG, idlFromJson, idlToJson, libxlJson, parseDiskSpec, parseVifArgs } from '../../src/config/index.js';
import type { LibxlJsonObject } from '../../src/config/index.js';
import { attempt, generatedConfig, goldenConfigs } from '../support/config-corpus.js';
import { generate } from '../xen-reference/generate.js';

function assertRoundTrip(json: LibxlJsonObject, what: string): void {
  const text = libxlJson(json);
  assert.equal(libxlJson(idlToJson(DOMAIN_CONFIG, idlFromJson(DOMAIN_CONFIG, json))), text, what);
  assert.equal(libxlJson(idlToJson(DOMAIN_CONFIG, idlFromJson(DOMAIN_CONFIG, JSON.parse(toJson(json))))), text, `${what} (over toJson)`);
}

test('every golden create config survives idlFromJson(idlToJson(config))', () => {
  let n = 0;
  for (const { file, config } of goldenConfigs()) {
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
    const config = generatedConfig(c);
    if (config === undefined) continue;
    assertRoundTrip(idlToJson(DOMAIN_CONFIG, config), `${c.id}:\n${c.cfg}`);
    counts.create++;
  }
  assert.ok(counts.create >= 300 && counts.disk >= 100 && counts.nic >= 100, JSON.stringify(counts));
});
