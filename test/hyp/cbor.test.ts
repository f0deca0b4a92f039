// The CBOR codec of the boot environment (hypervisor-abi.md §11.2; RFC 8949), checked against
// RFC 8949 Appendix A's examples (typed in here) and, both ways, against an independent
// implementation (cborg) on generated values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg';
import { CborError, decodeCbor, decodeCborPrefix, encodeCbor, type CborValue } from '../../src/hyp/boot/cbor.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** Integers as bigints, byte strings as plain Uint8Arrays, recursively (how our decoder answers). */
function norm(v: unknown): CborValue {
  if (typeof v === 'number') return BigInt(v);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(norm);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [norm(k), norm(x)]));
  return v as CborValue;
}

// RFC 8949 Appendix A, the examples within this codec's scope (integers, simple values, strings,
// arrays, maps), as (value, preferred encoding).
const APPENDIX_A: [CborValue, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [18446744073709551615n, '1bffffffffffffffff'],
  [-18446744073709551616n, '3bffffffffffffffff'],
  [-1, '20'],
  [-10, '29'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [new Uint8Array(0), '40'],
  [bytes('01020304'), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [new Map(), 'a0'],
  [
    new Map([
      [1, 2],
      [3, 4],
    ]),
    'a201020304',
  ],
  [
    new Map<CborValue, CborValue>([
      ['a', 1],
      ['b', [2, 3]],
    ]),
    'a26161016162820203',
  ],
  [['a', new Map([['b', 'c']])], '826161a161626163'],
  [
    new Map([
      ['a', 'A'],
      ['b', 'B'],
      ['c', 'C'],
      ['d', 'D'],
      ['e', 'E'],
    ]),
    'a56161614161626142616361436164614461656145',
  ],
];

test('RFC 8949 App. A: every in-scope example encodes to its preferred serialization and decodes back', () => {
  for (const [v, h] of APPENDIX_A) {
    assert.equal(hex(encodeCbor(v)), h, `encode ${String(v)}`);
    assert.deepEqual(decodeCbor(bytes(h)), norm(v), `decode ${h}`);
  }
});

test('RFC 8949 §4.2.1: heads take the fewest bytes at every size boundary (23/24, 255/256, 65535/65536, 2^32-1/2^32)', () => {
  const cases: [bigint, string][] = [
    [23n, '17'],
    [24n, '1818'],
    [255n, '18ff'],
    [256n, '190100'],
    [65535n, '19ffff'],
    [65536n, '1a00010000'],
    [0xffff_ffffn, '1affffffff'],
    [0x1_0000_0000n, '1b0000000100000000'],
    [-24n, '37'],
    [-25n, '3818'],
    [-256n, '38ff'],
    [-257n, '390100'],
  ];
  for (const [v, h] of cases) {
    assert.equal(hex(encodeCbor(v)), h, String(v));
    assert.equal(hex(cborgEncode(v)), h, `cborg agrees on ${v}`);
  }
  assert.equal(hex(encodeCbor('x'.repeat(24))), '7818' + '78'.repeat(24), 'a 24-byte string needs a 1-byte length');
  assert.equal(hex(encodeCbor(new Uint8Array(256))).slice(0, 6), '590100', 'a 256-byte string needs 2');
});

// Generated values: integers across the whole 64-bit range of both signs, text (any code point),
// bytes, booleans, null, and nested arrays and maps with text or integer keys.
const intArb = fc.oneof(
  fc.integer(),
  fc.bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n }),
  fc.constantFrom(
    0n,
    23n,
    24n,
    255n,
    256n,
    65535n,
    65536n,
    (1n << 32n) - 1n,
    1n << 32n,
    (1n << 64n) - 1n,
    -(1n << 64n),
  ),
);
const keyArb = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.bigInt({ min: -1000n, max: 1000n }));
const { value: valueArb } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    intArb,
    fc.boolean(),
    fc.constant(null),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 6 }),
    fc
      .uniqueArray(fc.tuple(keyArb, tie('value')), { maxLength: 6, selector: ([k]) => k })
      .map((es) => new Map<CborValue, CborValue>(es)),
  ),
}));

test('oracle (cborg): our encoding is byte-identical to cborg’s with insertion-order maps, and each decodes the other’s', () => {
  fc.assert(
    fc.property(valueArb, (v) => {
      const ours = encodeCbor(v);
      const theirs = cborgEncode(v, { mapSorter: undefined });
      assert.equal(hex(ours), hex(theirs));
      assert.deepEqual(norm(cborgDecode(ours, { useMaps: true })), norm(v), 'cborg decodes ours');
      assert.deepEqual(decodeCbor(theirs), norm(v), 'we decode cborg’s');
    }),
    { seed: 0x6cb0, numRuns: 400 },
  );
});

test('oracle (cborg): with sortKeys our maps follow RFC 8949 §4.2.1 core deterministic order, as cborg’s rfc8949 options do', () => {
  fc.assert(
    fc.property(valueArb, (v) => {
      assert.equal(hex(encodeCbor(v, { sortKeys: true })), hex(cborgEncode(v, rfc8949EncodeOptions)));
    }),
    { seed: 0x6cb1, numRuns: 300 },
  );
});

test('decoder: every strict prefix of a valid encoding is a CborError (truncation), never another exception', () => {
  const whole = encodeCbor(
    new Map<CborValue, CborValue>([
      ['free_ranges', [[0x4000_0000n, 0x400_0000n]]],
      ['vic_hwirq', [0xffff_ffff_ffff_ffffn, 4n, 300n]],
      ['name', 'résumé'],
      ['blob', new Uint8Array([1, 2, 3])],
      ['neg', -70000],
      ['ok', true],
    ]),
  );
  for (let n = 0; n < whole.length; n++) {
    assert.throws(() => decodeCbor(whole.subarray(0, n)), CborError, `prefix of ${n} bytes`);
  }
  assert.ok(decodeCbor(whole) instanceof Map);
});

test('decoder: trailing bytes, lengths past the end, reserved heads, indefinite lengths, tags, floats, bad UTF-8 and duplicate keys are CborErrors', () => {
  const bad: [string, RegExp][] = [
    ['0000', /trailing/],
    ['9bffffffffffffffff', /past the end/],
    ['5a00010000', /past the end/],
    ['bb0000000100000000', /past the end/],
    ['1c', /reserved/],
    ['9f01ff', /indefinite/],
    ['c11a514b67b0', /tags/],
    ['f90000', /floats/],
    ['fb3ff199999999999a', /floats/],
    ['f7', /simple value 23/],
    ['62c328', /UTF-8/],
    ['a2616101616102', /duplicate map key a/],
    ['a201010102', /duplicate map key 1/],
  ];
  for (const [h, re] of bad) assert.throws(() => decodeCbor(bytes(h)), re, h);
  const deep = new Uint8Array(100).fill(0x81);
  assert.throws(() => decodeCbor(deep), /nesting/);
});

test('decoder: a non-shortest head is still read (well-formed, not preferred); decodeCborPrefix reports where the item ends', () => {
  assert.equal(decodeCbor(bytes('1b0000000000000001')), 1n);
  assert.equal(decodeCbor(bytes('7800')), '');
  assert.deepEqual(decodeCborPrefix(bytes('ff1864f5'), 1), { value: 100n, end: 3 });
});

test('encoder: non-integer numbers and integers outside [-2^64, 2^64 - 1] are refused', () => {
  assert.throws(() => encodeCbor(1.5), CborError);
  assert.throws(() => encodeCbor(Number.MAX_SAFE_INTEGER + 1), CborError);
  assert.throws(() => encodeCbor(1n << 64n), /64 bits/);
  assert.throws(() => encodeCbor(-(1n << 64n) - 1n), /64 bits/);
  assert.equal(hex(encodeCbor([Number.MAX_SAFE_INTEGER])), '811b001fffffffffffff');
});
