// The small strtok / split+trim style device specs: vfb, channel, vtpm, pvcalls, p9, vkb,
// vdispl, virtio, vsnd, usbctrl, usbdev.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEVICE_CHANNEL, DEVICE_P9, DEVICE_PVCALLSIF, DEVICE_USBCTRL, DEVICE_USBDEV, DEVICE_VDISPL, DEVICE_VFB, DEVICE_VIRTIO, DEVICE_VKB, DEVICE_VSND, DEVICE_VTPM,
} from '../domain-config/domain-config.js';
import { idlToJson } from '../domain-config/idl-json.js';
import { libxlJson } from '../libxl-json.js';
import { parseChannelSpec } from './channel.js';
import { parseP9Spec } from './p9.js';
import { parseUsbctrlSpec, parseUsbdevSpec } from './usb.js';
import { parseVdisplSpec } from './vdispl.js';
import { parseVfbSpec } from './vfb.js';
import { parseVirtioSpec } from './virtio.js';
import { parseVkbSpec } from './vkb.js';
import { parseVsndCard } from './vsnd.js';
import { parsePvcallsSpec, parseVtpmSpec } from './vtpm.js';

test('vfb: atoi booleans, strings, a token without = ends the item', () => {
  const v = parseVfbSpec('vnc=1,vnclisten=0.0.0.0,vncdisplay=3,sdl=0,keymap=de,stop,vncpasswd=x', 0);
  assert.equal(libxlJson(idlToJson(DEVICE_VFB, v)),
    '{\n    "devid": 0,\n    "vnc": {\n        "enable": "True",\n        "listen": "0.0.0.0",\n        "display": 3\n    },\n' +
    '    "sdl": {\n        "enable": "False"\n    },\n    "keymap": "de"\n}\n');
});

test('channel: trimmed pairs, connection required, socket needs a path', () => {
  const r = parseChannelSpec(' name = org.qemu.guest_agent.0 , connection=socket, path=/run/ga.sock, color=red', 1);
  assert.deepEqual(r.warnings, ['unknown channel parameter \'color\', ignoring']);
  assert.deepEqual(idlToJson(DEVICE_CHANNEL, r.device), { devid: 1, name: 'org.qemu.guest_agent.0', 'connection.socket': { path: '/run/ga.sock' } });
  assert.deepEqual(idlToJson(DEVICE_CHANNEL, parseChannelSpec('connection=pty').device), { 'connection.pty': {} });
  assert.throws(() => parseChannelSpec('name=x'), { lines: ['channel has unknown \'connection\''] });
  assert.throws(() => parseChannelSpec('connection=socket'), { lines: ['channel connection \'socket\' requires path=..'] });
  assert.throws(() => parseChannelSpec('connection'), { lines: ['failed to parse channel configuration: connection'] });
});

test('vtpm and pvcalls: backend, uuid; unknown keys are fatal', () => {
  assert.deepEqual(idlToJson(DEVICE_VTPM, parseVtpmSpec('backend=vtpmmgr,uuid=B2A1C3D4-0000-4000-8000-00000000ABCD', 0)), {
    backend_domname: 'vtpmmgr', devid: 0, uuid: 'b2a1c3d4-0000-4000-8000-00000000abcd',
  });
  assert.throws(() => parseVtpmSpec('uuid=bad,backend=x'), { lines: ['Failed to parse vtpm UUID: bad'] });
  assert.throws(() => parseVtpmSpec(''), { lines: ['vtpm spec missing required backend field!'] });
  assert.deepEqual(idlToJson(DEVICE_PVCALLSIF, parsePvcallsSpec('backend=d1')), { backend_domname: 'd1' });
  assert.throws(() => parsePvcallsSpec('frontend=d1'), { lines: ['Unknown string `frontend\' in pvcalls spec'] });
});

test('p9: no type unless given (as Xen 4.17 prints it), xen_9pfsd defaults, illegal combinations', () => {
  assert.deepEqual(idlToJson(DEVICE_P9, parseP9Spec('tag=share, security_model=none, path=/srv/share', { devid: 0 })), {
    tag: 'share', path: '/srv/share', security_model: 'none', devid: 0,
  });
  assert.equal(parseP9Spec('tag=a,path=/b,security_model=none,type=QEMU').type, 'qemu');
  assert.deepEqual(idlToJson(DEVICE_P9, parseP9Spec('type=xen_9pfsd,security_model=none,max-files=10', { domainName: 'vm1' })), {
    tag: 'Xen', path: '/var/log/xen/guests/vm1', security_model: 'none', type: 'xen_9pfsd', max_files: 10,
  });
  assert.throws(() => parseP9Spec('tag=a,path=/b,security_model=none,max-space=5'), { lines: ['Illegal 9pfs parameter combination'] });
  assert.throws(() => parseP9Spec('tag=a,mode=ro'), { lines: ['Unknown 9pfs parameter \'mode\''] });
  assert.throws(() => parseP9Spec('tag=a'), { lines: ['9pfs spec missing required field!'] });
});

test('vkb: backend-type required, multi-touch sizes imply the feature', () => {
  assert.deepEqual(idlToJson(DEVICE_VKB, parseVkbSpec('backend-type=Linux,multi-touch-width=0x100,unique-id=K0', 0)), {
    devid: 0, backend_type: 'linux', unique_id: 'K0', feature_multi_touch: true, multi_touch_width: 256,
  });
  assert.throws(() => parseVkbSpec('width=5'), { lines: ['backend-type should be set in vkb spec'] });
  assert.throws(() => parseVkbSpec('backend-type=qemu,feature-multi-touch=1'), { code: 'SPEC_DEVICE' });
  assert.throws(() => parseVkbSpec('backend-type=vnc'), { lines: ['Unknown backend_type "vnc" in vkb spec'] });
});

test('vdispl: connectors and their resolutions', () => {
  const r = parseVdisplSpec('backend=dom1,be-alloc=1,connectors=id0:1920x1080;id1:800x600', 0);
  assert.deepEqual(idlToJson(DEVICE_VDISPL, r.device), {
    backend_domname: 'dom1', devid: 0, be_alloc: true,
    connectors: [{ unique_id: 'id0', width: 1920, height: 1080 }, { unique_id: 'id1', width: 800, height: 600 }],
  });
  assert.throws(() => parseVdisplSpec('be-alloc=1'), { lines: ['At least one connector should be specified.'] });
  assert.throws(() => parseVdisplSpec('connectors=id0:1920'), { lines: ['Can\'t parse connector resolution'] });
  assert.deepEqual(parseVdisplSpec('connectors=id0:big').warnings, ['Can\'t parse connector resolution']);
});

test('virtio: type may carry one comma', () => {
  assert.deepEqual(idlToJson(DEVICE_VIRTIO, parseVirtioSpec('type=virtio,device22,transport=mmio,grant_usage=1', 0)), {
    type: 'virtio,device22', transport: 'mmio', grant_usage: 'True', devid: 0,
  });
  assert.throws(() => parseVirtioSpec('size=1'), { lines: ['Unknown string "size=1" in virtio spec'] });
});

test('vsnd: card, pcm and stream items', () => {
  const v = parseVsndCard(['CARD, short-name=Main, sample-rates=8000;44100', 'PCM, name=Out', 'STREAM, unique-id=0, type=P, sample-formats=S16_LE;u8'], 0);
  const j = idlToJson(DEVICE_VSND, v);
  assert.equal(j.short_name, 'Main');
  assert.deepEqual(j.params, { sample_rates: [8000, 44100] });
  assert.deepEqual(j.pcms, [{ name: 'Out', params: {}, streams: [{ unique_id: '0', type: 'p', params: { sample_formats: ['s16_le', 'u8'] } }] }]);
  assert.throws(() => parseVsndCard(['STREAM, id=0']), { lines: ['Invalid parameter: id=0'] });
  assert.throws(() => parseVsndCard(['PCM, sample-formats=float_le']), { lines: ['Invalid pcm format: float_le'] });
});

test('usbctrl and usbdev', () => {
  assert.deepEqual(idlToJson(DEVICE_USBCTRL, parseUsbctrlSpec('type=QUSB,version=3,ports=15', 0)), { type: 'qusb', devid: 0, version: 3, ports: 15 });
  assert.throws(() => parseUsbctrlSpec('speed=5'), { lines: ['Unknown string `speed=5\' in usbctrl spec'] });
  assert.deepEqual(idlToJson(DEVICE_USBDEV, parseUsbdevSpec('type=hostdev,hostbus=0x2,hostaddr=5,controller=0,port=1')), {
    ctrl: 0, port: 1, 'type.hostdev': { hostbus: 2, hostaddr: 5 },
  });
});
