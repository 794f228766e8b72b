import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEVICE_PCI } from '../domain-config/domain-config.js';
import { idlToJson } from '../domain-config/idl-json.js';
import { parsePciBdf, parsePciSpec, parseRdm } from './pci.js';

test('parsePciSpec() positional and keyword forms agree', () => {
  const want = { bus: 0x36, vdevfn: 0x0a << 3, vfunc_mask: 1, seize: true };
  for (const s of ['36:00.0@0a,seize=1', '0000:36:00.0,vslot=a,seize=1', 'bdf=36:00.0,vslot=0A,seize=1']) {
    assert.deepEqual(idlToJson(DEVICE_PCI, parsePciSpec(s)), want, s);
  }
});

test('parsePciSpec() every function, defaults, name, rdm policy', () => {
  assert.equal(parsePciSpec('1:2:3.*').vfunc_mask, 0xffffffff);
  assert.deepEqual(idlToJson(DEVICE_PCI, parsePciSpec('01:1f.7', { permissive: true, rdm_policy: 'relaxed' })), {
    func: 7, dev: 0x1f, bus: 1, vfunc_mask: 1, permissive: true, rdm_policy: 'relaxed',
  });
  assert.deepEqual(idlToJson(DEVICE_PCI, parsePciSpec('name=gpu0,rdm_policy=STRICT')), { rdm_policy: 'strict', name: 'gpu0' });
});

test('parsePciSpec() rejects what libxlutil rejects', () => {
  for (const bad of ['36:00.0@20', '36:20.0', '36:00.8', '1:2:3:4.0', '36:00.0,name=x', 'seize=1', '36:00.0@20x', '36:00.0,foo']) {
    assert.throws(() => parsePciSpec(bad), { code: 'SPEC_PCI' }, bad);
  }
  assert.throws(() => parsePciSpec('36:00.0,colour=red'), {
    lines: ['Unknown PCI_SPEC_STRING option: colourunable to parse PCI_SPEC_STRING `36:00.0,colour=red\''],
  });
  assert.deepEqual(parsePciBdf('0001:02:03.4'), { domain: 1, bus: 2, dev: 3, func: 4, vfunc_mask: 1 });
});

test('parseRdm() takes strategy and policy', () => {
  assert.deepEqual(parseRdm('strategy=host,policy=relaxed'), { strategy: 'host', policy: 'relaxed' });
  assert.throws(() => parseRdm('strategy=all'), { lines: ['Unknown RDM strategy option: all'] });
  assert.throws(() => parseRdm('strategy=host,'), { code: 'SPEC_PCI' });
});
