import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isToolstackError } from '../../common/index.js';
import { parseXsQuotaItem } from './xsquota.js';

test('parseXsQuotaItem() reads NAME=VALUE as xl does (strtoul base 0, 32 bits, nothing after)', () => {
  assert.deepEqual(parseXsQuotaItem('nodes=2000'), { name: 'nodes', value: 2000 });
  assert.deepEqual(parseXsQuotaItem('nodes=0x7d0'), { name: 'nodes', value: 2000 });
  assert.deepEqual(parseXsQuotaItem('watches=010'), { name: 'watches', value: 8 });
  assert.deepEqual(parseXsQuotaItem('nodes= 5'), { name: 'nodes', value: 5 });
  assert.deepEqual(parseXsQuotaItem('=4294967295'), { name: '', value: 4294967295 });
});

test('parseXsQuotaItem() fails with xl\'s lines', () => {
  const fails = (item: string, line: string): void => {
    assert.throws(() => parseXsQuotaItem(item), (e: unknown) => isToolstackError(e, 'CFG_VALUE') && e.lines?.[0] === line && e.exitCode === 1);
  };
  fails('nodes', 'Quota specification "nodes" lacks "=".');
  fails('nodes=', 'Quota specification "nodes=" uses illegal value "".');
  fails('a=b=1', 'Quota specification "a=b=1" uses illegal value "b=1".');
  fails('nodes=12x', 'Quota specification "nodes=12x" uses illegal value "12x".');
  fails('nodes=-1', 'Quota specification "nodes=-1" uses illegal value "-1".');
  fails('nodes=4294967296', 'Quota specification "nodes=4294967296" uses illegal value "4294967296".');
});
