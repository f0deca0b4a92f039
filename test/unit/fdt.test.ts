// The flattened-device-tree reader, writer, tree model and DTS emitter (src/machine/fdt/), checked
// against the Devicetree Specification v0.4 ch. 5 ("DT §5.x"): byte vectors typed in from the
// format, one hand-made bad blob per reader error, and fast-check properties (round trips; random
// and mutated blobs only ever give a tree or an FdtError). The dtc oracle is in fdt-dtc.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeCells,
  decodeInterrupts,
  decodePhandle,
  decodeReg,
  decodeString,
  decodeStrings,
  decodeU32,
  decodeU64,
  encodeCells,
  encodeInterrupts,
  encodeReg,
  encodeString,
  encodeStrings,
  encodeU32,
  encodeU64,
  Fdt,
  FdtError,
  FdtNode,
  readFdt,
  toDts,
  writeFdt,
} from '../../src/machine/fdt/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

// ---- vectors typed in from DT §5.2–§5.5 ----

// `/ { compatible = "a"; };` — header (40) · reservation block: only the (0, 0) pair (16) ·
// structure: BEGIN_NODE "" | PROP len 2 nameoff 0 "a\0" + 2 pad | END_NODE | END (32) ·
// strings "compatible\0" (11). totalsize 99 = 0x63.
const MINIMAL = bytes(`
  d00dfeed 00000063 00000038 00000058 00000028 00000011 00000010 00000000 0000000b 00000020
  00000000 00000000 00000000 00000000
  00000001 00000000
  00000003 00000002 00000000 61000000
  00000002 00000009
  636f6d70 61746962 6c6500`);

// `/memreserve/ 0x80000000 0x1000; / { #size-cells = <1>; cpus { cells; }; };`, boot CPU 1.
// Reservation block 32 bytes at 0x28; structure 60 bytes at 0x48; strings "#size-cells\0" (12) at
// 0x84; "cells" is the tail of "#size-cells", so its nameoff is 6 (dtc shares such tails).
const SHARED = bytes(`
  d00dfeed 00000090 00000048 00000084 00000028 00000011 00000010 00000001 0000000c 0000003c
  00000000 80000000 00000000 00001000  00000000 00000000 00000000 00000000
  00000001 00000000
  00000003 00000004 00000000 00000001
  00000001 63707573 00000000
  00000003 00000000 00000006
  00000002 00000002 00000009
  2373697a 652d6365 6c6c7300`);

function minimalTree(): Fdt {
  const t = new Fdt();
  t.root.setProperty('compatible', ascii('a\0'));
  return t;
}

function sharedTree(): Fdt {
  const t = new Fdt();
  t.root.setProperty('#size-cells', bytes('00000001'));
  t.root.addChild('cpus').setProperty('cells', new Uint8Array(0));
  t.memReservations.push({ address: 0x8000_0000n, size: 0x1000n });
  t.bootCpuidPhys = 1;
  return t;
}

test('DT §5.2–§5.5: a one-property root is written as the 99 bytes of the typed-in vector', () => {
  assert.equal(hex(writeFdt(minimalTree())), hex(MINIMAL));
});

test('DT §5.2–§5.5: reservations, boot_cpuid_phys, padded node names and an empty property give the typed-in bytes', () => {
  assert.equal(hex(writeFdt(sharedTree())), hex(SHARED));
});

test('DT §5.5: a property name that is the tail of an earlier one points into it (nameoff 6 for "cells")', () => {
  const out = writeFdt(sharedTree());
  const dv = new DataView(out.buffer);
  assert.equal(dv.getUint32(0x48 + 44), 6);
  assert.equal(dv.getUint32(0x20), 12, 'size_dt_strings holds "#size-cells" once');
});

test('DT §5.5: a repeated property name is stored once in the strings block', () => {
  const t = new Fdt();
  t.root.addChild('a').setU32('reg', 1);
  t.root.addChild('b').setU32('reg', 2);
  const out = writeFdt(t);
  const dv = new DataView(out.buffer);
  assert.equal(dv.getUint32(0x20), 4, 'strings block is "reg\\0"');
  assert.deepEqual([...out.subarray(out.length - 4)], [...ascii('reg\0')]);
});

test('DT §5.2–§5.5: the reader turns the typed-in vectors into the trees they describe', () => {
  assert.ok(readFdt(MINIMAL).equals(minimalTree()));
  const t = readFdt(SHARED);
  assert.ok(t.equals(sharedTree()));
  assert.equal(t.bootCpuidPhys, 1);
  assert.deepEqual(t.memReservations, [{ address: 0x8000_0000n, size: 0x1000n }]);
  assert.deepEqual([...t.root.children.keys()], ['cpus']);
});

test('DT §5.4.1: FDT_NOP tokens anywhere in the structure block are skipped', () => {
  const b = blob([4, 1, '', 4, 3, 4, 0, 7, 4, 1, 'x', 4, 2, 4, 2, 4, 9], 'p\0');
  const t = readFdt(b);
  assert.deepEqual(t.root.getCells('p'), [7]);
  assert.ok(t.root.child('x'));
});

test('DT §5.2: a version 16 blob (no size_dt_struct) is read; bytes after FDT_END and after totalsize are ignored', () => {
  const b = blob([1, '', 3, 4, 0, 5, 2, 9, 0xdeadbeef], 'p\0', { version: 16, lastComp: 16, extra: 8 });
  const t = readFdt(b);
  assert.deepEqual(t.root.getCells('p'), [5]);
});

// ---- a hand assembler for bad blobs (independent of the writer) ----

interface BlobOpts {
  rsv?: bigint[];
  version?: number;
  lastComp?: number;
  /** Header fields to overwrite after layout, by byte offset. */
  set?: Record<number, number>;
  /** Garbage bytes after totalsize. */
  extra?: number;
}

/** Header · reservations (+ (0,0)) · structure (numbers are u32 words, strings NUL-padded names) · strings. */
function blob(struct: (number | string)[], strings: string, o: BlobOpts = {}): Uint8Array {
  const sbytes: number[] = [];
  for (const s of struct) {
    if (typeof s === 'number') {
      sbytes.push((s >>> 24) & 0xff, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff);
    } else {
      const b = [...ascii(s), 0];
      while (b.length % 4) b.push(0);
      sbytes.push(...b);
    }
  }
  const rsv = [...(o.rsv ?? []), 0n, 0n];
  const offRsv = 40;
  const offStruct = offRsv + rsv.length * 8;
  const offStrings = offStruct + sbytes.length;
  const total = offStrings + strings.length;
  const out = new Uint8Array(total + (o.extra ?? 0)).fill(0xee);
  const dv = new DataView(out.buffer);
  const hdr = [
    0xd00dfeed,
    total,
    offStruct,
    offStrings,
    offRsv,
    o.version ?? 17,
    o.lastComp ?? 16,
    0,
    strings.length,
    sbytes.length,
  ];
  hdr.forEach((v, i) => dv.setUint32(i * 4, v));
  rsv.forEach((v, i) => dv.setBigUint64(offRsv + i * 8, v));
  out.set(sbytes, offStruct);
  out.set(ascii(strings), offStrings);
  for (const [at, v] of Object.entries(o.set ?? {})) dv.setUint32(Number(at), v);
  return out;
}

function patched(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint32(at, v);
  return c;
}

function rejects(b: Uint8Array, msg: RegExp, offset?: number): void {
  assert.throws(
    () => readFdt(b),
    (e: unknown) => {
      assert.ok(e instanceof FdtError, `not an FdtError: ${String(e)}`);
      assert.match(e.message, msg);
      if (offset !== undefined) assert.equal(e.offset, offset, e.message);
      return true;
    },
  );
}

const GOOD = [1, '', 3, 4, 0, 1, 2, 9];

test('DT §5.2: the hand assembler makes a blob the reader accepts (the bad blobs below differ in one thing)', () => {
  assert.deepEqual(readFdt(blob(GOOD, 'p\0')).root.getCells('p'), [1]);
});

test('DT §5.2: a blob without magic 0xd00dfeed is rejected as bad magic at byte 0', () => {
  rejects(patched(MINIMAL, 0, 0xd00dfeee), /bad magic 0xd00dfeee/, 0);
  rejects(new Uint8Array(40), /bad magic 0x0 /, 0);
});

test('DT §5.2: a blob shorter than its header is rejected as a truncated header', () => {
  rejects(new Uint8Array(0), /truncated header: the blob is 0 bytes/, 0);
  rejects(MINIMAL.subarray(0, 3), /truncated header/, 0);
  rejects(MINIMAL.subarray(0, 20), /truncated header.*version/, 0);
  rejects(MINIMAL.subarray(0, 39), /truncated header: the blob is 39 bytes, a v17 header is 40/, 0);
});

test('DT §5.2: versions before 16 and last_comp_version after 17 are unsupported', () => {
  rejects(patched(MINIMAL, 0x14, 3), /unsupported version 3/, 0x14);
  rejects(patched(MINIMAL, 0x18, 18), /unsupported version: last_comp_version 18/, 0x18);
});

test('DT §5.2: totalsize past the end of the blob or inside the header is rejected', () => {
  rejects(patched(MINIMAL, 4, 100), /totalsize 100 is past the end of the blob \(99 bytes\)/, 4);
  rejects(patched(MINIMAL, 4, 39), /totalsize 39 is smaller than the 40-byte header/, 4);
});

test('DT §5.2: block offsets and sizes outside the blob are rejected, naming the block', () => {
  rejects(patched(MINIMAL, 0x08, 0x1000), /structure block offset 0x1000 is outside/, 0x08);
  rejects(patched(MINIMAL, 0x08, 0x10), /structure block offset 0x10 is outside/, 0x08);
  rejects(patched(MINIMAL, 0x24, 0x2c), /structure block \(44 bytes at 0x38\) runs past totalsize 0x63/, 0x24);
  rejects(patched(MINIMAL, 0x0c, 0x64), /strings block offset 0x64 is outside/, 0x0c);
  rejects(patched(MINIMAL, 0x20, 12), /strings block \(12 bytes at 0x58\) runs past totalsize 0x63/, 0x20);
  rejects(patched(MINIMAL, 0x10, 0x68), /memory reservation block offset 0x68 is outside/, 0x10);
});

test('DT §5.1: misaligned reservation and structure blocks are rejected', () => {
  rejects(patched(MINIMAL, 0x10, 0x2c), /memory reservation block offset 0x2c is not 8-byte aligned/, 0x10);
  rejects(patched(MINIMAL, 0x08, 0x39), /structure block offset 0x39 is not 4-byte aligned/, 0x08);
});

test('DT §5.3: a reservation block without its terminator (a zero-size entry) before totalsize is rejected', () => {
  // Point the reservation block at the structure block: no 16 zero bytes follow before the end.
  rejects(patched(MINIMAL, 0x10, 0x40), /memory reservation block has no terminating zero-size entry/);
});

test('DT §5.4.1: an unknown token is rejected as a bad token at its offset', () => {
  rejects(blob([1, '', 5, 2, 9], ''), /bad token 0x5/, 64);
});

test('DT §5.4.1: a node name without a NUL before the end of the structure block is rejected', () => {
  // BEGIN_NODE then "abcd" with no NUL: the block ends first.
  rejects(blob([1, '', 1, 0x61626364], ''), /unterminated node name/, 68);
});

test('DT §5.4.1: a property value longer than the rest of the structure block is rejected', () => {
  rejects(blob([1, '', 3, 100, 0, 2, 9], 'p\0'), /property value of 100 bytes runs past the structure block in \//, 68);
  rejects(blob([1, '', 3, 4], 'p\0'), /truncated property header/, 64);
});

test('DT §5.4.1: a nameoff past the strings block is rejected', () => {
  rejects(blob([1, '', 3, 4, 2, 1, 2, 9], 'p\0'), /property nameoff 0x2 is past the strings block \(2 bytes\)/, 72);
});

test('DT §5.5: a property name without a NUL in the strings block is rejected as an unterminated string', () => {
  rejects(blob([1, '', 3, 4, 0, 1, 2, 9], 'p'), /unterminated string at strings block offset 0x0/);
});

test('DT §5.4.1: unbalanced nodes are rejected: FDT_END inside a node, FDT_END_NODE with none open', () => {
  rejects(blob([1, '', 1, 'a', 2, 9], ''), /FDT_END inside \/ \(unbalanced nodes: 1 still open\)/);
  rejects(blob([1, '', 1, 'a', 9], ''), /FDT_END inside \/a \(unbalanced nodes: 2 still open\)/);
  rejects(blob([1, '', 2, 2, 9], ''), /FDT_END_NODE without a matching FDT_BEGIN_NODE/, 68);
  rejects(blob([2, 9], ''), /FDT_END_NODE without a matching FDT_BEGIN_NODE/, 56);
});

test('DT §5.4.1: a structure block that ends without FDT_END is rejected', () => {
  rejects(blob([1, '', 2], ''), /structure block ends without FDT_END/);
  rejects(blob([1, '', 1, 'a'], ''), /structure block ends without FDT_END inside \/a \(unbalanced nodes\)/);
  rejects(blob([], ''), /structure block ends without FDT_END/);
  rejects(blob([9], ''), /FDT_END before the root node/);
});

test('DT §5.4.2: a property after a child node, outside any node, or repeated is rejected', () => {
  rejects(blob([1, '', 1, 'a', 2, 3, 0, 0, 2, 9], 'p\0'), /property p after a child node of \//);
  rejects(blob([1, '', 2, 3, 0, 0, 9], 'p\0'), /property outside any node/);
  rejects(blob([1, '', 3, 0, 0, 3, 0, 0, 2, 9], 'p\0'), /duplicate property p in \//);
  rejects(blob([1, '', 3, 0, 0, 2, 9], '\0'), /property name at strings offset 0x0 is empty/);
});

test('DT §2.2.1 / §5.4.1: bad node names and a second or named root are rejected', () => {
  rejects(blob([1, '', 1, 'a', 2, 1, 'a', 2, 2, 9], ''), /duplicate node a under \//);
  rejects(blob([1, '', 1, 'a/b', 2, 2, 9], ''), /node name "a\/b" under \/ contains "\/"/);
  rejects(blob([1, '', 1, '', 2, 2, 9], ''), /node name "" under \/ is empty/);
  rejects(blob([1, '', 2, 1, '', 2, 9], ''), /a second root node/);
  rejects(blob([1, 'root', 2, 9], ''), /the root node has a name \("root"\)/);
});

test('FdtError: a reader error names the byte offset in its message and in .offset', () => {
  assert.throws(
    () => readFdt(blob([1, '', 5, 2, 9], '')),
    (e: unknown) =>
      e instanceof FdtError &&
      String(e) === 'FdtError: FDT at byte 0x40: bad token 0x5 in the structure block' &&
      e.offset === 0x40,
  );
});

// ---- the tree model ----

test('DT §2.2.3: path lookup finds nodes by full name, by name without unit address, and through /aliases', () => {
  const t = new Fdt();
  const hyp = t.root.addChild('hypervisor');
  const rpc = hyp.addChild('qcom,resource-manager-rpc@0000000000000001');
  t.root.addChild('memory@80000000');
  t.root.addChild('memory@c0000000');
  t.root.addChild('aliases').setString('rm', '/hypervisor/qcom,resource-manager-rpc@0000000000000001');
  assert.equal(t.lookup('/hypervisor/qcom,resource-manager-rpc@0000000000000001'), rpc);
  assert.equal(t.lookup('/hypervisor/qcom,resource-manager-rpc'), rpc);
  assert.equal(t.lookup('/memory')?.name, 'memory@80000000', 'the first match in order');
  assert.equal(t.lookup('/memory@c0000000')?.name, 'memory@c0000000');
  assert.equal(t.lookup('/memory@1'), undefined);
  assert.equal(t.lookup('/'), t.root);
  assert.equal(t.lookup('rm'), rpc);
  assert.equal(t.lookup('nope/x'), undefined);
  assert.equal(t.canonicalPath('/hypervisor/qcom,resource-manager-rpc'), '/hypervisor/' + rpc.name);
  assert.throws(() => t.node('/nope'), /FDT: no node \/nope/);
});

test('DT §2.2: properties and children keep insertion order; replacing keeps the position, deleting removes', () => {
  const n = new FdtNode('n');
  n.setU32('b', 1).setU32('a', 2).setU32('c', 3);
  n.setU32('a', 9);
  assert.deepEqual([...n.properties.keys()], ['b', 'a', 'c']);
  assert.equal(n.getU32('a'), 9);
  assert.ok(n.deleteProperty('b'));
  assert.ok(!n.deleteProperty('b'));
  assert.deepEqual([...n.properties.keys()], ['a', 'c']);
  n.addChild('z');
  n.addChild('y');
  const x = new FdtNode('z');
  x.setFlag('new');
  n.setChild(x);
  assert.deepEqual([...n.children.keys()], ['z', 'y']);
  assert.equal(n.child('z'), x);
  assert.throws(() => n.addChild('y'), /already has a child y/);
  assert.ok(n.deleteChild('z'));
  assert.deepEqual([...n.children.keys()], ['y']);
  assert.equal(n.ensureChild('y'), n.child('y'));
});

test('Fdt: addNode needs the parent, ensureNode makes ancestors, deleteNode removes the subtree', () => {
  const t = new Fdt();
  assert.throws(() => t.addNode('/a/b'), /no node \/a/);
  t.ensureNode('/a/b/c');
  assert.ok(t.lookup('/a/b/c'));
  t.addNode('/a/d');
  assert.deepEqual(
    [...t.walk()].map(([p]) => p),
    ['/', '/a', '/a/b', '/a/b/c', '/a/d'],
  );
  assert.ok(t.deleteNode('/a/b'));
  assert.deepEqual(
    [...t.walk()].map(([p]) => p),
    ['/', '/a', '/a/d'],
  );
  assert.ok(!t.deleteNode('/a/b'));
  assert.ok(!t.deleteNode('/'));
});

test('DT §2.2.1: names the format cannot hold are refused', () => {
  assert.throws(() => new FdtNode('a/b'), /contains "\/"/);
  assert.throws(() => new FdtNode('a\0b'), /contains a NUL/);
  assert.throws(() => new FdtNode('\u4e00'), /not one byte/);
  assert.throws(() => new FdtNode('x').addChild(''), /is empty/);
  assert.throws(() => new FdtNode('x').setProperty('', new Uint8Array(0)), /property name "" is empty/);
  assert.throws(() => new FdtNode('x').setProperty('p\0', new Uint8Array(0)), /contains a NUL/);
});

test('DT §2.2.4: typed values encode big-endian as the specification lays them out', () => {
  assert.equal(hex(encodeU32(0x12345678)), '12345678');
  assert.equal(hex(encodeU64(0x1_0000_0002n)), '0000000100000002');
  assert.equal(hex(encodeCells([1, 0xffffffff])), '00000001ffffffff');
  assert.equal(hex(encodeString('ab')), '616200');
  assert.equal(hex(encodeStrings(['a', '', 'bc'])), '610000626300');
  assert.equal(hex(encodeStrings([])), '');
  assert.throws(() => encodeU32(-1), /not a u32/);
  assert.throws(() => encodeU32(2 ** 32), /not a u32/);
  assert.throws(() => encodeU64(1n << 64n), /does not fit in 64 bits/);
  assert.throws(() => encodeString('a\0'), /contains a NUL/);
});

test('DT §2.2.4: typed readers check the size and shape and name the property', () => {
  assert.equal(decodeU32(bytes('0000002a')), 42);
  assert.equal(decodeU64(bytes('ffffffffffffffff')), 0xffff_ffff_ffff_ffffn);
  assert.deepEqual(decodeCells(bytes('0000000100000002')), [1, 2]);
  assert.deepEqual(decodeStrings(ascii('gunyah-hypervisor\0simple-bus\0')), ['gunyah-hypervisor', 'simple-bus']);
  assert.equal(decodeString(ascii('Qualcomm\0')), 'Qualcomm');
  assert.throws(() => decodeU32(bytes('000001'), 'qcom,vmid'), /qcom,vmid is 3 bytes, not a u32/);
  assert.throws(() => decodeU64(bytes('00000001')), /4 bytes, not a u64/);
  assert.throws(() => decodeCells(bytes('000001')), /not a whole number of cells/);
  assert.throws(() => decodeString(ascii('ab')), /last byte is not NUL/);
  assert.throws(() => decodeString(ascii('a\0b\0')), /is 2 strings, not one/);
  assert.throws(() => decodeStrings(bytes('ff00')), /string 0 is not valid UTF-8/);
  assert.throws(() => decodePhandle(bytes('00000000')), /phandle 0x0 is reserved/);
  const n = new FdtNode('vm');
  n.setProperty('qcom,vmid', bytes('0001'));
  assert.throws(() => n.getU32('qcom,vmid'), /property qcom,vmid of node vm is 2 bytes, not a u32/);
  assert.equal(n.getU32('absent'), undefined);
});

test('DT §2.3.6: reg is laid out by the parent #address-cells/#size-cells (defaults 2 and 1)', () => {
  const t = new Fdt();
  t.root.setU32('#address-cells', 2).setU32('#size-cells', 2);
  t.root.addChild('memory@80000000');
  t.setReg('/memory@80000000', [{ address: 0x8000_0000n, size: 0x1000_0000n }]);
  assert.equal(hex(t.root.child('memory')!.getProperty('reg')!), '00000000800000000000000010000000');
  const cpus = t.root.addChild('cpus').setU32('#address-cells', 1).setU32('#size-cells', 0);
  cpus.addChild('cpu@1').setU32('reg', 1);
  assert.deepEqual(t.reg('/cpus/cpu@1'), [{ address: 1n, size: 0n }]);
  // No cell counts on the parent: 2 address cells and 1 size cell.
  const bare = new Fdt();
  bare.root.addChild('dev').setProperty('reg', bytes('00000001 00000002 00000003'));
  assert.deepEqual(bare.reg('/dev'), [{ address: 0x1_0000_0002n, size: 3n }]);
  assert.throws(() => bare.setReg('/dev', [{ address: 0n, size: 1n << 32n }]), /does not fit in 1 cell/);
  assert.throws(() => decodeReg(bytes('00000001'), 1, 1), /not a whole number of \(1 address \+ 1 size\) cell entries/);
  assert.equal(hex(encodeReg([{ address: 0x1234n, size: 0x10n }], 1, 1)), '0000123400000010');
  assert.equal(t.reg('/cpus'), undefined);
});

test('DT §2.4: interrupts are split by the interrupt parent #interrupt-cells, found through interrupt-parent or ancestors', () => {
  const t = new Fdt();
  const gic = t.root.addChild('intc@8000000').setU32('#interrupt-cells', 3).setFlag('interrupt-controller');
  t.root.setU32('interrupt-parent', t.phandle('/intc@8000000'));
  assert.equal(gic.getU32('phandle'), 1);
  t.root.addChild('pl011@9000000').setProperty('interrupts', encodeInterrupts([[0, 1, 4]]));
  assert.equal(t.interruptParent('/pl011@9000000'), '/intc@8000000');
  assert.deepEqual(t.interrupts('/pl011@9000000'), [[0, 1, 4]]);
  t.setInterrupts('/pl011@9000000', [
    [0, 1, 4],
    [1, 13, 0xf08],
  ]);
  assert.equal(
    hex(t.root.child('pl011')!.getProperty('interrupts')!),
    '000000000000000100000004000000010000000d00000f08',
  );
  assert.throws(() => t.setInterrupts('/pl011@9000000', [[1, 2]]), /specifier \[1 2\] is not 3 cells/);
  // A nested controller without interrupt-parent: its children's parent is found by walking up.
  const sub = t.root.addChild('bus').setU32('#interrupt-cells', 1);
  sub.addChild('dev').setCells('interrupts', [5, 6]);
  assert.equal(t.interruptParent('/bus/dev'), '/bus');
  assert.deepEqual(t.interrupts('/bus/dev'), [[5], [6]]);
  assert.deepEqual(decodeInterrupts(bytes('00000001000000020000000300000004'), 2), [
    [1, 2],
    [3, 4],
  ]);
  assert.throws(() => decodeInterrupts(bytes('000000010000000200000003'), 2), /not a whole number of 2-cell/);
  const lonely = new Fdt();
  lonely.root.addChild('dev').setCells('interrupts', [1]);
  assert.throws(() => lonely.interrupts('/dev'), /has no interrupt parent/);
  lonely.root.setU32('interrupt-parent', 7);
  assert.throws(() => lonely.interrupts('/dev'), /interrupt-parent <0x7> names no node/);
});

test('DT §2.3.3: phandles are allocated one above the largest in use and found again', () => {
  const t = new Fdt();
  t.root.addChild('a').setU32('phandle', 5);
  t.root.addChild('b').setU32('linux,phandle', 9);
  t.root.addChild('c');
  assert.equal(t.phandle('/a'), 5);
  assert.equal(t.phandle('/c'), 10);
  assert.equal(t.phandle('/c'), 10, 'stable once given');
  assert.equal(t.pathOfPhandle(9), '/b');
  assert.equal(t.pathOfPhandle(10), '/c');
  assert.equal(t.pathOfPhandle(11), undefined);
});

test('RM §4.1: the secondary-VM /hypervisor node built with the helpers reads back property by property', () => {
  const t = rmHypervisorTree();
  const back = readFdt(writeFdt(t));
  assert.ok(back.equals(t));
  const hyp = back.node('/hypervisor');
  assert.deepEqual(hyp.getStrings('compatible'), [
    'gunyah-hypervisor',
    'qcom,gunyah-hypervisor-1.0',
    'qcom,gunyah-hypervisor',
    'simple-bus',
  ]);
  assert.equal(back.node('/hypervisor/qcom,gunyah-vm').getU32('qcom,vmid'), 45);
  const rpc = back.node('/hypervisor/qcom,resource-manager-rpc');
  assert.equal(rpc.name, 'qcom,resource-manager-rpc@b');
  assert.deepEqual(rpc.getProperty('reg'), u64Pair(0xan, 0xbn));
  assert.ok(rpc.hasProperty('qcom,is-full-duplex'));
  assert.deepEqual(back.interrupts('/hypervisor/qcom,resource-manager-rpc@b'), [
    [0, 3, 1],
    [0, 4, 1],
  ]);
});

function u64Pair(a: bigint, b: bigint): Uint8Array {
  const out = new Uint8Array(16);
  new DataView(out.buffer).setBigUint64(0, a);
  new DataView(out.buffer).setBigUint64(8, b);
  return out;
}

/** The shape of RM §4.1's /hypervisor node (with a GIC so the interrupts have a parent). */
function rmHypervisorTree(): Fdt {
  const t = new Fdt();
  t.root.setU32('#address-cells', 2).setU32('#size-cells', 2);
  const gic = t.root.addChild('intc@8000000');
  gic.setU32('#interrupt-cells', 3).setFlag('interrupt-controller');
  t.root.setU32('interrupt-parent', t.phandle('/intc@8000000'));
  const hyp = t.root.addChild('hypervisor');
  hyp.setU32('#address-cells', 2).setU32('#size-cells', 0);
  hyp.setStrings('compatible', [
    'gunyah-hypervisor',
    'qcom,gunyah-hypervisor-1.0',
    'qcom,gunyah-hypervisor',
    'simple-bus',
  ]);
  const vm = hyp.addChild('qcom,gunyah-vm');
  vm.setStrings('compatible', ['qcom,gunyah-vm-id-1.0', 'qcom,gunyah-vm-id']);
  vm.setU32('qcom,vmid', 45).setU32('qcom,owner-vmid', 3).setString('qcom,vendor', 'Qualcomm');
  vm.setString('qcom,image-name', '');
  const rpc = hyp.addChild('qcom,resource-manager-rpc@b');
  rpc.setStrings('compatible', [
    'qcom,gunyah-message-queue',
    'qcom,gunyah-capability',
    'gunyah-resource-manager',
    'qcom,resource-manager',
    'qcom,resource-manager-1-0',
  ]);
  rpc.setProperty('reg', u64Pair(0xan, 0xbn));
  rpc.setCells('interrupts', [0, 3, 1, 0, 4, 1]);
  rpc.setU32('qcom,free-irq-start', 0).setFlag('qcom,is-full-duplex');
  rpc.setU32('qcom,tx-message-size', 240).setU32('qcom,rx-message-size', 240);
  rpc.setU32('qcom,tx-queue-depth', 8).setU32('qcom,rx-queue-depth', 8);
  return t;
}

// ---- DTS emitter ----

test('DT ch. 6: the DTS emitter prints strings, cells, bytes, flags, reservations and nesting as dtc does', () => {
  const t = new Fdt();
  t.memReservations.push({ address: 0x8000_0000n, size: 0x1000n });
  t.root.setU32('#address-cells', 2);
  t.root.setStrings('compatible', ['a,b', 'c']);
  t.root.setString('model', 'say "hi"\\\t');
  t.root.setProperty('bytes', bytes('010203'));
  t.root.setFlag('flag');
  t.root.setProperty('zero', bytes('00000000'));
  const c = t.root.addChild('chosen');
  c.setString('bootargs', 'console=ttyAMA0');
  c.addChild('deeper@1');
  t.root.addChild('empty');
  const expected = [
    '/dts-v1/;',
    '',
    '/memreserve/\t0x0000000080000000 0x0000000000001000;',
    '/ {',
    '\t#address-cells = <0x02>;',
    '\tcompatible = "a,b", "c";',
    '\tmodel = "say \\"hi\\"\\\\\\t";',
    '\tbytes = [01 02 03];',
    '\tflag;',
    '\tzero = <0x00>;',
    '',
    '\tchosen {',
    '\t\tbootargs = "console=ttyAMA0";',
    '',
    '\t\tdeeper@1 {',
    '\t\t};',
    '\t};',
    '',
    '\tempty {',
    '\t};',
    '};',
    '',
  ].join('\n');
  assert.equal(toDts(t), expected);
  assert.equal(toDts(c.child('deeper')!), 'deeper@1 {\n};\n');
});

// ---- properties (fast-check) ----

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789,._+-#';
const nameArb = fc.string({ unit: fc.constantFrom(...NAME_CHARS.split('')), minLength: 1, maxLength: 10 });
const propArb = fc.tuple(nameArb, fc.uint8Array({ maxLength: 20 }));

interface NodeSpec {
  name: string;
  props: [string, Uint8Array][];
  kids: NodeSpec[];
}

function nodeArb(depth: number): fc.Arbitrary<NodeSpec> {
  return fc.record({
    name: nameArb,
    props: fc.uniqueArray(propArb, { maxLength: 4, selector: ([k]) => k }),
    kids: depth === 0 ? fc.constant([]) : fc.uniqueArray(nodeArb(depth - 1), { maxLength: 3, selector: (n) => n.name }),
  });
}

function build(spec: NodeSpec, node: FdtNode): FdtNode {
  for (const [k, v] of spec.props) node.setProperty(k, v);
  for (const k of spec.kids) build(k, node.addChild(k.name));
  return node;
}

const treeArb = fc
  .record({
    root: nodeArb(3),
    rsv: fc.array(
      fc.record({
        address: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        size: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      }),
      {
        maxLength: 3,
      },
    ),
    cpu: fc.nat(),
  })
  .map(({ root, rsv, cpu }) => {
    const t = new Fdt();
    build(root, t.root);
    // A zero size ends the reservation block (as dtc and libfdt read it), so it cannot be an entry.
    t.memReservations = rsv.filter((r) => r.size !== 0n);
    t.bootCpuidPhys = cpu;
    return t;
  });

test('DT §5: any tree survives tree → bytes → tree, and writing the result again gives the same bytes', () => {
  fc.assert(
    fc.property(treeArb, (t) => {
      const b = writeFdt(t);
      const back = readFdt(b);
      assert.ok(back.equals(t), toDts(t));
      assert.equal(hex(writeFdt(back)), hex(b));
      assert.ok(back.clone().equals(back));
    }),
    { numRuns: 300 },
  );
});

/** The reader's contract: a tree, or an FdtError; nothing else escapes. */
function readOrFdtError(b: Uint8Array): Fdt | null {
  try {
    return readFdt(b);
  } catch (e) {
    if (e instanceof FdtError) return null;
    throw e;
  }
}

test('DT §5 robustness: random bytes give a tree or an FdtError, never another exception', () => {
  const withMagic = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => {
    const c = new Uint8Array(Math.max(b.length, 4));
    c.set(b);
    c.set([0xd0, 0x0d, 0xfe, 0xed]);
    return c;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), withMagic), (b) => {
      readOrFdtError(b);
    }),
    { numRuns: 2000 },
  );
});

test('DT §5 robustness: mutated valid blobs give a tree (that round-trips) or an FdtError', () => {
  const bases = [MINIMAL, SHARED, writeFdt(rmHypervisorTree())];
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
    fc.record({
      kind: fc.constant('word' as const),
      at: fc.nat(),
      v: fc.constantFrom(0, 1, 2, 3, 4, 9, 0xffffffff, 0x7fffffff, 40, 0x100),
    }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), v: fc.constant(0) }),
  );
  fc.assert(
    fc.property(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, ms) => {
      let b = base.slice();
      for (const m of ms) {
        if (m.kind === 'cut') {
          b = b.slice(0, m.at % (b.length + 1));
        } else if (m.kind === 'byte') {
          if (b.length) b[m.at % b.length] = m.v;
        } else if (b.length >= 4) {
          new DataView(b.buffer).setUint32(((m.at % (b.length >> 2)) * 4) >>> 0, m.v >>> 0);
        }
      }
      const t = readOrFdtError(b);
      if (t) {
        const again = readFdt(writeFdt(t));
        assert.ok(again.equals(t));
        toDts(t);
      }
    }),
    { numRuns: 3000 },
  );
});

test('DT §5 robustness: a deeply nested blob (10,000 levels) is read, written and printed without recursion limits', () => {
  const depth = 10_000;
  const words: (number | string)[] = [1, ''];
  for (let i = 0; i < depth; i++) words.push(1, 'n');
  for (let i = 0; i <= depth; i++) words.push(2);
  words.push(9);
  const t = readFdt(blob(words, ''));
  const b = writeFdt(t);
  assert.ok(readFdt(b).equals(t));
  assert.ok(toDts(t).length > depth);
  assert.ok(t.clone().equals(t));
});

test('DT §5.3 (as dtc and libfdt read it): a zero-size reservation ends the list; the writer refuses one', () => {
  const t = new Fdt();
  t.memReservations.push({ address: 0x1000n, size: 0n });
  assert.throws(
    () => writeFdt(t),
    (e: unknown) => e instanceof FdtError && /has size 0/.test(e.message),
  );
  // A blob whose first entry is (0x1000, 0) then (0x2000, 0x10): readers see no reservations.
  const ok = new Fdt();
  ok.memReservations.push({ address: 0x3000n, size: 0x10n }, { address: 0x2000n, size: 0x10n });
  const blob = writeFdt(ok);
  new DataView(blob.buffer, blob.byteOffset).setBigUint64(0x28 + 8, 0n);
  assert.deepEqual(readFdt(blob).memReservations, []);
});
