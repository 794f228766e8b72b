import assert from 'node:assert/strict';
import { test } from 'node:test';
import { libxlJson, yajlString } from './libxl-json.js';

test('libxlJson() writes YAJL beautify layout with the final newline', () => {
  assert.equal(
    libxlJson({ pdev_path: '/dev/vg/guest-volume', vdev: 'hda', format: 'raw', readwrite: 1 }),
    '{\n    "pdev_path": "/dev/vg/guest-volume",\n    "vdev": "hda",\n    "format": "raw",\n    "readwrite": 1\n}\n',
  );
});

test('libxlJson() nests objects and arrays one element per line', () => {
  const text = libxlJson({ a: { b: [0, 1], c: null, d: true, e: false }, f: -3, g: 18446744073709551615n });
  assert.equal(
    text,
    '{\n    "a": {\n        "b": [\n            0,\n            1\n        ],\n        "c": null,\n' +
      '        "d": true,\n        "e": false\n    },\n    "f": -3,\n    "g": 18446744073709551615\n}\n',
  );
});

test('libxlJson() writes empty objects and arrays as YAJL does', () => {
  assert.equal(libxlJson({}), '{\n\n}\n');
  assert.equal(libxlJson({ x: {}, y: [] }), '{\n    "x": {\n\n    },\n    "y": [\n\n    ]\n}\n');
  assert.equal(libxlJson([{}]), '[\n    {\n\n    }\n]\n');
});

test('libxlJson() skips undefined members and rejects non-integers', () => {
  assert.equal(libxlJson({ a: undefined, b: 1 }), '{\n    "b": 1\n}\n');
  assert.throws(() => libxlJson(1.5), RangeError);
});

test('yajlString() escapes like yajl_string_encode, solidus untouched; DEL, C1 and text-direction characters too (yajl leaves them)', () => {
  assert.equal(yajlString('a/b"c\\d'), '"a/b\\"c\\\\d"');
  assert.equal(yajlString('\b\f\n\r\t'), '"\\b\\f\\n\\r\\t"');
  assert.equal(yajlString('\u0001\u001f\u007f é\u009b\u202e'), '"\\u0001\\u001F\\u007F é\\u009B\\u202E"');
});
