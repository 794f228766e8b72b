import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { readSaveFileHeader, saveFileHeader } from './savefile.js';

const LAYOUT = { ramKiB: 196608, pci: [{ id: 'usb', slot: 4, func: 0 }, { id: 'xvde', slot: 6, func: 0 }] };

test('a header with the machine layout: optional flag bit 31, the layout after the config, the stream after both', () => {
  const config = '{"c_info":{"name":"a"}}';
  const plain = saveFileHeader(config);
  const withLayout = saveFileHeader(config, LAYOUT);
  const stream = Buffer.from('QEVM');
  const a = readSaveFileHeader(Buffer.concat([plain, stream]), 'f');
  const b = readSaveFileHeader(Buffer.concat([withLayout, stream]), 'f');
  assert.deepEqual([a.optionalFlags, a.layout, a.streamOffset], [0, undefined, plain.length]);
  assert.deepEqual([b.optionalFlags >>> 0, b.layout, b.streamOffset, b.config], [0x80000000, LAYOUT, withLayout.length, { c_info: { name: 'a' } }]);
  // A reader that knows no optional flag goes by the data's length: it finds the stream where it is.
  assert.equal(48 + withLayout.readUInt32LE(44), withLayout.length);
});

test('a damaged layout makes the file corrupt, with what is wrong', () => {
  const config = '{}';
  const damaged = (text: string | undefined, cut = 0): Buffer => {
    const h = saveFileHeader(config, LAYOUT);
    const at = 48 + 4 + h.readUInt32LE(48);
    const body = text === undefined ? h.subarray(at + 4) : Buffer.from(`${text}\0`);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length + cut, 0);
    const out = Buffer.concat([h.subarray(0, at), len, body]);
    out.writeUInt32LE(out.length - 48, 44);
    return out;
  };
  const why = (head: Buffer): string => {
    try {
      readSaveFileHeader(head, 'f');
    } catch (e) {
      if (isToolstackError(e, 'SAVE_FILE')) return e.message;
      throw e;
    }
    return 'accepted';
  };
  assert.match(why(damaged(undefined, 1)), /^Savefile 'f' is corrupt: its machine's layout \(\d+ bytes\) exceeds its data$/);
  assert.match(why(damaged('{"pci":[')), /its machine's layout is not JSON/);
  assert.match(why(damaged('{"pci":[],"ramKiB":0}')), /ramKiB 0 is not a whole number of KiB above 0/);
  assert.match(why(damaged('{"pci":{},"ramKiB":1024}')), /pci is not a list of at most 256 places/);
  for (const place of ['{"id":"x","slot":32,"func":0}', '{"id":"x","slot":1,"func":0}', '{"id":"x","slot":1,"func":8}', '{"id":"","slot":1,"func":0}', '{"id":"a,b","slot":1,"func":0}', '{"slot":1,"func":0}']) {
    assert.match(why(damaged(`{"pci":[${place}],"ramKiB":1024}`)), /is not a PCI device's place/, place);
  }
  assert.match(why(damaged('{"pci":[{"id":"a","slot":4,"func":0},{"id":"a","slot":5,"func":0}],"ramKiB":1024}')), /names a device or a place listed before/);
  assert.match(why(damaged('{"pci":[{"id":"a","slot":4,"func":0},{"id":"b","slot":4,"func":0}],"ramKiB":1024}')), /names a device or a place listed before/);
  assert.equal(why(damaged('{"pci":[{"id":"vif0","slot":31,"func":7},{"id":"a","slot":31,"func":0}],"ramKiB":1024}')), 'accepted');
});

test('a config that is not UTF-8 makes the file corrupt (decoded, its bytes would name other files)', () => {
  const h = saveFileHeader('{"c_info":{"name":"hXY"}}');
  const at = h.indexOf('XY');
  h[at] = 0xff;
  h[at + 1] = 0xfe;
  assert.throws(() => readSaveFileHeader(Buffer.concat([h, Buffer.from('QEVM')]), 'f'),
    (e: unknown) => isToolstackError(e, 'SAVE_FILE') && e.message === "Savefile 'f' is corrupt: its config is not UTF-8");
});
