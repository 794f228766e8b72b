import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DomainConfig } from '../config/index.js';
import { checkGuestFiles } from './qemu-runtime.js';

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
