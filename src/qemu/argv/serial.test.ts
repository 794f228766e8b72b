import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../../common/index.js';
import { parseSerial, withSerialPath } from './serial.js';

test('serial= items are read as QEMU reads -serial: paths verbatim for file: and pipe:, unix: options with ,, and no-prefixes', () => {
  assert.deepEqual(parseSerial('pty'), { kind: 'pty' });
  for (const s of ['null', 'none', 'vc', 'vc:800x600']) assert.deepEqual(parseSerial(s), { kind: 'plain' }, s);
  assert.deepEqual(parseSerial('file:/var/log/a,b'), { kind: 'file', path: '/var/log/a,b' });
  assert.deepEqual(parseSerial('pipe:/run/g'), { kind: 'pipe', path: '/run/g' });
  assert.deepEqual(parseSerial('/dev/ttyS1'), { kind: 'tty', path: '/dev/ttyS1' });
  assert.deepEqual(parseSerial('unix:/r/a,,b,server,nowait'), { kind: 'unix', path: '/r/a,b', server: true });
  assert.deepEqual(parseSerial('unix:/r/s,nowait,server=y'), { kind: 'unix', path: '/r/s', server: true });
  assert.deepEqual(parseSerial('unix:/r/s,server=off'), { kind: 'unix', path: '/r/s', server: false });
  assert.deepEqual(parseSerial('unix:/r/s'), { kind: 'unix', path: '/r/s', server: false });
  for (const s of ['tcp::4555,server,nowait', 'tcp:127.0.0.1:4555,server=on,wait=off,nodelay', 'telnet::4556,server,nowait', 'udp:127.0.0.1:4557', 'tcp:[::1]:4555,server,ipv6']) {
    assert.deepEqual(parseSerial(s), { kind: 'inet' }, s);
  }
});

test('serial= options that would make the port something else (a log file, another path or backend, a shared fd) are CFG_VALUE', () => {
  for (const s of [
    'unix:/r/s,server,logfile=/etc/shadow', 'tcp::4555,server,logfile=/etc/passwd', 'unix:/nonexist,path=/var/lib/x,server=on',
    'unix:/r/s,backend=file', 'unix:/r/s,fd=3', 'unix:/r/s,mux=on', 'unix:path=/r/s,server', 'unix:/r/s,server,server=off',
    'unix:/r/s,server=maybe', 'tcp::1,reconnect=x', 'unix:', 'file:', '/dev/ttyS0,x', 'msmouse', 'chardev:x', 'udp:1.2.3.4:5,x=y', 'http://x',
  ]) {
    assert.throws(() => parseSerial(s), (e: unknown) => isToolstackError(e, 'CFG_VALUE') && e.message.startsWith('Invalid serial'), s);
  }
});

test('a serial item names the path dom0d holds for QEMU in place of its own, its options kept (a comma in a path doubled)', () => {
  const held = new Map([['/home/u/s,1.sock', '/proc/9/fd/5/s,1.sock'], ['/home/u/log', '/proc/9/fd/6'], ['/home/u/p', '/run/d/pipe1']]);
  assert.equal(withSerialPath('unix:/home/u/s,,1.sock,server,nowait', held), 'unix:/proc/9/fd/5/s,,1.sock,server,nowait');
  assert.equal(withSerialPath('file:/home/u/log', held), 'file:/proc/9/fd/6');
  assert.equal(withSerialPath('pipe:/home/u/p', held), 'pipe:/run/d/pipe1');
  assert.equal(withSerialPath('unix:/elsewhere,server', held), 'unix:/elsewhere,server');
  assert.equal(withSerialPath('tcp::4555,server,nowait', held), 'tcp::4555,server,nowait');
});
