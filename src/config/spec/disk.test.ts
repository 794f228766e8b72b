import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEVICE_DISK } from '../domain-config/domain-config.js';
import { idlToJson } from '../domain-config/idl-json.js';
import { libxlJson } from '../libxl-json.js';
import { parseDiskSpec } from './disk.js';

test('parseDiskSpec() reads positional, keyword and prefix forms alike', () => {
  const forms = [['/img,,xvda'], ['format=raw, vdev=xvda, target=/img'], ['raw:/img,xvda,rw'], ['vdev=xvda', 'target=/img']];
  for (const f of forms) {
    assert.deepEqual(idlToJson(DEVICE_DISK, parseDiskSpec(f)), { pdev_path: '/img', vdev: 'xvda', format: 'raw', readwrite: 1 }, f.join(' '));
  }
});

test('parseDiskSpec() errors carry Xen lines naming the source', () => {
  assert.throws(() => parseDiskSpec(['/img,,xvda,rw,more'], { source: 'vm.cfg' }), {
    code: 'SPEC_DISK',
    lines: ['vm.cfg: config parsing error in disk specification: too many positional parameters: near `more\' in `/img,,xvda,rw,more\''],
  });
});

test('parseDiskSpec() empty cdrom: format empty, read-only, removable', () => {
  const d = parseDiskSpec([',hdc:cdrom,r']);
  assert.equal(libxlJson(idlToJson(DEVICE_DISK, d)), '{\n    "pdev_path": "",\n    "vdev": "hdc",\n    "format": "empty",\n    "removable": 1,\n    "is_cdrom": 1\n}\n');
});
