import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOn } from './listen.js';

test('listenOn: a Unix socket is born with its mode whatever the umask, replaces a stale file, and later errors go to the handler', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-listen-'));
  const oldMask = process.umask(0);
  const server = createServer();
  try {
    const path = join(dir, 's.sock');
    writeFileSync(path, 'stale');
    const seen: string[] = [];
    await listenOn(server, { path }, (e) => seen.push(e.message));
    assert.equal(process.umask(0), 0, 'the umask is put back');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(statSync(path).isSocket());
    // An accept failing (EMFILE) after listening ended the process when nothing listened for it.
    server.emit('error', new Error('accept EMFILE'));
    assert.deepEqual(seen, ['accept EMFILE']);
    await assert.rejects(listenOn(createServer(), { path: join(dir, 'no', 'such', 'dir.sock') }, () => undefined));
  } finally {
    process.umask(oldMask);
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
