import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPoolParams, checkReservation, checkReservations, checkShare, DEFAULT_POOL_PARAMS, DEFAULT_RESERVATION, defaultSched, libxlError, withLiveSched } from './sched.js';

const now = { weight: 256, cap: 0 };

test('libxlError() is libxl\'s log line; a guest domain gets its prefix, Domain-0 and none do not', () => {
  assert.equal(libxlError('libxl_sched.c:238:f', 3, 'x'), 'libxl: error: libxl_sched.c:238:f: Domain 3:x');
  assert.equal(libxlError('libxl_sched.c:238:f', 0, 'x'), 'libxl: error: libxl_sched.c:238:f: x');
  assert.equal(libxlError('libxl_sched.c:238:f', undefined, 'x'), 'libxl: error: libxl_sched.c:238:f: x');
});

test('checkShare(): libxl\'s ranges, -1 leaves a value, another scheduler\'s pool is the hypercall\'s EINVAL', () => {
  assert.deepEqual(checkShare(3, 'credit', 'credit', 2, now, { weight: 512 }), { weight: 512, cap: 0 });
  assert.deepEqual(checkShare(3, 'credit2', 'credit2', 2, { weight: 7, cap: 9 }, { weight: -1, cap: 200 }), { weight: 7, cap: 200 });
  assert.deepEqual(checkShare(3, 'credit', 'credit', 2, now, { weight: 0 }), {
    lines: ['libxl: error: libxl_sched.c:238:sched_credit_domain_set: Domain 3:Cpu weight out of range, valid values are within range from 1 to 65535'],
  });
  assert.deepEqual(checkShare(3, 'credit2', 'credit2', 2, now, { weight: 65536 }), {
    lines: ['libxl: error: libxl_sched.c:445:sched_credit2_domain_set: Domain 3:Cpu weight out of range, valid values are within range from 1 to 65535'],
  });
  assert.deepEqual(checkShare(3, 'credit', 'credit', 2, now, { cap: 201 }), {
    lines: ['libxl: error: libxl_sched.c:248:sched_credit_domain_set: Domain 3:Cpu cap out of range, valid range is from 0 to 200 for specified number of vcpus'],
  });
  assert.deepEqual(checkShare(3, 'credit2', 'credit2', 1, now, { cap: -5 }), {
    lines: ['libxl: error: libxl_sched.c:455:sched_credit2_domain_set: Domain 3:Cpu cap out of range, valid range is from 0 to 100 for specified number of vcpus'],
  });
  assert.deepEqual(checkShare(3, 'credit', 'credit2', 1, now, { weight: 5 }), {
    lines: ['libxl: error: libxl_sched.c:232:sched_credit_domain_set: Domain 3:Getting domain sched credit: Invalid argument'],
  });
  assert.deepEqual(checkShare(3, 'credit2', 'rtds', 1, now, {}), {
    lines: ['libxl: error: libxl_sched.c:439:sched_credit2_domain_set: Domain 3:Getting domain sched credit2: Invalid argument'],
  });
});

test('checkReservation(): libxl\'s sched_rtds_validate_params, in its order', () => {
  assert.deepEqual(checkReservation(100, 50), []);
  assert.deepEqual(checkReservation(0, 50), ['libxl: error: libxl_sched.c:477:sched_rtds_validate_params: Invalid VCPU period of 0 (it should be >= 1)']);
  assert.deepEqual(checkReservation(100, 0), ['libxl: error: libxl_sched.c:483:sched_rtds_validate_params: Invalid VCPU budget of 0 (it should be >= 1)']);
  assert.deepEqual(checkReservation(100, 4000), ['libxl: error: libxl_sched.c:489:sched_rtds_validate_params: VCPU budget must be smaller than or equal to period, but 4000 > 100']);
});

test('checkReservations(): vCPU ids, libxl\'s checks, then Xen\'s (10 us up; an rtds pool)', () => {
  const two = defaultSched(0, 2).vcpus;
  const r = { period: 20_000, budget: 5_000, extratime: false };
  assert.deepEqual(checkReservations(4, 'rtds', two, { vcpus: [{ vcpuid: 1, ...r }] }), { vcpus: [DEFAULT_RESERVATION, r] });
  assert.deepEqual(checkReservations(4, 'rtds', two, { all: r }), { vcpus: [r, r] });
  assert.deepEqual(checkReservations(4, 'rtds', two, { vcpus: [{ vcpuid: 2, ...r }] }), {
    lines: ['libxl: error: libxl_sched.c:627:sched_rtds_vcpu_set: Domain 4:Invalid VCPU 2: valid range is [0, 1]'],
  });
  assert.deepEqual(checkReservations(4, 'rtds', two, { vcpus: [{ vcpuid: 0, period: 10, budget: 20, extratime: true }] }), {
    lines: ['libxl: error: libxl_sched.c:489:sched_rtds_validate_params: VCPU budget must be smaller than or equal to period, but 20 > 10'],
  });
  assert.deepEqual(checkReservations(4, 'rtds', two, { all: { period: 9, budget: 5, extratime: true } }), {
    lines: ['libxl: error: libxl_sched.c:705:sched_rtds_vcpu_set_all: Domain 4:Setting vcpu sched rtds: Invalid argument'],
  });
  assert.deepEqual(checkReservations(4, 'credit2', two, { vcpus: [{ vcpuid: 0, ...r }] }), {
    lines: ['libxl: error: libxl_sched.c:653:sched_rtds_vcpu_set: Domain 4:Setting vcpu sched rtds: Invalid argument'],
  });
});

test('checkPoolParams(): credit reads first; libxl\'s ranges; credit2 on another pool fails setting', () => {
  assert.deepEqual(checkPoolParams('credit', 'credit', DEFAULT_POOL_PARAMS, { tsliceMs: 10, ratelimitUs: 0 }), { params: { tsliceMs: 10, ratelimitUs: 0, migrationDelayUs: 0 } });
  assert.deepEqual(checkPoolParams('credit2', 'credit2', DEFAULT_POOL_PARAMS, { ratelimitUs: 500 }), { params: { ...DEFAULT_POOL_PARAMS, ratelimitUs: 500 } });
  const fails = (asked: 'credit' | 'credit2', sched: 'credit' | 'credit2' | 'rtds', change: object, lines: string[]): void =>
    assert.deepEqual(checkPoolParams(asked, sched, DEFAULT_POOL_PARAMS, change), { lines });
  fails('credit', 'credit2', { tsliceMs: 5 }, ['libxl: error: libxl_sched.c:287:libxl_sched_credit_params_get: getting Credit scheduler parameters: Invalid argument', 'libxl_sched_credit_params_get failed.']);
  fails('credit', 'credit', { tsliceMs: 1001 }, ['libxl: error: libxl_sched.c:311:libxl_sched_credit_params_set: Time slice out of range, valid range is from 1 to 1000', 'libxl_sched_credit_params_set failed.']);
  fails('credit', 'credit', { ratelimitUs: 99 }, ['libxl: error: libxl_sched.c:270:sched_ratelimit_check: Ratelimit out of range, valid range is from 100 to 500000', 'libxl_sched_credit_params_set failed.']);
  fails('credit', 'credit', { tsliceMs: 1, ratelimitUs: 2000 }, ['libxl: error: libxl_sched.c:321:libxl_sched_credit_params_set: Ratelimit cannot be greater than timeslice', 'libxl_sched_credit_params_set failed.']);
  fails('credit', 'credit', { migrationDelayUs: 100_001 }, ['libxl: error: libxl_sched.c:326:libxl_sched_credit_params_set: vcpu migration delay should be >= 0 and <= 100000us', 'libxl_sched_credit_params_set failed.']);
  fails('credit', 'credit', { migrationDelayUs: -1 }, ['libxl: error: libxl_sched.c:338:libxl_sched_credit_params_set: Setting Credit scheduler parameters: Invalid argument', 'libxl_sched_credit_params_set failed.']);
  fails('credit2', 'credit2', { ratelimitUs: 600_000 }, ['libxl: error: libxl_sched.c:270:sched_ratelimit_check: Ratelimit out of range, valid range is from 100 to 500000', 'libxl_sched_credit2_params_set failed.']);
  fails('credit2', 'rtds', { ratelimitUs: 500 }, ['libxl: error: libxl_sched.c:389:libxl_sched_credit2_params_set: Setting Credit2 scheduler parameters: Invalid argument', 'libxl_sched_credit2_params_set failed.']);
});

test('withLiveSched: the config as libxl retrieves it, with the live weight, cap, period and budget where they differ', () => {
  const config = { c_info: { name: 'g' }, b_info: { sched_params: { weight: 512 } } };
  assert.equal(withLiveSched(config, defaultSched(0, 2)).b_info?.sched_params?.weight, 256, 'the live default over the configured 512');
  const same = { ...defaultSched(0, 2), weight: 512 };
  assert.equal(withLiveSched(config, same), config, 'nothing changed: the same config');
  const changed = withLiveSched(config, { ...same, cap: 50, vcpus: [{ period: 20_000, budget: 5_000, extratime: true }] });
  assert.deepEqual(changed.b_info?.sched_params, { weight: 512, cap: 50, period: 20_000, budget: 5_000 });
  assert.deepEqual(config.b_info.sched_params, { weight: 512 }, 'the stored config is not changed');
});
