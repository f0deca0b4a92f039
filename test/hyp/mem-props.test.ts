// Property tests of the memory subsystem (hypervisor-abi.md §10.1–10.4): the interval map and the
// memory database against per-page reference models, and random sequences of memory hypercalls
// checked after every call for the ownership invariants — one owner per page, pages conserved,
// no stage-2 entry for a page its extent does not own, no host exception ever.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntervalMap } from '../../src/hyp/mem/interval-map.js';
import { MemDb } from '../../src/hyp/mem/memdb.js';
import { Err } from '../../src/hyp/abi/errors.js';
import { MemExtent } from '../../src/hyp/mem/memextent.js';
import type { Addrspace } from '../../src/hyp/mem/addrspace.js';
import { Stage2Access } from '../../src/hyp/vm/stage2-access.js';
import {
  MEMEXTENT_MEMTYPE as MT,
  PGTABLE_ACCESS as ACC,
  VM_MEMTYPE,
  encodeExtentAttrs,
  mappingAttrs,
} from '../../src/hyp/mem/attrs.js';
import { PAGE, RAM_BASE, ramPage, root } from './mem-helpers.js';

// ------------------------------------------------------------------------------------------------
// IntervalMap and MemDb against per-page models
// ------------------------------------------------------------------------------------------------

interface Lin {
  pa: number;
  attrs: number;
}
const linOps = {
  shift: (v: Lin, by: number): Lin => ({ pa: v.pa + by, attrs: v.attrs }),
  joins: (a: Lin, b: Lin, d: number) => a.attrs === b.attrs && a.pa + d === b.pa,
};

function checkMaximal<V>(m: IntervalMap<V>, joins: (a: V, b: V, d: number) => boolean): void {
  const xs = m.entries();
  assert.equal(xs.length, m.size);
  for (let i = 0; i < xs.length; i++) {
    const [s, e, v] = xs[i]!;
    assert.ok(s < e, 'non-empty');
    if (i > 0) {
      const [ps, pe, pv] = xs[i - 1]!;
      assert.ok(pe <= s, 'sorted, disjoint');
      if (pe === s) assert.ok(!joins(pv, v, s - ps), 'maximal');
    }
  }
}

for (const [chunk, keys] of [
  [64, 64],
  [1, 200],
] as const) {
  test(`§10.4 (stage-2 tables): the interval map (chunks of ${chunk}) equals a per-page model after any sets and clears, and stays maximal`, () => {
    const N = keys;
    const op = fc.record({
      a: fc.integer({ min: 0, max: N }),
      len: fc.integer({ min: 0, max: 20 }),
      clear: fc.boolean(),
      pa: fc.integer({ min: 0, max: 40 }),
      /** Identity values (pa = key): neighbours then often continue each other and must merge. */
      ident: fc.boolean(),
      attrs: fc.integer({ min: 0, max: 1 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const m = new IntervalMap<Lin>(linOps, chunk);
        const model: (Lin | null)[] = new Array<Lin | null>(N + 20).fill(null);
        for (const o of ops) {
          const b = o.a + o.len;
          const pa = o.ident ? o.a : o.pa;
          m.set(o.a, b, o.clear ? null : { pa, attrs: o.attrs });
          for (let k = o.a; k < b; k++) model[k] = o.clear ? null : { pa: pa + (k - o.a), attrs: o.attrs };
          checkMaximal(m, linOps.joins);
          for (let k = 0; k < model.length; k++) {
            assert.deepEqual(m.get(k) ?? null, model[k], `key ${k}`);
            assert.equal(m.lookup(k), model[k] !== null);
          }
          const x = o.pa % (N + 20);
          const y = Math.min(x + o.len, N + 20);
          assert.equal(
            m.covers(x, y),
            model.slice(x, y).every((v) => v !== null),
          );
          assert.equal(
            m.overlaps(x, y),
            model.slice(x, y).some((v) => v !== null),
          );
          assert.equal(m.countIn(x, y), model.slice(x, y).filter((v) => v !== null).length);
        }
      }),
      { numRuns: 150 },
    );
  });
}

test('§10.1: the memory database moves a range only when the expected owner owns all of it; every page keeps exactly one owner', () => {
  const N = 48;
  const owners = [{ n: 'p' }, { n: 'a' }, { n: 'b' }, { n: 'c' }];
  const op = fc.record({
    a: fc.integer({ min: 0, max: N - 1 }),
    len: fc.integer({ min: 1, max: 16 }),
    to: fc.integer({ min: 0, max: 3 }),
    from: fc.integer({ min: 0, max: 3 }),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const db = new MemDb();
      db.insert(0, N, owners[0]!);
      const model = new Array<object>(N).fill(owners[0]!);
      for (const o of ops) {
        const b = Math.min(o.a + o.len, N);
        const expectOk = model.slice(o.a, b).every((x) => x === owners[o.from]);
        const e = db.update(o.a, b, owners[o.to]!, owners[o.from]!);
        assert.equal(e, expectOk ? Err.OK : Err.MEMDB_NOT_OWNER);
        if (expectOk) model.fill(owners[o.to]!, o.a, b);
        for (let k = 0; k < N; k++) assert.equal(db.ownerOf(k), model[k]);
        assert.equal(
          owners.reduce((n, w) => n + db.countOwned(w), 0),
          N,
          'pages conserved',
        );
        assert.equal(db.ownerOf(N), null, 'nothing outside');
      }
    }),
    { numRuns: 200 },
  );
});

// ------------------------------------------------------------------------------------------------
// Random memory hypercall sequences
// ------------------------------------------------------------------------------------------------

const W = 64; // extents live over RAM pages [0, W)
const ACCESSES = [ACC.R, ACC.RW, ACC.RWX, ACC.RX];

const opArb = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('extent' as const),
      sparse: fc.boolean(),
      off: fc.nat(W - 1),
      size: fc.integer({ min: 1, max: 24 }),
      acc: fc.nat(3),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('derive' as const),
      parent: fc.nat(),
      sparse: fc.boolean(),
      off: fc.nat(6),
      size: fc.integer({ min: 1, max: 8 }),
      acc: fc.nat(3),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('addrspace' as const) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('map' as const),
      as: fc.nat(),
      me: fc.nat(),
      vpage: fc.nat(80),
      partial: fc.boolean(),
      off: fc.nat(6),
      size: fc.integer({ min: 1, max: 8 }),
      acc: fc.nat(3),
      /** Use the extent's own access (so that the mapping is allowed). */
      fit: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('unmap' as const),
      /** Undo one of the successful maps (else random parameters). */
      again: fc.boolean(),
      as: fc.nat(),
      me: fc.nat(),
      vpage: fc.nat(80),
      partial: fc.boolean(),
      off: fc.nat(6),
      size: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('access' as const),
      again: fc.boolean(),
      as: fc.nat(),
      me: fc.nat(),
      vpage: fc.nat(80),
      partial: fc.boolean(),
      off: fc.nat(6),
      size: fc.integer({ min: 1, max: 8 }),
      acc: fc.nat(3),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('donate' as const),
      /**
       * random: any parties; undo: reverse a successful donation; else `type` between a child and
       * its real parent, or from a derived extent that owns pages to a sibling that can take them.
       */
      mode: fc.constantFrom('random', 'undo', 'undo', 'related', 'related', 'related'),
      child: fc.nat(),
      other: fc.nat(),
      type: fc.nat(2),
      from: fc.integer({ min: -1, max: 20 }),
      to: fc.integer({ min: -1, max: 20 }),
      off: fc.nat(4),
      size: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('modify' as const),
      me: fc.nat(),
      op: fc.constantFrom(0, 1, 255),
      off: fc.nat(8),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), extent: fc.boolean(), idx: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('touch' as const),
      as: fc.nat(),
      vpage: fc.nat(100),
      len: fc.nat(9000),
      write: fc.boolean(),
    }),
  },
);

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

test('§10.1–10.4: random memory hypercall sequences keep one owner per page, conserve pages, map only owned pages, and never throw', () => {
  // Successful calls by name over all runs: the sequences must exercise the interesting paths.
  const okCount = new Map<string, number>();
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 10, maxLength: 40, size: 'max' }), (ops: Op[]) => {
      const r = root({ ramSize: 1024 * 1024 });
      const { hv, vm, v, P, C, create, obj } = r;
      const db = hv.mem.memdb;
      const ramLo = RAM_BASE / 4096;
      const ramHi = ramLo + hv.mem.phys.size / 4096;
      const extents: bigint[] = [];
      const spaces: bigint[] = [];
      /** The parent cap each derived extent was configured with. */
      const parentOf = new Map<bigint, bigint>();
      /** Successful donations: [type, from, to, offset, size]. */
      const donations: [bigint, bigint, bigint, bigint, bigint][] = [];
      /** Successful maps: [as, me, vbase, flags, offset, size]. */
      const maps: [bigint, bigint, bigint, bigint, bigint, bigint][] = [];
      const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);
      const call = (name: string, ...args: bigint[]): number => {
        const e = v.call(name, ...args).e;
        const key = name === 'memextent_donate' ? `${name}/${args[0]}` : name;
        if (e === Err.OK) okCount.set(key, (okCount.get(key) ?? 0) + 1);
        return e;
      };
      const rootExtents = hv.liveOf('memextent').length;
      const rootSpaces = hv.liveOf('addrspace').length;
      const mapAttrs = (i: number) => BigInt(mappingAttrs(ACCESSES[i]!, ACCESSES[i]!, VM_MEMTYPE.NORMAL_WB));

      // A sparse pool over the window, half of it given by the partition: the parent most derived
      // extents come from.
      const pool = create('memextent');
      call(
        'memextent_configure',
        pool,
        ramPage(0),
        BigInt(W) * PAGE,
        BigInt(encodeExtentAttrs(ACC.RWX, MT.ANY, 1)),
        0n,
      );
      call('object_activate', pool, 0n);
      call('memextent_donate', 0n, P, pool, 0n, BigInt(W / 2) * PAGE, 0n);
      extents.push(pool);

      const check = (): void => {
        // One owner per RAM page, every owner the partition or an active extent whose range holds it.
        let pages = 0;
        for (const [a, b, o] of db.entries()) {
          if (a >= ramHi || b <= ramLo) continue;
          assert.ok(a >= ramLo && b <= ramHi, 'RAM runs stay inside RAM');
          pages += b - a;
          if (o === vm.partition) continue;
          assert.ok(o instanceof MemExtent, 'owner is the partition or an extent');
          assert.ok(o.active, 'owning extents are active');
          assert.ok(a >= o.base && b <= o.end, "pages lie inside their extent's range");
        }
        assert.equal(pages, ramHi - ramLo, 'every RAM page has exactly one owner');
        // Every stage-2 entry maps a page its extent owns, as one of that extent's records says.
        for (const as of hv.liveOf('addrspace') as Addrspace[]) {
          for (const [i0, i1, pa0] of as.stage2.entries()) {
            for (const [a, b, o] of db.entries()) {
              const lo = Math.max(a, pa0);
              const hi = Math.min(b, pa0 + (i1 - i0));
              if (lo >= hi) continue;
              assert.ok(o instanceof MemExtent, `stage-2 entry for a page owned by ${String(o)}`);
              const ipa = i0 + (lo - pa0);
              const recorded = o.slots.some((s) => {
                if (s === null || s.as !== as || !s.records.covers(lo, hi)) return false;
                let ok = true;
                s.records.forEachIn(lo, hi, (x, _y, rec) => {
                  if (rec.vbase !== ipa + (x - lo)) ok = false;
                });
                return ok;
              });
              assert.ok(recorded, 'the entry is one of the owning extent’s mappings');
            }
          }
        }
      };

      for (const o of ops) {
        switch (o.t) {
          case 'extent': {
            const me = create('memextent');
            const attrs = encodeExtentAttrs(ACCESSES[o.acc]!, MT.ANY, o.sparse ? 1 : 0);
            call('memextent_configure', me, ramPage(o.off), BigInt(o.size) * PAGE, BigInt(attrs), 0n);
            call('object_activate', me, 0n);
            extents.push(me);
            break;
          }
          case 'derive': {
            // Mostly sparse children of the pool, so that siblings (and donations between them) are common.
            const fromPool = o.parent % 3 !== 0 && extents.includes(pool);
            const parent = fromPool ? pool : pick(extents, o.parent);
            if (parent === undefined) break;
            const me = create('memextent');
            const attrs = encodeExtentAttrs(ACCESSES[o.acc]!, MT.ANY, o.sparse || fromPool ? 1 : 0);
            call(
              'memextent_configure_derive',
              me,
              parent,
              BigInt(o.off) * PAGE,
              BigInt(o.size) * PAGE,
              BigInt(attrs),
              0n,
            );
            if (call('object_activate', me, 0n) === Err.OK) parentOf.set(me, parent);
            extents.push(me);
            break;
          }
          case 'addrspace': {
            const as = create('addrspace');
            call('addrspace_configure', as, BigInt(spaces.length + 1), 0n);
            call('object_activate', as, 0n);
            spaces.push(as);
            break;
          }
          case 'map':
          case 'unmap':
          case 'access': {
            let as = pick(spaces, o.as);
            let me = pick(extents, o.me);
            let vb = 0x1000_0000n + BigInt(o.vpage) * PAGE;
            let fl = o.partial ? 1n : 0n;
            let off = BigInt(o.off) * PAGE;
            let size = BigInt(o.size) * PAGE;
            if (o.t !== 'map' && o.again && maps.length > 0) [as, me, vb, fl, off, size] = maps[o.as % maps.length]!;
            if (as === undefined || me === undefined) break;
            if (o.t === 'map') {
              const ext = obj<MemExtent>(me);
              const attrs = o.fit
                ? BigInt(mappingAttrs(ext.access, ext.access, VM_MEMTYPE.NORMAL_WB))
                : mapAttrs(o.acc);
              if (call('addrspace_map', as, me, vb, attrs, fl, off, size) === Err.OK)
                maps.push([as, me, vb, fl, off, size]);
            } else if (o.t === 'unmap') {
              call('addrspace_unmap', as, me, vb, fl, off, size);
            } else {
              const a = BigInt(ACCESSES[o.acc]! | (ACCESSES[o.acc]! << 4));
              call('addrspace_update_access', as, me, vb, a, fl, off, size);
            }
            break;
          }
          case 'donate': {
            let type = BigInt(o.type);
            let from = o.from < 0 ? P : pick(extents, o.from);
            let to = o.to < 0 ? P : pick(extents, o.to);
            let off = BigInt(o.off) * PAGE;
            let size = BigInt(o.size) * PAGE;
            const child = pick(extents, o.child);
            if (o.mode === 'undo' && donations.length > 0) {
              const d = donations[o.child % donations.length]!;
              [type, from, to, off] = [d[0] === 2n ? 2n : 1n - d[0], d[2], d[1], d[3]];
              if (d[0] === 2n) off += BigInt(obj<MemExtent>(d[1]).base - obj<MemExtent>(d[2]).base) << 12n;
              if (call('memextent_donate', type, from, to, off, d[4], 0n) === Err.OK)
                donations.splice(o.child % donations.length, 1);
              break;
            }
            if (o.mode !== 'random' && child !== undefined) {
              const parent = parentOf.get(child) ?? P;
              const K = obj<MemExtent>(child);
              if (o.type !== 2 && K.pages > 0) {
                // A range that fits in the child; for TO_PARENT preferably one it owns.
                const runs = db.runs(K.base, K.end, K);
                const [a, b] =
                  o.type === 1 && runs.length > 0 ? runs[o.off % runs.length]! : [K.base + (o.off % K.pages), K.end];
                off = BigInt(a - K.base) * PAGE;
                size = BigInt(Math.min(b - a, o.size)) * PAGE;
              }
              if (o.type === 0) [from, to] = [parent, child];
              else if (o.type === 1) [from, to] = [child, parent];
              else {
                // A derived extent that owns pages, and a sibling whose range holds some of them.
                const owners = extents.filter((e) => parentOf.has(e) && obj<MemExtent>(e).ownedPages > 0);
                const f = pick(owners, o.child);
                if (f === undefined) break;
                const F = obj<MemExtent>(f);
                const runs = db.runs(F.base, F.end, F);
                const [a, b] = runs[o.off % runs.length]!;
                const sibs = extents.filter((e) => {
                  const T = obj<MemExtent>(e);
                  return e !== f && parentOf.get(e) === parentOf.get(f) && T.base <= a && a < T.end;
                });
                const t = pick(sibs, o.other);
                if (t === undefined) break;
                [from, to] = [f, t];
                off = BigInt(a - F.base) * PAGE;
                size = BigInt(Math.min(b, obj<MemExtent>(t).end, a + o.size) - a) * PAGE;
              }
            }
            if (from === undefined || to === undefined) break;
            if (call('memextent_donate', type, from, to, off, size, 0n) === Err.OK)
              donations.push([type, from, to, off, size]);
            break;
          }
          case 'modify': {
            const me = pick(extents, o.me);
            if (me === undefined) break;
            const flags = o.op === 1 ? 1n | 0x8000_0000n : BigInt(o.op);
            call('memextent_modify', me, flags, BigInt(o.off) * PAGE, PAGE);
            break;
          }
          case 'delete': {
            const xs = o.extent ? extents : spaces;
            if (xs.length === 0) break;
            const [cap] = xs.splice(o.idx % xs.length, 1);
            assert.equal(call('cspace_delete_cap_from', C, cap!, 0n), Err.OK);
            // The cap ID will be reused: forget what it named.
            parentOf.delete(cap!);
            for (const [k, p] of parentOf) if (p === cap) parentOf.delete(k);
            maps.splice(0, maps.length, ...maps.filter((m) => m[0] !== cap && m[1] !== cap));
            donations.splice(0, donations.length, ...donations.filter((d) => d[1] !== cap && d[2] !== cap));
            break;
          }
          case 'touch': {
            const as = pick(spaces, o.as);
            if (as === undefined) break;
            const acc = new Stage2Access(obj<Addrspace>(as).stage2, hv.mem.phys);
            const va = 0x1000_0000n + BigInt(o.vpage) * PAGE - 7n;
            const res = o.write ? acc.write(va, new Uint8Array(o.len)) : acc.read(va, o.len);
            assert.ok(typeof res === 'number' || res.length === o.len);
            break;
          }
        }
        check();
      }
      // Tear down: every page given away comes back to the partition (or the RM extent).
      for (const cap of [...extents, ...spaces]) assert.equal(call('cspace_delete_cap_from', C, cap, 0n), Err.OK);
      assert.equal(hv.liveOf('memextent').length, rootExtents, 'no extent leaks');
      assert.equal(hv.liveOf('addrspace').length, rootSpaces, 'no addrspace leaks');
      assert.equal(db.countOwned(vm.partition) + vm.rmMemextent.ownedPages, ramHi - ramLo);
    }),
    // Seeded: the coverage check below counts successes, which must not depend on luck.
    { numRuns: 250, seed: 0x6d656d },
  );
  for (const name of [
    'memextent_configure_derive',
    'object_activate',
    'addrspace_map',
    'addrspace_unmap',
    'addrspace_update_access',
    'memextent_donate/0',
    'memextent_donate/1',
    'memextent_donate/2',
    'memextent_modify',
  ]) {
    assert.ok(
      (okCount.get(name) ?? 0) >= 5,
      `${name} succeeded ${okCount.get(name) ?? 0} times (${[...okCount].join(' ')})`,
    );
  }
});
