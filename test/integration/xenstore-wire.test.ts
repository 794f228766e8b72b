// Byte-exact exchanges, as Xen's clients send and expect them (shared/notes/xenstore-clients.md).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { XsServer } from './xenstore-harness.js';
import { RawConn, startServer } from './xenstore-harness.js';

function hex(b: Buffer | undefined): string {
  return b === undefined ? 'closed' : b.toString('hex');
}

function header(type: number, reqId: number, txId: number, len: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(reqId, 4);
  h.writeUInt32LE(txId, 8);
  h.writeUInt32LE(len, 12);
  return h;
}

describe('xenstore wire format', () => {
  let srv: XsServer;
  let c: RawConn;
  before(async () => {
    srv = await startServer();
    c = await RawConn.open(srv.socket);
  });
  after(async () => {
    c.close();
    await srv.cleanup();
  });

  async function exchange(request: Buffer): Promise<Buffer | undefined> {
    c.send(request);
    const m = await c.next();
    return m === undefined ? undefined : Buffer.concat([header(m.type, m.reqId, m.txId, m.payload.length), m.payload]);
  }

  it('READ of a missing node: header in one write, payload in another; ERROR "ENOENT\\0"', async () => {
    c.send(Buffer.from('02000000000000000000000003000000', 'hex'));
    c.send(Buffer.from('/x\0', 'latin1'));
    const m = await c.next();
    assert.equal(hex(m && Buffer.concat([header(m.type, m.reqId, m.txId, m.payload.length), m.payload])),
      `${'10000000000000000000000007000000'}${Buffer.from('ENOENT\0').toString('hex')}`);
  });

  it('WRITE "P\\0V" answers "OK\\0"; READ answers the raw value without NUL', async () => {
    const w = await exchange(Buffer.concat([header(11, 0, 0, 8), Buffer.from('/vm/a\0hi', 'latin1')]));
    assert.equal(hex(w), `0b0000000000000000000000${'03000000'}${Buffer.from('OK\0').toString('hex')}`);
    const r = await exchange(Buffer.concat([header(2, 5, 0, 6), Buffer.from('/vm/a\0', 'latin1')]));
    assert.equal(hex(r), `020000000500000000000000${'02000000'}${Buffer.from('hi').toString('hex')}`);
  });

  it('TRANSACTION_START answers a decimal id; requests carry it; END "T\\0" answers OK', async () => {
    const s = await exchange(Buffer.concat([header(6, 0, 0, 1), Buffer.from([0])]));
    assert.ok(s !== undefined);
    assert.equal(s.readUInt32LE(0), 6);
    const id = s.subarray(16).toString('latin1');
    assert.match(id, /^[1-9]\d*\0$/);
    const tx = Number(id.slice(0, -1));
    const d = await exchange(Buffer.concat([header(1, 0, tx, 4), Buffer.from('/vm\0', 'latin1')]));
    assert.equal(hex(d?.subarray(0, 12)), hex(header(1, 0, tx, 0).subarray(0, 12)));
    assert.equal(d?.subarray(16).toString('latin1'), 'a\0');
    const e = await exchange(Buffer.concat([header(7, 0, tx, 2), Buffer.from('T\0', 'latin1')]));
    assert.equal(e?.subarray(16).toString('latin1'), 'OK\0');
    assert.equal(e?.readUInt32LE(8), tx);
  });

  it('WATCH answers OK, then the immediate WATCH_EVENT "P\\0token\\0" with req_id = tx_id = 0', async () => {
    const w = await exchange(Buffer.concat([header(4, 9, 0, 8), Buffer.from('/vm\0/vm\0', 'latin1')]));
    assert.equal(w?.subarray(16).toString('latin1'), 'OK\0');
    assert.equal(w?.readUInt32LE(4), 9);
    const ev = await c.next();
    assert.deepEqual(ev && [ev.type, ev.reqId, ev.txId, ev.payload.toString('latin1')], [15, 0, 0, '/vm\0/vm\0']);
  });

  it('GET_PERMS answers "n0\\0" for a new node; DIRECTORY of a leaf is empty', async () => {
    const p = await exchange(Buffer.concat([header(3, 0, 0, 6), Buffer.from('/vm/a\0', 'latin1')]));
    assert.equal(p?.subarray(16).toString('latin1'), 'n0\0');
    const d = await exchange(Buffer.concat([header(1, 0, 0, 6), Buffer.from('/vm/a\0', 'latin1')]));
    assert.equal(d?.readUInt32LE(12), 0);
  });
});
