// Doorbells (hypervisor-abi.md §2.3, §6), through hypercalls from native vCPUs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../src/hyp/abi/errors.js';
import { DOORBELL_RIGHT as DB, RIGHT_ACTIVATE } from '../../src/hyp/abi/rights.js';
import { env, GuestGic } from './ipc-env.js';

const ALL = 0xffff_ffff_ffff_ffffn;

test('doorbell §6: send ORs flags in and returns the old flags; receive clears and returns the old flags', () => {
  const e = env();
  const db = e.doorbell();
  assert.equal(e.ok('doorbell_send', db, 0b0101n, 0n)[1], 0n);
  assert.equal(e.ok('doorbell_send', db, 0b0011n, 0n)[1], 0b0101n);
  assert.equal(e.ok('doorbell_send', db, 1n << 63n, 0n)[1], 0b0111n);
  assert.equal(e.ok('doorbell_receive', db, 0b0001n, 0n)[1], 0b0111n | (1n << 63n));
  assert.equal(e.ok('doorbell_receive', db, ALL, 0n)[1], 0b0110n | (1n << 63n));
  assert.equal(e.ok('doorbell_receive', db, ALL, 0n)[1], 0n);
});

test('doorbell §6: receive with clear_flags == 0 is ARGUMENT_INVALID and changes nothing', () => {
  const e = env();
  const db = e.doorbell();
  e.ok('doorbell_send', db, 6n, 0n);
  const r = e.call('doorbell_receive', db, 0n, 0n);
  assert.equal(r.e, Err.ARGUMENT_INVALID);
  assert.equal(r.x[1], 0n, 'no old_flags on error');
  assert.equal(e.ok('doorbell_receive', db, 1n, 0n)[1], 6n);
});

test('doorbell §6: with flags enabled, send asserts and then clears the ack-mask flags', () => {
  const e = env();
  const db = e.doorbell();
  e.ok('doorbell_mask', db, ALL, 0b1100n, 0n);
  e.ok('doorbell_send', db, 0b1111n, 0n);
  assert.equal(e.ok('doorbell_receive', db, ALL, 0n)[1], 0b0011n);
});

test('doorbell §6: while no sent flag is enabled, the ack mask is not applied', () => {
  const e = env();
  const db = e.doorbell();
  e.ok('doorbell_mask', db, 0b1n, 0b10n, 0n);
  e.ok('doorbell_send', db, 0b10n, 0n);
  assert.equal(e.ok('doorbell_receive', db, ALL, 0n)[1], 0b10n);
});

test('doorbell §6: mask enabling already-set flags asserts and applies the new ack mask; disabling them all clears the VIRQ', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_mask', db, 0n, 0n, 0n);
  e.ok('doorbell_send', db, 0b110n, 0n);
  assert.ok(!g.pending(40), 'nothing enabled: no level');
  e.ok('doorbell_mask', db, 0b010n, 0b010n, 0n);
  assert.ok(g.pending(40), '!was && now: asserted');
  assert.equal(e.ok('doorbell_send', db, 0n, 0n)[1], 0b100n, 'ack mask applied after the assert');
  e.ok('doorbell_send', db, 0b010n, 0n); // enabled flag again, acked at once
  e.ok('doorbell_mask', db, 0b100n, 0b000n, 0n); // flags 0b100: !was && now again
  assert.ok(g.pending(40));
  e.ok('doorbell_mask', db, 0b001n, 0n, 0n);
  assert.ok(!g.pending(40), 'was && !now: cleared');
});

test('doorbell §6: mask with flags enabled before and after applies the ack mask without a new assert', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_send', db, 0b11n, 0n);
  assert.equal(g.ack(), 40);
  e.ok('doorbell_mask', db, ALL, 0b01n, 0n);
  assert.equal(e.ok('doorbell_receive', db, 0b10n, 0n)[1], 0b10n, 'was && now: flag 0 acknowledged');
  g.eoi(40);
  assert.ok(!g.pending(40), 'mask did not reassert: the false predicate drops the level');
});

test('doorbell §6: reset clears the VIRQ and restores flags 0, ack 0, enable all-ones', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(40);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 40n, 0n);
  e.ok('doorbell_mask', db, 1n, 1n, 0n);
  e.ok('doorbell_send', db, 6n, 0n);
  e.ok('doorbell_mask', db, 2n, 0n, 0n);
  assert.ok(g.pending(40));
  e.ok('doorbell_reset', db, 0n);
  assert.ok(!g.pending(40));
  assert.equal(e.ok('doorbell_send', db, 1n << 40n, 0n)[1], 0n, 'flags cleared');
  assert.ok(g.pending(40), 'enable mask all-ones again');
  assert.equal(e.ok('doorbell_receive', db, 1n, 0n)[1], 1n << 40n, 'ack mask 0 again');
});

test('doorbell §6: the VIRQ re-fires after EOI while any enabled flag remains, and the receiver sees every flag', () => {
  const e = env();
  const vic = e.vic();
  const g = GuestGic.of(e, vic);
  g.enable(45);
  const db = e.doorbell();
  e.ok('doorbell_bind_virq', db, vic, 45n, 0n);
  e.ok('doorbell_send', db, 0b101n, 0n);
  const seen: bigint[] = [];
  const PEEK = 1n << 62n; // never sent: clearing it reads the flags without changing them
  // A guest handler that takes one flag per interrupt.
  for (let k = 0; k < 5 && g.irq(); k++) {
    assert.equal(g.ack(), 45);
    const flags = e.ok('doorbell_receive', db, PEEK, 0n)[1]!;
    const low = flags & -flags;
    seen.push(low);
    e.ok('doorbell_receive', db, low, 0n);
    g.eoi(45);
  }
  assert.deepEqual(seen, [0b001n, 0b100n]);
  assert.ok(!g.irq());
});

test('doorbell §2.3: each call needs its right — send: send; receive, reset, mask: receive; bind, unbind: bind', () => {
  const e = env();
  const vic = e.vic();
  const db = e.doorbell();
  const sendOnly = e.copy(db, DB.send);
  const recvOnly = e.copy(db, DB.receive);
  const bindOnly = e.copy(db, DB.bind);
  const R = Err.CSPACE_INSUFFICIENT_RIGHTS;
  const calls: [string, bigint[], bigint][] = [
    ['doorbell_send', [1n, 0n], sendOnly],
    ['doorbell_receive', [1n, 0n], recvOnly],
    ['doorbell_reset', [0n], recvOnly],
    ['doorbell_mask', [ALL, 0n, 0n], recvOnly],
    ['doorbell_bind_virq', [vic, 40n, 0n], bindOnly],
    ['doorbell_unbind_virq', [0n], bindOnly],
  ];
  for (const [name, args, good] of calls) {
    for (const cap of [sendOnly, recvOnly, bindOnly]) {
      assert.equal(e.call(name, cap, ...args).e, cap === good ? Err.OK : R, `${name} with cap ${cap}`);
    }
  }
});

test('doorbell §4.2: every call needs an ACTIVE doorbell (OBJECT_STATE before activation); activation cannot fail and happens once', () => {
  const e = env();
  const vic = e.vic();
  const db = e.create('doorbell');
  for (const [name, args] of [
    ['doorbell_send', [1n, 0n]],
    ['doorbell_receive', [1n, 0n]],
    ['doorbell_reset', [0n]],
    ['doorbell_mask', [1n, 0n, 0n]],
    ['doorbell_bind_virq', [vic, 40n, 0n]],
    ['doorbell_unbind_virq', [0n]],
  ] as const) {
    assert.equal(e.call(name, db, ...args).e, Err.OBJECT_STATE, name);
  }
  e.ok('object_activate', db, 0n);
  assert.equal(e.call('object_activate', db, 0n).e, Err.OBJECT_STATE);
  assert.equal(
    e.call('object_activate', e.copy(db, DB.send | DB.receive | DB.bind), 0n).e,
    Err.CSPACE_INSUFFICIENT_RIGHTS,
  );
  // A cap with only the activate right reaches none of the doorbell calls.
  const actOnly = e.copy(db, RIGHT_ACTIVATE);
  assert.equal(e.call('doorbell_send', actOnly, 1n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
});

test('doorbell §3.1: deleted caps are CSPACE_CAP_NULL, revoked copies CSPACE_CAP_REVOKED; the doorbell dies with its last cap', () => {
  const e = env();
  const db = e.doorbell();
  const copy = e.copy(db, DB.send);
  e.ok('cspace_revoke_caps_from', e.C, db, 0n);
  assert.equal(e.call('doorbell_send', copy, 1n, 0n).e, Err.CSPACE_CAP_REVOKED);
  e.ok('cspace_delete_cap_from', e.C, db, 0n);
  assert.equal(e.call('doorbell_send', db, 1n, 0n).e, Err.CSPACE_CAP_NULL);
  assert.equal(e.hv.liveOf('doorbell').length, 0);
});

test('doorbell §1.1: reserved arguments must be zero', () => {
  const e = env();
  const db = e.doorbell();
  assert.equal(e.call('doorbell_send', db, 1n, 1n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('doorbell_receive', db, 1n, 1n << 63n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('doorbell_mask', db, 1n, 0n, 2n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.call('doorbell_reset', db, 3n).e, Err.ARGUMENT_INVALID);
  assert.equal(e.ok('doorbell_send', db, 0n, 0n)[1], 0n, 'nothing was sent');
});

test('doorbell §6: two vCPUs with separate cspaces — the sender holds send only, the receiver receive only; the receiver’s VIC gets the VIRQ', () => {
  const e = env();
  const db = e.doorbell();
  const a = e.vcpu();
  const b = e.vcpu();
  const rxVic = b.vic;
  const g = GuestGic.of(e, rxVic);
  g.enable(70);
  const aDb = a.give(db, DB.send);
  const bDb = b.give(db, DB.receive);
  const bVic = b.give(rxVic, 0x1);
  const bBind = b.give(db, DB.bind);
  assert.equal(b.call('doorbell_bind_virq', bBind, bVic, 70n, 0n).e, Err.OK);
  assert.equal(a.call('doorbell_receive', aDb, 1n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(b.call('doorbell_send', bDb, 1n, 0n).e, Err.CSPACE_INSUFFICIENT_RIGHTS);
  assert.equal(a.call('doorbell_send', aDb, 0x80n, 0n).e, Err.OK);
  assert.ok(g.pending(70));
  assert.equal(g.ack(), 70);
  const r = b.call('doorbell_receive', bDb, ALL, 0n);
  assert.equal(r.e, Err.OK);
  assert.equal(r.x[1], 0x80n);
  g.eoi(70);
  assert.ok(!g.pending(70));
  // The caps are the peers' own: the root's cap IDs mean nothing (or something else) in their cspaces.
  assert.notEqual(a.call('doorbell_send', db, 1n, 0n).e, Err.OK);
});
