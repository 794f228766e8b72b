import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DomainConfig } from '../config/index.js';
import { isToolstackError } from '../common/index.js';
import { checkGuestFiles, checkHostSockets } from './qemu-runtime.js';

test('every file QEMU boots from must be a file with something in it, HVM tables included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-guestfiles-'));
  try {
    const fifo = join(dir, 'table.fifo');
    execFileSync('mkfifo', [fifo]);
    const table = join(dir, 'table.bin');
    writeFileSync(table, 'x');
    const hvm = (h: Record<string, string>): DomainConfig => ({ b_info: { type: 'hvm', u: { hvm: h } } }) as unknown as DomainConfig;
    // QEMU opened a FIFO before its monitor was up: create waited 10 s and named no file.
    assert.throws(() => checkGuestFiles(hvm({ acpi_firmware: fifo }), 'h.cfg'), { message: `Cannot open acpi_firmware ${fifo}: it is a FIFO, not a file` });
    assert.throws(() => checkGuestFiles(hvm({ smbios_firmware: '/dev/zero' }), 'h.cfg'), { message: 'Cannot open smbios_firmware /dev/zero: it is a character device, not a file' });
    checkGuestFiles(hvm({ acpi_firmware: table, smbios_firmware: table }), 'h.cfg');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a socket QEMU listens on for a config is made only where nothing, or a stale socket, is: QEMU unlinks the path first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-sockets-'));
  const server = createServer();
  try {
    const precious = join(dir, 'precious');
    writeFileSync(precious, 'keep me');
    const live = join(dir, 'live.sock');
    await new Promise<void>((resolve) => server.listen(live, resolve));
    const stale = join(dir, 'stale.sock');
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(stale, resolve));
    // A server that dies without closing leaves its socket file, which nobody answers on.
    execFileSync('cp', ['-a', stale, `${stale}.kept`]);
    await new Promise((resolve) => gone.close(resolve));
    execFileSync('mv', [`${stale}.kept`, stale]);
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const channel = (path: string): DomainConfig => ({ channels: [{ name: 'org.qemu.guest_agent.0', connection: 'socket', u: { socket: { path } } }] }) as unknown as DomainConfig;
    const serial = (s: string): DomainConfig => ({ b_info: { type: 'hvm', u: { hvm: { serial: s } } } }) as unknown as DomainConfig;
    const refused = async (config: DomainConfig, message: string, arriving = false): Promise<void> => {
      await assert.rejects(checkHostSockets(config, 'g.cfg', arriving), (e: unknown) => isToolstackError(e, 'GUEST_FILE') && e.message === message);
    };
    await refused(channel(precious), `Cannot make the socket of channel 'org.qemu.guest_agent.0' at ${precious}: a regular file is there, which QEMU would remove to listen there`);
    await refused(channel('qga.sock'), "Cannot make the socket of channel 'org.qemu.guest_agent.0' at \"qga.sock\": the path is relative");
    await refused(channel(live), `Cannot make the socket of channel 'org.qemu.guest_agent.0' at ${live}: a socket something listens on is there, which QEMU would remove to listen there`);
    await refused(serial(`unix:${precious},server=on,wait=off`), `Cannot make the serial port socket ${precious} at ${precious}: a regular file is there, which QEMU would remove to listen there`);
    await refused(serial(`unix:${precious},server,nowait`), `Cannot make the serial port socket ${precious} at ${precious}: a regular file is there, which QEMU would remove to listen there`);
    await refused(serial(`file:${fifo}`), `Cannot write the serial port to ${fifo}: it is a FIFO, not a file`);
    assert.equal(readFileSync(precious, 'utf8'), 'keep me');
    // A stale socket, a new path, a client socket, a file, and an incoming migration's sender's socket on this host pass.
    for (const ok of [channel(stale), channel(join(dir, 'new.sock')), serial(`unix:${precious}`), serial(`file:${precious}`), serial('tcp::4555,server,nowait')]) await checkHostSockets(ok, 'g.cfg');
    await checkHostSockets(channel(live), 'g.cfg', true);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
