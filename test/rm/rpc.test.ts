// The RM RPC wire format (resource-manager-protocol.md §1.3–§1.8, §2.1, §2.4): constants, header
// bytes, fragmentation, both reassembly flavours, reply helpers and the list encoding. Byte vectors
// are typed in from the spec's field tables, never produced by the code under test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IPA_RESERVE_LIST_MAX_ENTRIES,
  LinuxReassembler,
  MEM_LIST_MAX_ENTRIES,
  MESSAGES,
  MsgId,
  MsgType,
  NotificationSeq,
  RM_ERRORS,
  RPC_HEADER_BYTE0,
  RPC_HEADER_SIZE,
  RPC_MAX_FRAGMENTS,
  RPC_MAX_PACKETS,
  RPC_MAX_PAYLOAD_LINUX,
  RPC_MAX_PAYLOAD_RM,
  RPC_PACKET_SIZE,
  RPC_PAYLOAD_PER_PACKET,
  RmError,
  RmReassembler,
  RpcError,
  checkPacket,
  decodeReplyPayload,
  encodeHeader,
  encodeReplyPayload,
  fragmentCount,
  fragmentMessage,
  messageInfo,
  messageName,
  notification,
  readList,
  readLists,
  replyTo,
  rmErrorLinuxErrno,
  rmErrorName,
  unimplementedReply,
  writeList,
  type LinuxRxEvent,
  type RmRxEvent,
  type RpcMessage,
} from '../../src/rm/rpc/index.js';

/** Bytes from a hex string with optional spaces: '21 01 34 12'. */
const bytes = (h: string): Uint8Array => {
  const s = h.replace(/\s+/g, '');
  return new Uint8Array(s.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
};
/** A payload whose every byte says where it came from. */
const pattern = (n: number, salt = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + salt) & 0xff);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const delivered = (evs: readonly (RmRxEvent | LinuxRxEvent)[]): RpcMessage[] =>
  evs.flatMap((e) => (e.kind === 'delivered' ? [e.message] : []));
const kinds = (evs: readonly (RmRxEvent | LinuxRxEvent)[]): string[] =>
  evs.map((e) => e.kind + ('reason' in e ? `:${e.reason}` : ''));
const feed = <E>(r: { push(p: Uint8Array): E[] }, packets: readonly Uint8Array[]): E[] =>
  packets.flatMap((p) => r.push(p));

const REQ = (payload: Uint8Array, seq = 0x1234, msgId = 0x5600_0001): RpcMessage => ({
  type: MsgType.REQUEST,
  seq,
  msgId,
  payload,
});

// ------------------------------------------------------------------------------------ constants

test('RM §1.3/§1.4: byte 0 is 0x21, the header is 8 bytes, packets 240, payload 232 per packet', () => {
  assert.equal(RPC_HEADER_BYTE0, 0x21);
  assert.equal(RPC_HEADER_SIZE, 8);
  assert.equal(RPC_PACKET_SIZE, 240);
  assert.equal(RPC_PAYLOAD_PER_PACKET, 232);
  assert.deepEqual([MsgType.CONTINUATION, MsgType.REQUEST, MsgType.REPLY, MsgType.NOTIFICATION], [0, 1, 2, 3]);
});

test('RM §1.4: the RM sends at most 63 packets = 14 616 bytes; Linux at most 62 × 232 = 14 384', () => {
  assert.equal(RPC_MAX_FRAGMENTS, 62);
  assert.equal(RPC_MAX_PACKETS, 63);
  assert.equal(RPC_MAX_PAYLOAD_RM, 14616);
  assert.equal(RPC_MAX_PAYLOAD_LINUX, 14384);
});

// §1.6 as typed in from the spec: value, name, Linux errno (null = 0).
const SPEC_ERRORS: [number, string, string | null][] = [
  [0x0, 'OK', null],
  [0x1, 'NOMEM', 'ENOMEM'],
  [0x2, 'NORESOURCE', 'ENODEV'],
  [0x3, 'DENIED', 'EPERM'],
  [0x4, 'MSG_INVALID', 'EINVAL'],
  [0x5, 'BUSY', 'EBUSY'],
  [0x6, 'ARGUMENT_INVALID', 'EINVAL'],
  [0x7, 'HANDLE_INVALID', 'EINVAL'],
  [0x8, 'VALIDATE_FAILED', 'EINVAL'],
  [0x9, 'MAP_FAILED', 'EINVAL'],
  [0xa, 'MEM_INVALID', 'EINVAL'],
  [0xb, 'MEM_INUSE', 'EINVAL'],
  [0xc, 'MEM_RELEASED', 'EINVAL'],
  [0xd, 'VMID_INVALID', 'EINVAL'],
  [0xe, 'LOOKUP_FAILED', 'EINVAL'],
  [0xf, 'IRQ_INVALID', 'EINVAL'],
  [0x10, 'IRQ_INUSE', 'EINVAL'],
  [0x11, 'IRQ_RELEASED', 'EINVAL'],
  [0x12, 'IN_USE', 'EBADMSG'],
  [0x13, 'IRQ_NOT_MAPPED', 'EBADMSG'],
  [0x14, 'VM_STATE', 'EBADMSG'],
  [0xffffffff, 'UNIMPLEMENTED', 'EOPNOTSUPP'],
];

test('RM §1.6: every RM error code has the spec’s value, name and Linux errno, and nothing else is listed', () => {
  assert.deepEqual(
    RM_ERRORS.map((r) => [r.code, r.name, r.linuxErrno]),
    SPEC_ERRORS,
  );
  for (const [code, name, errno] of SPEC_ERRORS) {
    assert.equal(RmError[name as keyof typeof RmError], code);
    assert.equal(rmErrorName(code), name);
    assert.equal(rmErrorLinuxErrno(code), errno);
  }
  assert.equal(RM_ERRORS.find((r) => r.code === 4)?.linuxName, 'INVALID');
  assert.deepEqual(
    RM_ERRORS.filter((r) => r.rmOnly).map((r) => r.name),
    ['IN_USE', 'IRQ_NOT_MAPPED', 'VM_STATE'],
  );
});

test('RM §1.6: a code outside the table is named by its hex value and maps to EBADMSG in Linux', () => {
  assert.equal(rmErrorName(0x15), 'RM error 0x15');
  assert.equal(rmErrorLinuxErrno(0x15), 'EBADMSG');
});

// §2.1 and §2.4 as typed in from the spec: ID, name, kind ('r' request, 'n' notification), implemented.
const SPEC_IDS: [number, string, 'r' | 'n', boolean][] = [
  [0x56000001, 'VM_ALLOCATE', 'r', true],
  [0x56000002, 'VM_DEALLOCATE', 'r', true],
  [0x56000004, 'VM_START', 'r', true],
  [0x56000005, 'VM_STOP', 'r', true],
  [0x56000006, 'VM_RESET', 'r', true],
  [0x56000007, 'VM_SUSPEND', 'r', false],
  [0x56000008, 'VM_RESUME', 'r', false],
  [0x56000009, 'VM_CONFIG_IMAGE', 'r', true],
  [0x5600000a, 'VM_AUTH_IMAGE', 'r', true],
  [0x5600000b, 'VM_INIT', 'r', true],
  [0x56000010, 'VM_GET_ID', 'r', true],
  [0x56000011, 'VM_LOOKUP_URI', 'r', true],
  [0x56000012, 'VM_LOOKUP_GUID', 'r', true],
  [0x56000013, 'VM_LOOKUP_NAME', 'r', true],
  [0x56000015, 'VM_GET_OWNER', 'r', true],
  [0x56000017, 'VM_GET_STATE', 'r', true],
  [0x56000019, 'VM_GET_CRASH_MSG', 'r', true],
  [0x56000020, 'VM_GET_HYP_RESOURCES', 'r', true],
  [0x56000021, 'VM_GET_HYP_CAPIDS', 'r', false],
  [0x56000022, 'VM_GET_HYP_IRQS', 'r', false],
  [0x56000024, 'VM_GET_VMID', 'r', true],
  [0x56000025, 'VM_GET_PEERS', 'r', true],
  [0x56000030, 'VM_SET_TIME_BASE', 'r', true],
  [0x56000031, 'VM_SET_BOOT_CONTEXT', 'r', false],
  [0x56000032, 'VM_SET_FIRMWARE_MEM', 'r', true],
  [0x56000033, 'VM_SET_DEMAND_PAGING', 'r', false],
  [0x56000034, 'VM_SET_ADDRESS_LAYOUT', 'r', false],
  [0x56000050, 'VM_IRQ_ACCEPT', 'r', true],
  [0x56000051, 'VM_IRQ_LEND', 'r', true],
  [0x56000052, 'VM_IRQ_RELEASE', 'r', true],
  [0x56000053, 'VM_IRQ_RECLAIM', 'r', true],
  [0x56000054, 'VM_IRQ_NOTIFY', 'r', true],
  [0x56000055, 'VM_IRQ_UNMAP', 'r', false],
  [0x56000080, 'VM_SET_STATUS', 'r', true],
  [0x56000081, 'VM_CONSOLE_OPEN', 'r', true],
  [0x56000082, 'VM_CONSOLE_CLOSE', 'r', true],
  [0x56000083, 'VM_CONSOLE_WRITE', 'r', true],
  [0x56000084, 'VM_CONSOLE_FLUSH', 'r', true],
  [0x56000085, 'VM_EXIT', 'r', true],
  [0x56000086, 'VM_SET_CRASH_MSG', 'r', true],
  [0x560000a0, 'VM_HOST_GET_TYPE', 'r', true],
  [0x560000b0, 'IPA_RESERVE', 'r', true],
  [0x560000b1, 'IPA_UNRESERVE', 'r', false],
  [0x51000010, 'MEM_DONATE', 'r', true],
  [0x51000011, 'MEM_ACCEPT', 'r', true],
  [0x51000012, 'MEM_LEND', 'r', true],
  [0x51000013, 'MEM_SHARE', 'r', true],
  [0x51000014, 'MEM_RELEASE', 'r', true],
  [0x51000015, 'MEM_RECLAIM', 'r', true],
  [0x51000017, 'MEM_NOTIFY', 'r', true],
  [0x51000018, 'MEM_APPEND', 'r', true],
  [0x5100001a, 'MEM_QCOM_LOOKUP_SGL', 'r', true],
  [0x51000020, 'FW_MILESTONE', 'r', true],
  [0x51000021, 'FW_SET_VM_FIRMWARE', 'r', true],
  [0x56100001, 'NOTIFY_VM_EXITED', 'n', true],
  [0x56100002, 'NOTIFY_VM_SHUTDOWN', 'n', true],
  [0x56100008, 'NOTIFY_VM_STATUS', 'n', true],
  [0x56100011, 'NOTIFY_VM_IRQ_LENT', 'n', true],
  [0x56100012, 'NOTIFY_VM_IRQ_RELEASED', 'n', true],
  [0x56100013, 'NOTIFY_VM_IRQ_ACCEPTED', 'n', true],
  [0x56100080, 'NOTIFY_VM_CONSOLE_CHARS', 'n', true],
  [0x51100011, 'MEM_SHARED', 'n', true],
  [0x51100012, 'MEM_RELEASED', 'n', true],
  [0x51100013, 'MEM_ACCEPTED', 'n', true],
  [0x51100014, 'MEM_RECALL', 'n', true],
];

test('RM §2.1/§2.4: the message table lists exactly the spec’s IDs, names, kinds and public-RM status, in order', () => {
  assert.deepEqual(
    MESSAGES.map((r) => [r.id, r.name, r.kind === 'request' ? 'r' : 'n', r.implemented]),
    SPEC_IDS,
  );
  assert.equal(new Set(MESSAGES.map((r) => r.id)).size, MESSAGES.length, 'IDs are unique');
  assert.equal(new Set(MESSAGES.map((r) => r.name)).size, MESSAGES.length, 'names are unique');
  for (const [id, name] of SPEC_IDS) {
    assert.equal(MsgId[name as keyof typeof MsgId], id);
    assert.equal(messageName(id), name);
  }
});

test('RM §2.1: Linux’s and the RM’s other names are kept, and the uncertain FW_* rows keep their [?] note', () => {
  assert.deepEqual(messageInfo(0x56000001)?.aka, ['VM_ALLOC_VMID']);
  assert.deepEqual(messageInfo(0x56000031)?.aka, ['VM_SET_CONTEXT']);
  assert.match(messageInfo(0x51000020)?.note ?? '', /\[\?\]/);
  assert.match(messageInfo(0x51000021)?.note ?? '', /\[\?\]/);
  assert.equal(messageName(0x56000003), 'message 0x56000003');
  assert.equal(messageInfo(0x56000003), undefined);
});

// ---------------------------------------------------------------------------------- header (§1.3)

test('RM §1.3: a REQUEST header is 0x21, type|count<<2, seq LE, msg_id LE', () => {
  assert.deepEqual(
    encodeHeader({ type: MsgType.REQUEST, fragments: 0, seq: 0x1234, msgId: 0x56000001 }),
    bytes('21 01 34 12 01 00 00 56'),
  );
  // REPLY with one continuation: byte 1 = 1<<2 | 2.
  assert.deepEqual(
    encodeHeader({ type: MsgType.REPLY, fragments: 1, seq: 0xfffe, msgId: 0x51000012 }),
    bytes('21 06 fe ff 12 00 00 51'),
  );
  // NOTIFICATION, 3 continuations: 3<<2 | 3 = 0x0f.
  assert.deepEqual(
    encodeHeader({ type: MsgType.NOTIFICATION, fragments: 3, seq: 0, msgId: 0x56100008 }),
    bytes('21 0f 00 00 08 00 10 56'),
  );
  // CONTINUATION with the largest count: 62<<2 = 0xf8.
  assert.deepEqual(
    encodeHeader({ type: MsgType.CONTINUATION, fragments: 62, seq: 0x0102, msgId: 0xffffffff }),
    bytes('21 f8 02 01 ff ff ff ff'),
  );
});

test('RM §1.3: a received header decodes field by field, the payload follows byte 8', () => {
  const c = checkPacket(bytes('21 0a 07 00 20 00 00 56 aa bb'));
  assert.ok(c.ok);
  assert.deepEqual(c.header, { type: MsgType.REPLY, fragments: 2, seq: 7, msgId: 0x56000020 });
  assert.deepEqual(c.payload, bytes('aa bb'));
});

test('RM §1.3: the sender refuses header fields the wire cannot carry validly (count 63, seq > u16, type 4)', () => {
  assert.throws(() => encodeHeader({ type: MsgType.REQUEST, fragments: 63, seq: 0, msgId: 1 }), RpcError);
  assert.throws(() => encodeHeader({ type: MsgType.REQUEST, fragments: 0, seq: 0x10000, msgId: 1 }), RpcError);
  assert.throws(() => encodeHeader({ type: 4 as MsgType, fragments: 0, seq: 0, msgId: 1 }), RpcError);
  assert.throws(() => encodeHeader({ type: MsgType.REQUEST, fragments: 0, seq: 0, msgId: 2 ** 32 }), /msg_id/);
});

// Each of §1.3's drop rules, as a packet that breaks only it.
const BAD_HEADERS: [string, Uint8Array, string][] = [
  ['an empty packet', new Uint8Array(0), 'short'],
  ['a 7-byte packet', bytes('21 01 00 00 01 00 00'), 'short'],
  ['API version 2', bytes('22 01 00 00 01 00 00 56'), 'api-version'],
  ['API version 0', bytes('20 01 00 00 01 00 00 56'), 'api-version'],
  ['header words 3', bytes('31 01 00 00 01 00 00 56'), 'header-words'],
  ['header words 1', bytes('11 01 00 00 01 00 00 56'), 'header-words'],
  ['fragment count 63 (0xfc | REQUEST)', bytes('21 fd 00 00 01 00 00 56'), 'fragment-count'],
];

for (const [what, packet, reason] of BAD_HEADERS) {
  test(`RM §1.3: the RM drops ${what} (${reason}) and its half-received message survives`, () => {
    assert.equal(checkPacket(packet).ok, false);
    const rm = new RmReassembler();
    const parts = fragmentMessage(REQ(pattern(300)));
    rm.push(parts[0]!);
    assert.deepEqual(kinds(rm.push(packet)), [`dropped:${reason}`]);
    assert.equal(rm.partial?.received, 0);
    assert.deepEqual(delivered(rm.push(parts[1]!)), [REQ(pattern(300))]);
  });
}

test('RM §1.3: a fragment count of 62 passes the receiver check', () => {
  const c = checkPacket(bytes('21 f9 00 00 01 00 00 56'));
  assert.ok(c.ok);
  assert.equal(c.header.fragments, 62);
});

test('RM §1.2: a "packet" over 240 bytes cannot come from a message queue and is dropped (our choice)', () => {
  const p = new Uint8Array(241);
  p.set(bytes('21 01 00 00 01 00 00 56'));
  assert.deepEqual(kinds(new RmReassembler().push(p)), ['dropped:oversize']);
  assert.deepEqual(kinds(new LinuxReassembler().push(p)), ['dropped:oversize']);
});

// ----------------------------------------------------------------------------- fragmentation (§1.4)

// payload size → packet sizes and fragment count, worked out from §1.4 by hand.
const FRAGMENTATION: [number, number[], number][] = [
  [0, [8], 0],
  [1, [9], 0],
  [232, [240], 0],
  [233, [240, 9], 1],
  [464, [240, 240], 1],
  [465, [240, 240, 9], 2],
  [14384, Array(62).fill(240), 61],
  [14385, [...Array(62).fill(240), 9], 62],
  [14616, Array(63).fill(240), 62],
];

for (const [size, sizes, count] of FRAGMENTATION) {
  test(`RM §1.4: a ${size}-byte payload is ${sizes.length} packet(s), fragment count ${count}, continuations repeating it`, () => {
    const payload = pattern(size, 3);
    const packets = fragmentMessage({ type: MsgType.REPLY, seq: 0xbeef, msgId: 0x51000013, payload });
    assert.deepEqual(
      packets.map((p) => p.length),
      sizes,
    );
    assert.equal(fragmentCount(size), count);
    packets.forEach((p, i) => {
      // byte 1 = count<<2 | type (REPLY first, CONTINUATION after); seq ef be; msg_id 13 00 00 51.
      const byte1 = (count << 2) | (i === 0 ? 2 : 0);
      assert.deepEqual(p.subarray(0, 8), bytes(`21 ${byte1.toString(16).padStart(2, '0')} ef be 13 00 00 51`));
    });
    assert.deepEqual(concat(...packets.map((p) => p.subarray(8))), payload);
    // Both receivers rebuild it (Linux needs the call registered).
    assert.deepEqual(delivered(feed(new RmReassembler(), packets)), [
      { type: MsgType.REPLY, seq: 0xbeef, msgId: 0x51000013, payload },
    ]);
    if (size >= 4) {
      const lx = new LinuxReassembler();
      lx.expectReply(0xbeef, 0x51000013);
      assert.deepEqual(delivered(feed(lx, packets)), [
        { type: MsgType.REPLY, seq: 0xbeef, msgId: 0x51000013, payload },
      ]);
      assert.deepEqual(lx.outstanding, []);
    }
  });
}

test('RM §1.4: the RM refuses to send 14 617 bytes; Linux refuses 14 385 but sends 14 384', () => {
  assert.throws(
    () => fragmentMessage(REQ(new Uint8Array(14617))),
    /14617-byte payload exceeds the RM's limit of 14616/,
  );
  assert.throws(() => fragmentMessage(REQ(new Uint8Array(14385)), 'linux'), /exceeds Linux's limit of 14384/);
  assert.equal(fragmentMessage(REQ(new Uint8Array(14384)), 'linux').length, 62);
  assert.equal(fragmentMessage(REQ(new Uint8Array(14616)), 'rm').length, 63);
});

test('RM §1.4: a message cannot be sent as a CONTINUATION', () => {
  assert.throws(() => fragmentMessage({ ...REQ(new Uint8Array(1)), type: 0 as never }), RpcError);
});

// ------------------------------------------------------------------------- reassembly, RM (§1.4)

const THREE = REQ(pattern(600, 1), 0x0010, 0x51000012); // 3 packets: 232, 232, 136
const threePackets = (): Uint8Array[] => fragmentMessage(THREE);

test('RM §1.4: a zero-length request is one header-only packet, delivered at once with an empty payload', () => {
  const rm = new RmReassembler();
  assert.deepEqual(kinds(rm.push(bytes('21 01 05 00 24 00 00 56'))), ['delivered']);
  assert.deepEqual(delivered(rm.push(bytes('21 01 05 00 24 00 00 56'))), [REQ(new Uint8Array(0), 5, 0x56000024)]);
});

test('RM §1.4: the RM delivers after exactly `fragments` continuations, not before', () => {
  const rm = new RmReassembler();
  const [a, b, c] = threePackets();
  assert.deepEqual(kinds(rm.push(a!)), ['accepted']);
  assert.deepEqual(kinds(rm.push(b!)), ['accepted']);
  assert.equal(rm.partial?.received, 1);
  assert.deepEqual(delivered(rm.push(c!)), [THREE]);
  assert.equal(rm.partial, undefined);
});

test('RM §1.4: continuations carry no index, so the RM joins out-of-order ones in arrival order', () => {
  const [a, b, c] = threePackets();
  const got = delivered(feed(new RmReassembler(), [a!, c!, b!]));
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.payload, concat(a!.subarray(8), c!.subarray(8), b!.subarray(8)));
});

test('RM §1.4: a missing continuation leaves the message pending until a new request discards it', () => {
  const rm = new RmReassembler();
  const [a, , c] = threePackets();
  feed(rm, [a!, c!]);
  assert.equal(rm.partial?.received, 1);
  const next = REQ(pattern(10), 0x0011, 0x56000024);
  const evs = rm.push(fragmentMessage(next)[0]!);
  assert.deepEqual(kinds(evs), ['discarded:superseded', 'delivered']);
  assert.deepEqual(delivered(evs), [next]);
});

test('RM §1.4: a duplicated continuation counts twice, and the leftover one is then dropped as stray', () => {
  const rm = new RmReassembler();
  const [a, b, c] = threePackets();
  const evs = feed(rm, [a!, b!, b!]);
  assert.deepEqual(delivered(evs)[0]!.payload, concat(a!.subarray(8), b!.subarray(8), b!.subarray(8)));
  assert.deepEqual(kinds(rm.push(c!)), ['dropped:no-pending']);
});

test('RM §1.4: a duplicated first packet restarts the message, which then arrives whole', () => {
  const [a, b, c] = threePackets();
  const evs = feed(new RmReassembler(), [a!, a!, b!, c!]);
  assert.deepEqual(kinds(evs), ['accepted', 'discarded:superseded', 'accepted', 'accepted', 'delivered']);
  assert.deepEqual(delivered(evs), [THREE]);
});

for (const [field, mutate] of [
  ['seq', (p: Uint8Array) => (p[2] ^= 1)],
  ['msg_id', (p: Uint8Array) => (p[7] ^= 0x80)],
  ['fragment count', (p: Uint8Array) => (p[1] = (3 << 2) | 0)],
] as const) {
  test(`RM §1.4: the RM drops a continuation with the wrong ${field} and keeps waiting for the right one`, () => {
    const rm = new RmReassembler();
    const [a, b, c] = threePackets();
    const bad = b!.slice();
    mutate(bad);
    rm.push(a!);
    assert.deepEqual(kinds(rm.push(bad)), ['dropped:mismatch']);
    assert.equal(rm.partial?.received, 0);
    assert.deepEqual(delivered(feed(rm, [b!, c!])), [THREE]);
  });
}

test('RM §1.4: the RM drops a continuation that arrives with nothing pending', () => {
  const [, b] = threePackets();
  assert.deepEqual(kinds(new RmReassembler().push(b!)), ['dropped:no-pending']);
});

test('RM §1.4: a new request mid-message discards the half-received one; its stale continuations are dropped', () => {
  const rm = new RmReassembler();
  const [a, b, c] = threePackets();
  const other = REQ(pattern(250, 9), 0x0011, 0x56000009); // 2 packets
  const [x, y] = fragmentMessage(other);
  const evs = feed(rm, [a!, b!, x!, c!, y!]);
  assert.deepEqual(kinds(evs), [
    'accepted',
    'accepted',
    'discarded:superseded',
    'accepted',
    'dropped:mismatch',
    'delivered',
  ]);
  assert.deepEqual(delivered(evs), [other]);
});

test('RM §1.4: the RM starts a message on any non-continuation type (a notification, or even a reply)', () => {
  const rm = new RmReassembler();
  const n = notification(0x56100008, 4, pattern(8));
  const r = replyTo({ seq: 9, msgId: 0x56000004 }, 0);
  assert.deepEqual(delivered(feed(rm, [...fragmentMessage(n), ...fragmentMessage(r)])), [n, r]);
});

test('RM §1.4: a header-only first packet announcing continuations waits for them', () => {
  // 21 05 = REQUEST, count 1; the continuation 21 04 carries the only payload byte.
  const rm = new RmReassembler();
  assert.deepEqual(kinds(rm.push(bytes('21 05 01 00 01 00 00 56'))), ['accepted']);
  assert.deepEqual(delivered(rm.push(bytes('21 04 01 00 01 00 00 56 7f'))), [REQ(bytes('7f'), 1, 0x56000001)]);
});

test('RM §1.4: reassembler state saves and restores mid-message', () => {
  const rm = new RmReassembler();
  const [a, b, c] = threePackets();
  feed(rm, [a!, b!]);
  const copy = new RmReassembler();
  copy.restore(JSON.parse(JSON.stringify(rm.save())));
  assert.deepEqual(delivered(copy.push(c!)), [THREE]);
});

// ----------------------------------------------------------------------- reassembly, Linux (§1.4)

const REPLY3 = replyTo({ seq: 0x0042, msgId: 0x56000020 }, 0, pattern(500, 5)); // 504 bytes: 3 packets
const linuxWithCall = (seq = 0x0042, msgId = 0x56000020): LinuxReassembler => {
  const lx = new LinuxReassembler();
  lx.expectReply(seq, msgId);
  return lx;
};

test('RM §1.4: Linux reassembles a 3-packet reply for its call and forgets the call', () => {
  const lx = linuxWithCall();
  const [a, b, c] = fragmentMessage(REPLY3);
  assert.deepEqual(kinds(feed(lx, [a!, b!])), ['accepted', 'accepted']);
  const evs = lx.push(c!);
  assert.deepEqual(delivered(evs), [REPLY3]);
  const r = decodeReplyPayload(delivered(evs)[0]!.payload);
  assert.ok(r.ok);
  assert.equal(r.error, 0);
  assert.deepEqual(r.data, pattern(500, 5));
  assert.deepEqual(lx.outstanding, []);
});

test('RM §1.4: Linux ignores a reply whose seq no call waits for, or whose msg_id differs, and keeps its pending message', () => {
  const lx = linuxWithCall();
  const [a, b, c] = fragmentMessage(REPLY3);
  lx.push(a!);
  const stranger = fragmentMessage(replyTo({ seq: 0x0043, msgId: 0x56000020 }, 0))[0]!;
  const wrongId = fragmentMessage(replyTo({ seq: 0x0042, msgId: 0x56000021 }, 0))[0]!;
  assert.deepEqual(kinds(lx.push(stranger)), ['dropped:unknown-seq']);
  assert.deepEqual(kinds(lx.push(wrongId)), ['dropped:unknown-seq']);
  assert.deepEqual(delivered(feed(lx, [b!, c!])), [REPLY3]);
});

test('RM §1.4: Linux does not re-check seq on continuations: a wrong-seq continuation is accepted', () => {
  const lx = linuxWithCall();
  const [a, b, c] = fragmentMessage(REPLY3);
  const otherSeq = b!.slice();
  otherSeq[2] ^= 0xff;
  assert.deepEqual(delivered(feed(lx, [a!, otherSeq, c!])), [REPLY3]);
});

for (const [field, mutate] of [
  ['msg_id', (p: Uint8Array) => (p[4] ^= 1)],
  ['fragment count', (p: Uint8Array) => (p[1] = 5 << 2)],
] as const) {
  test(`RM §1.4: a continuation with the wrong ${field} makes Linux abort the pending reply, failing the call with EIO`, () => {
    const lx = linuxWithCall();
    const [a, b, c] = fragmentMessage(REPLY3);
    const bad = b!.slice();
    mutate(bad);
    lx.push(a!);
    const evs = lx.push(bad);
    assert.deepEqual(kinds(evs), ['aborted:mismatch', 'call-failed:aborted']);
    assert.deepEqual(evs[1], { kind: 'call-failed', seq: 0x42, msgId: 0x56000020, reason: 'aborted', errno: 'EIO' });
    assert.deepEqual(lx.outstanding, []);
    // The genuine continuations now have nothing to join.
    assert.deepEqual(kinds(feed(lx, [b!, c!])), ['dropped:no-pending', 'dropped:no-pending']);
  });
}

test('RM §1.4: Linux ignores a continuation with nothing pending', () => {
  const [, b] = fragmentMessage(REPLY3);
  const lx = linuxWithCall();
  assert.deepEqual(kinds(lx.push(b!)), ['dropped:no-pending']);
  assert.deepEqual(lx.outstanding, [{ seq: 0x42, msgId: 0x56000020 }]);
});

test('RM §1.4: a new notification while a reply is incomplete aborts the reply (call fails EIO) and is delivered', () => {
  const lx = linuxWithCall();
  const [a] = fragmentMessage(REPLY3);
  const n = notification(0x56100001, 0, bytes('80 00 01 00 04 00 00 00 00 00 00 00'));
  const evs = feed(lx, [a!, ...fragmentMessage(n)]);
  assert.deepEqual(kinds(evs), ['accepted', 'aborted:superseded', 'call-failed:aborted', 'delivered']);
  assert.deepEqual(delivered(evs), [n]);
});

test('RM §1.4: a new reply while a notification is incomplete aborts the notification (no call fails)', () => {
  const lx = new LinuxReassembler();
  lx.expectReply(1, 0x56000024);
  const n = notification(0x56100080, 0, pattern(300));
  const r = replyTo({ seq: 1, msgId: 0x56000024 }, 0, bytes('80 00 00 00'));
  const evs = feed(lx, [fragmentMessage(n)[0]!, ...fragmentMessage(r)]);
  assert.deepEqual(kinds(evs), ['accepted', 'aborted:superseded', 'delivered']);
  assert.deepEqual(delivered(evs), [r]);
});

test('RM §1.4: out-of-order and duplicated continuations are joined as they come by Linux too', () => {
  const [a, b, c] = fragmentMessage(REPLY3);
  const got = delivered(feed(linuxWithCall(), [a!, c!, b!]));
  assert.deepEqual(got[0]!.payload, concat(a!.subarray(8), c!.subarray(8), b!.subarray(8)));
  const lx = linuxWithCall();
  const dup = delivered(feed(lx, [a!, b!, b!]));
  assert.deepEqual(dup[0]!.payload, concat(a!.subarray(8), b!.subarray(8), b!.subarray(8)));
  assert.deepEqual(kinds(lx.push(c!)), ['dropped:no-pending']);
});

test('RM §1.4: a duplicated first reply packet fails the call with EIO (the pending copy is aborted)', () => {
  const lx = linuxWithCall();
  const [a, b, c] = fragmentMessage(REPLY3);
  const evs = feed(lx, [a!, a!, b!, c!]);
  assert.deepEqual(kinds(evs), [
    'accepted',
    'aborted:superseded',
    'call-failed:aborted',
    'dropped:no-pending',
    'dropped:no-pending',
  ]);
  assert.deepEqual(delivered(evs), []);
});

test('RM §1.4: a first REPLY packet under 12 bytes fails the call; exactly 12 (the error word alone) is a reply', () => {
  const lx = new LinuxReassembler();
  lx.expectReply(7, 0x56000024);
  lx.expectReply(8, 0x56000024);
  // 11 bytes: header + 3 bytes.
  assert.deepEqual(lx.push(bytes('21 02 07 00 24 00 00 56 00 00 00')), [
    { kind: 'call-failed', seq: 7, msgId: 0x56000024, reason: 'short-reply', errno: 'ENOMEM' },
  ]);
  // 12 bytes: header + rm_error DENIED (3).
  const evs = lx.push(bytes('21 02 08 00 24 00 00 56 03 00 00 00'));
  assert.deepEqual(delivered(evs), [{ type: MsgType.REPLY, seq: 8, msgId: 0x56000024, payload: bytes('03 00 00 00') }]);
  assert.deepEqual(lx.outstanding, []);
});

test('RM §1.3: Linux drops a packet under 8 bytes and goes on; a bad byte 0 or a REQUEST stops the batch', () => {
  const lx = linuxWithCall();
  const [e1] = lx.push(bytes('21 02 42 00'));
  assert.equal(e1?.kind === 'dropped' && e1.reason === 'short' && !e1.stopBatch, true);
  const [e2] = lx.push(bytes('22 02 42 00 20 00 00 56 00 00 00 00'));
  assert.equal(e2?.kind === 'dropped' && e2.reason === 'api' && e2.stopBatch, true);
  const [e3] = lx.push(bytes('31 02 42 00 20 00 00 56 00 00 00 00'));
  assert.equal(e3?.kind === 'dropped' && e3.reason === 'api' && e3.stopBatch, true);
  const [e4] = lx.push(bytes('21 01 42 00 20 00 00 56'));
  assert.equal(e4?.kind === 'dropped' && e4.reason === 'request-type' && e4.stopBatch, true);
  assert.deepEqual(lx.outstanding, [{ seq: 0x42, msgId: 0x56000020 }]);
});

test('RM §1.4: Linux refuses a count of 63 when a message starts: a notification is dropped, a reply fails its call', () => {
  const lx = linuxWithCall();
  // 0xff = 63<<2 | NOTIFICATION; 0xfe = 63<<2 | REPLY.
  assert.deepEqual(kinds(lx.push(bytes('21 ff 00 00 08 00 10 56'))), ['dropped:fragment-count']);
  assert.deepEqual(lx.push(bytes('21 fe 42 00 20 00 00 56 00 00 00 00')), [
    { kind: 'call-failed', seq: 0x42, msgId: 0x56000020, reason: 'fragment-count', errno: 'ENOMEM' },
  ]);
});

test('RM §1.4: Linux receives the largest message the RM sends (63 packets, 14 616 bytes)', () => {
  const n = notification(0x56100080, 0xffff, pattern(14616, 11));
  assert.deepEqual(delivered(feed(new LinuxReassembler(), fragmentMessage(n))), [n]);
});

test('RM §1.4: Linux reassembler state saves and restores mid-message, calls included', () => {
  const lx = linuxWithCall();
  const [a, b, c] = fragmentMessage(REPLY3);
  feed(lx, [a!, b!]);
  const copy = new LinuxReassembler();
  copy.restore(JSON.parse(JSON.stringify(lx.save())));
  assert.deepEqual(delivered(copy.push(c!)), [REPLY3]);
});

test('RM §1.4: registering a second call with a seq already waiting is a caller bug; a forgotten call’s reply is ignored', () => {
  const lx = linuxWithCall();
  assert.throws(() => lx.expectReply(0x42, 0x56000001), RpcError);
  assert.equal(lx.forgetCall(0x42), true);
  assert.deepEqual(kinds(lx.push(bytes('21 02 42 00 20 00 00 56 00 00 00 00'))), ['dropped:unknown-seq']);
});

// ----------------------------------------------------------------------------------- replies (§1.5)

test('RM §1.5: a reply payload is the u32 LE rm_error followed by the data', () => {
  assert.deepEqual(encodeReplyPayload(RmError.OK, bytes('80 00')), bytes('00 00 00 00 80 00'));
  assert.deepEqual(encodeReplyPayload(RmError.VM_STATE), bytes('14 00 00 00'));
  const r = decodeReplyPayload(bytes('0d 00 00 00 aa'));
  assert.ok(r.ok);
  assert.equal(r.error, RmError.VMID_INVALID);
  assert.deepEqual(r.data, bytes('aa'));
  assert.deepEqual(decodeReplyPayload(bytes('00 00 00')).ok, false);
});

test('RM §1.5: an unknown message ID is answered UNIMPLEMENTED with the request’s seq and msg_id', () => {
  const m = unimplementedReply({ seq: 0x0102, msgId: 0x56000003 });
  assert.deepEqual(fragmentMessage(m), [bytes('21 02 02 01 03 00 00 56 ff ff ff ff')]);
});

test('RM §1.5: the notification seq counter starts at 0, counts up and wraps at 16 bits', () => {
  const s = new NotificationSeq();
  assert.deepEqual([s.next(), s.next(), s.next()], [0, 1, 2]);
  s.restore({ next: 0xffff });
  assert.deepEqual([s.next(), s.next()], [0xffff, 0]);
  assert.deepEqual(s.save(), { next: 1 });
});

// ------------------------------------------------------------------------------ lists (§1.8)

const MEM = { entrySize: 8, maxEntries: MEM_LIST_MAX_ENTRIES };
const IPA = { entrySize: 16, maxEntries: IPA_RESERVE_LIST_MAX_ENTRIES };

test('RM §1.8: a list is u16 count, u16 field, the entries, padded to 4 bytes', () => {
  const w = writeList([bytes('01 02 03 04 05 06 07 08'), bytes('11 12 13 14 15 16 17 18')], MEM, 0x0003);
  assert.ok(w.ok);
  assert.deepEqual(w.bytes, bytes('02 00 03 00 01 02 03 04 05 06 07 08 11 12 13 14 15 16 17 18'));
  const two = writeList([bytes('aa bb')], { entrySize: 2, maxEntries: 4 });
  assert.ok(two.ok);
  assert.deepEqual(two.bytes, bytes('01 00 00 00 aa bb 00 00'));
});

test('RM §1.8: reading a list gives its field, entries and the offset past its padding', () => {
  const buf = bytes('01 00 07 00 aa bb cc dd ee ff 00 11 02 00 00 00');
  const r = readList(buf, 0, MEM);
  assert.ok(r.ok);
  assert.equal(r.list.field, 7);
  assert.deepEqual(r.list.entries, [bytes('aa bb cc dd ee ff 00 11')]);
  assert.equal(r.next, 12);
});

test('RM §1.8: a list that would start exactly at the end of the buffer is empty, so trailing lists may be omitted', () => {
  const buf = bytes('01 00 00 00 aa bb cc dd ee ff 00 11');
  const r = readLists(buf, 0, [MEM, MEM, MEM], true);
  assert.ok(r.ok);
  assert.deepEqual(
    r.lists.map((l) => l.entries.length),
    [1, 0, 0],
  );
});

test('RM §1.8: fewer than 4 bytes where a list header should be is MSG_INVALID', () => {
  for (const buf of [bytes('01'), bytes('01 00 00')]) {
    const r = readList(buf, 0, MEM);
    assert.equal(!r.ok && r.error, RmError.MSG_INVALID);
  }
});

test('RM §1.8: entries running past the end of the buffer are MSG_INVALID', () => {
  const r = readList(bytes('02 00 00 00 aa bb cc dd ee ff 00 11 22'), 0, MEM);
  assert.equal(!r.ok && r.error, RmError.MSG_INVALID);
});

test('RM §1.8: MEM_* lists cap at 512 entries (513 → NORESOURCE, checked before the length)', () => {
  // count 0x0201 = 513, no entries present at all: the cap is checked first.
  const over = readList(bytes('01 02 00 00'), 0, MEM);
  assert.equal(!over.ok && over.error, RmError.NORESOURCE);
  const at = new Uint8Array(4 + 512 * 8);
  at.set(bytes('00 02 00 00'));
  const ok = readList(at, 0, MEM);
  assert.ok(ok.ok);
  assert.equal(ok.list.entries.length, 512);
});

test('RM §1.8: IPA_RESERVE caps its list at 30 entries (31 → NORESOURCE)', () => {
  const buf = new Uint8Array(4 + 31 * 16);
  buf.set(bytes('1f 00 00 00'));
  const r = readList(buf, 0, IPA);
  assert.equal(!r.ok && r.error, RmError.NORESOURCE);
  const w = new Uint8Array(4 + 30 * 16);
  w.set(bytes('1e 00 00 00'));
  assert.ok(readList(w, 0, IPA).ok);
});

test('RM §1.8: MEM_* lists must consume the buffer exactly: leftover bytes are MSG_INVALID', () => {
  const r = readLists(bytes('00 00 00 00 00 00 00 00 ee'), 0, [MEM, MEM], true);
  assert.equal(!r.ok && r.error, RmError.MSG_INVALID);
  const loose = readLists(bytes('00 00 00 00 00 00 00 00 ee'), 0, [MEM, MEM], false);
  assert.ok(loose.ok);
  assert.equal(loose.next, 8);
});

test('RM §1.8: constructing a list over its cap is ARGUMENT_INVALID', () => {
  const w = writeList(
    Array.from({ length: 513 }, () => new Uint8Array(8)),
    MEM,
  );
  assert.equal(!w.ok && w.error, RmError.ARGUMENT_INVALID);
  assert.throws(() => writeList([new Uint8Array(7)], MEM), RpcError);
});

test('RM §1.8: padding is skipped, not required: a 2-byte entry at the very end leaves the next list past the end (MSG_INVALID)', () => {
  const buf = bytes('01 00 00 00 aa bb');
  const one = readList(buf, 0, { entrySize: 2, maxEntries: 4 });
  assert.ok(one.ok);
  assert.equal(one.next, 8);
  const r = readLists(
    buf,
    0,
    [
      { entrySize: 2, maxEntries: 4 },
      { entrySize: 2, maxEntries: 4 },
    ],
    false,
  );
  assert.equal(!r.ok && r.error, RmError.MSG_INVALID);
});
