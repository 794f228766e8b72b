import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withMallocHugePages } from './launch.js';

test('QEMU gets glibc.malloc.hugetlb=1 beside the user\'s tunables, unless they chose hugetlb', () => {
  assert.equal(withMallocHugePages({ PATH: '/bin' })['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=1');
  assert.equal(withMallocHugePages({ GLIBC_TUNABLES: '' })['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=1');
  assert.equal(withMallocHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })['GLIBC_TUNABLES'], 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  for (const own of ['glibc.malloc.hugetlb=0', 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2']) {
    assert.equal(withMallocHugePages({ GLIBC_TUNABLES: own })['GLIBC_TUNABLES'], own);
  }
});
