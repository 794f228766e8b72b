import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isToolstackError } from '../../common/index.js';
import { QmpClient } from './client.js';
import { FakeQmpPeer } from './fake-peer.js';
import { QmpClosedError, QmpCommandError, QmpTimeoutError } from './transport.js';

async function withPeer(fn: (peer: FakeQmpPeer, dir: string) => Promise<void>, options = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-qmp-'));
  const peer = await FakeQmpPeer.listen(join(dir, 'qmp.sock'), options);
  try {
    await fn(peer, dir);
  } finally {
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('connect reads the greeting, negotiates capabilities, runs typed commands', async () => {
  await withPeer(async (peer) => {
    peer.handle('query-status', () => ({ return: { running: true, status: 'running' } }));
    peer.handle('human-monitor-command', (a) => ({ return: `ran ${String(a?.['command-line'])}\r\n` }));
    const qmp = await QmpClient.connect(peer.path);
    assert.deepEqual(qmp.greeting.version.qemu, { major: 7, minor: 2, micro: 0 });
    assert.deepEqual(await qmp.queryStatus(), { running: true, status: 'running' });
    assert.equal(await qmp.humanMonitorCommand('info version'), 'ran info version\r\n');
    assert.deepEqual(peer.received.map((c) => c.execute), ['qmp_capabilities', 'query-status', 'human-monitor-command']);
    qmp.close();
    assert.deepEqual(await qmp.closed, { reason: 'local' });
  });
});

test('replies are matched by id, events between them reach listeners in order', async () => {
  await withPeer(async (peer) => {
    // Answer the first command only after the second: QEMU never does, ids make it safe anyway.
    let held: (() => void) | undefined;
    peer.handle('stop', () => ({ silent: true }));
    peer.handle('cont', () => {
      held = () => peer.sendRaw(`{"return": {}, "id": ${String(peer.received.at(-2)?.id)}}\r\n`);
      return { return: { second: true } };
    });
    const qmp = await QmpClient.connect(peer.path);
    const events: string[] = [];
    qmp.onEvent('*', (e) => events.push(e.event));
    const onlyStop = qmp.waitForEvent('STOP');
    const first = qmp.execute('stop');
    const second = await qmp.execute('cont');
    assert.deepEqual(second, { second: true });
    peer.emit('STOP');
    peer.emit('RESUME');
    held?.();
    assert.deepEqual(await first, {});
    assert.equal((await onlyStop).event, 'STOP');
    assert.deepEqual(events, ['STOP', 'RESUME']);
    qmp.close();
  });
});

test('messages split across writes and merged in one write are framed', async () => {
  await withPeer(async (peer) => {
    peer.handle('query-vnc', () => ({ silent: true }));
    const qmp = await QmpClient.connect(peer.path);
    const events: string[] = [];
    qmp.onEvent('*', (e) => events.push(`${e.event}:${JSON.stringify(e.data)}`));
    const reply = qmp.queryVnc();
    await new Promise((r) => setTimeout(r, 20));
    const id = String(peer.received.at(-1)?.id);
    const text = `{"event": "A", "data": {"s": "é"}, "timestamp": {"seconds": 1, "microseconds": 0}}\r\n` +
      `{"return": {"enabled": true, "host": "127.0.0.1", "service": "5900"}, "id": ${id}}\r\n`;
    const bytes = Buffer.from(text);
    // Cut inside the two-byte "é" and inside the reply; the event and reply arrive in 3 writes.
    const cut1 = bytes.indexOf(Buffer.from('é')) + 1;
    for (const part of [bytes.subarray(0, cut1), bytes.subarray(cut1, cut1 + 40), bytes.subarray(cut1 + 40)]) {
      peer.sendRaw(part);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(events, ['A:{"s":"é"}']);
    const vnc = await reply;
    assert.equal(vnc.enabled, true);
    assert.equal(vnc.service, '5900');
    qmp.close();
  });
});

test('a refused command rejects with code QEMU and QEMU\'s desc', async () => {
  await withPeer(async (peer) => {
    peer.handle('device_del', () => ({ error: { class: 'DeviceNotFound', desc: "Device 'nic9' not found" } }));
    const qmp = await QmpClient.connect(peer.path);
    await assert.rejects(qmp.deviceDel('nic9'), (e: unknown) => {
      assert.ok(e instanceof QmpCommandError);
      assert.ok(isToolstackError(e, 'QEMU'));
      assert.equal(e.message, "Device 'nic9' not found");
      assert.equal(e.errorClass, 'DeviceNotFound');
      assert.equal(e.command, 'device_del');
      return true;
    });
    await assert.rejects(qmp.execute('no-such'), /has not been found/);
    // The connection stays usable after an error.
    peer.handle('inject-nmi', () => ({ return: {} }));
    await qmp.injectNmi();
    assert.deepEqual(peer.received.at(-3)?.arguments, { id: 'nic9' });
    qmp.close();
  });
});

test('QEMU going away rejects pending commands, resolves closed, rejects later commands', async () => {
  await withPeer(async (peer) => {
    peer.handle('migrate', () => ({ silent: true }));
    const qmp = await QmpClient.connect(peer.path);
    const pending = qmp.migrate('exec:cat > /dev/null');
    const waiting = qmp.waitForEvent('SHUTDOWN');
    await new Promise((r) => setTimeout(r, 10));
    peer.dropClients();
    assert.equal((await qmp.closed).reason, 'eof');
    await assert.rejects(pending, (e: unknown) => e instanceof QmpClosedError && /QEMU went away/.test(e.message) &&
      e.code === 'QEMU');
    await assert.rejects(waiting, QmpClosedError);
    await assert.rejects(qmp.queryStatus(), QmpClosedError);
    assert.equal(qmp.isClosed, true);
  });
});

test('a QEMU that sends a line without end (over 16 Mi characters) has its connection ended, not dom0d\'s memory filled', async () => {
  await withPeer(async (peer) => {
    const qmp = await QmpClient.connect(peer.path);
    peer.sendRaw('{"return": "' + 'x'.repeat(17 << 20));
    const closed = await qmp.closed;
    assert.equal(closed.reason, 'error');
    assert.match(closed.error?.message ?? '', /QEMU sent a line of more than 16777216 characters/);
    await assert.rejects(qmp.queryStatus(), QmpClosedError);
  });
});

test('quit succeeds whether QEMU answers or just hangs up', async () => {
  await withPeer(async (peer) => {
    peer.handle('quit', () => ({ close: true }));
    const qmp = await QmpClient.connect(peer.path);
    await qmp.quit();
    assert.equal((await qmp.closed).reason, 'eof');
  });
});

test('typed commands send QEMU\'s argument shapes', async () => {
  await withPeer(async (peer) => {
    for (const c of ['send-key', 'dump-guest-memory', 'blockdev-add', 'netdev_add', 'device_add', 'balloon',
      'migrate-set-capabilities', 'screendump']) {
      peer.handle(c, () => ({ return: {} }));
    }
    const qmp = await QmpClient.connect(peer.path);
    await qmp.sendKey(['ctrl', 'alt', 'delete', 0x1c], 50);
    await qmp.dumpGuestMemory('/tmp/core');
    await qmp.blockdevAdd({ driver: 'qcow2', 'node-name': 'd1', file: { driver: 'file', filename: '/x.qcow2' } });
    await qmp.netdevAdd({ type: 'tap', id: 'n1', ifname: 'vif1.0', script: 'no', downscript: 'no' });
    await qmp.deviceAdd({ driver: 'virtio-blk-pci', id: 'xvdb', drive: 'd1' });
    await qmp.balloon(64 * 1024 * 1024);
    await qmp.migrateSetCapabilities({ events: true });
    await qmp.screendump('/tmp/s.png', { format: 'png' });
    const args = peer.received.slice(1).map((c) => c.arguments);
    assert.deepEqual(args[0], {
      keys: [{ type: 'qcode', data: 'ctrl' }, { type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'delete' },
        { type: 'number', data: 0x1c }],
      'hold-time': 50,
    });
    assert.deepEqual(args[1], { paging: false, protocol: 'file:/tmp/core' });
    assert.deepEqual(args[5], { value: 67108864 });
    assert.deepEqual(args[6], { capabilities: [{ capability: 'events', state: true }] });
    assert.deepEqual(args[7], { filename: '/tmp/s.png', format: 'png' });
    qmp.close();
  });
});

test('connect fails with code QEMU: nothing listening, no greeting, garbage, closed before capabilities', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-qmp-'));
  try {
    await assert.rejects(QmpClient.connect(join(dir, 'none.sock')),
      (e: unknown) => isToolstackError(e, 'QEMU') && /Connecting to QMP socket .*none\.sock/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await withPeer(async (peer) => {
    await assert.rejects(QmpClient.connect(peer.path, { timeoutMs: 50 }), /no greeting within 50 ms/);
  }, { greeting: '' });
  await withPeer(async (peer) => {
    await assert.rejects(QmpClient.connect(peer.path), /not JSON/);
  }, { greeting: 'hello\r\n' });
  await withPeer(async (peer) => {
    await assert.rejects(QmpClient.connect(peer.path), /capability negotiation .* QEMU went away/);
  }, { handlers: { qmp_capabilities: () => ({ close: true }) } });
});

test('waitForEvent: timeout, match filter, already closed; onClose fires once', async () => {
  await withPeer(async (peer) => {
    const qmp = await QmpClient.connect(peer.path);
    await assert.rejects(qmp.waitForEvent('NEVER', { timeoutMs: 20 }), /QMP event NEVER did not come within 20 ms/);
    const second = qmp.waitForEvent('DEVICE_DELETED', { match: (e) => e.data['device'] === 'b' });
    peer.emit('DEVICE_DELETED', { device: 'a' });
    peer.emit('DEVICE_DELETED', { device: 'b' });
    assert.deepEqual((await second).data, { device: 'b' });
    const seen: string[] = [];
    const off = qmp.onClose((c) => seen.push(c.reason));
    qmp.onClose((c) => seen.push(`2:${c.reason}`));
    off();
    peer.dropClients();
    await qmp.closed;
    assert.deepEqual(seen, ['2:eof']);
    await assert.rejects(qmp.waitForEvent('SHUTDOWN'), QmpClosedError);
    qmp.onClose((c) => seen.push(`late:${c.reason}`));
    assert.deepEqual(seen, ['2:eof', 'late:eof']);
  });
});

test('a throwing event listener does not stop the others or the connection', async () => {
  await withPeer(async (peer) => {
    const errors: string[] = [];
    const qmp = await QmpClient.connect(peer.path, {
      onListenerError: (e, ev) => errors.push(`${ev.event}: ${(e as Error).message}`),
    });
    const got: string[] = [];
    qmp.onEvent('X', () => { throw new Error('listener bug'); });
    qmp.onEvent('X', (e) => got.push(e.event));
    const next = qmp.waitForEvent('Y');
    peer.emit('X');
    peer.emit('Y');
    await next;
    assert.deepEqual(got, ['X']);
    assert.deepEqual(errors, ['X: listener bug']);
    peer.handle('query-status', () => ({ return: { running: true, status: 'running' } }));
    assert.equal((await qmp.queryStatus()).running, true);
    qmp.close();
  });
});

test('a flood of events nobody listens to (a guest writing pvpanic\'s port) is dropped unparsed: listened events and replies still come, in order', async () => {
  await withPeer(async (peer) => {
    peer.handle('query-status', () => ({ return: { running: true, status: 'running' } }));
    const qmp = await QmpClient.connect(peer.path);
    const got: string[] = [];
    const offShutdown = qmp.onEvent('SHUTDOWN', (e) => got.push(`SHUTDOWN ${String(e.data['reason'])}`));
    qmp.onEvent('RESET', (e) => got.push(`RESET ${String(e.data['n'])}`));
    // As QEMU writes them; the broken one is never parsed, so it cannot end the connection.
    const flood = (n: number): string => '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "GUEST_CRASHLOADED", "data": {"action": "run"}}\r\n'.repeat(n);
    for (let round = 0; round < 20; round++) {
      peer.sendRaw(flood(5000));
      peer.emit('RESET', { n: round });
      peer.sendRaw('{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "DEVICE_TRAY_MOVED", "data": {"tray-open": tru\r\n');
    }
    peer.emit('SHUTDOWN', { reason: 'guest-shutdown' });
    const last = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 30_000 });
    assert.equal((await qmp.queryStatus()).running, true);
    await last;
    assert.deepEqual(got, [...Array.from({ length: 20 }, (_, i) => `RESET ${String(i)}`), 'SHUTDOWN guest-shutdown']);
    assert.equal(qmp.isClosed, false);
    // Once some listener takes every event, each line is read as JSON again.
    offShutdown();
    const all: string[] = [];
    qmp.onEvent('*', (e) => all.push(e.event));
    const closed = qmp.closed;
    peer.sendRaw('{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "DEVICE_TRAY_MOVED", "data": {"tray-open": tru\r\n');
    assert.equal((await closed).reason, 'error');
    assert.deepEqual(all, []);
  });
});

test('a command QEMU never answers times out (QEMU stopped); later commands still work once it answers', async () => {
  await withPeer(async (peer) => {
    const qmp = await QmpClient.connect(peer.path, { commandTimeoutMs: 50 });
    peer.handle('stop', () => ({ silent: true }));
    await assert.rejects(qmp.stop(), (e: unknown) => e instanceof QmpTimeoutError && /'stop' got no answer within 50 ms/.test(e.message));
    peer.handle('cont', () => ({ return: {} }));
    await qmp.cont();
    await assert.rejects(qmp.execute('stop', undefined, { timeoutMs: 10 }), QmpTimeoutError);
    qmp.close();
  });
});
