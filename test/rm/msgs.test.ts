// Typed RM message payloads (resource-manager-protocol.md §2, lists §1.8): for every message, a
// byte vector typed in from the spec's field tables (offsets and widths; values chosen so that every
// field is visible: where the spec's example values would leave a field's high bytes zero, a wider
// value is used, so a field read at the wrong width fails), encoded and decoded both ways, then each length and field rule the spec gives.
// Property tests: decode(encode(x)) = x for generated valid values, and no byte string makes a
// decoder throw.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MESSAGES, MsgId, RmError, type RmErrorCode } from '../../src/rm/rpc/index.js';
import {
  NOTIFICATIONS,
  REQUEST_MESSAGES,
  configImageAuthValid,
  decodeMemNotifyHead,
  decodeMemNotifyVmids,
  decodeNotification,
  encodeExitReason,
  exitReason,
  fwMilestoneMsg,
  fwSetVmFirmwareMsg,
  ipaReserveMsg,
  memAcceptMsg,
  memAcceptedNotification,
  memAppendMsg,
  memDonateMsg,
  memLendMsg,
  memLookupSglMsg,
  memNotifyMsg,
  memReclaimMsg,
  memRecallNotification,
  memReleaseMsg,
  memReleasedNotification,
  memShareMsg,
  memSharedNotification,
  requestMessage,
  vmAllocateMsg,
  vmAuthImageMsg,
  vmConfigImageMsg,
  vmConsoleCharsNotification,
  vmConsoleCloseMsg,
  vmConsoleFlushMsg,
  vmConsoleOpenMsg,
  vmConsoleWriteMsg,
  vmDeallocateMsg,
  vmExitMsg,
  vmExitedNotification,
  vmGetCrashMsgMsg,
  vmGetHypResourcesMsg,
  vmGetIdMsg,
  vmGetOwnerMsg,
  vmGetPeersMsg,
  vmGetStateMsg,
  vmGetVmidMsg,
  vmHostGetTypeMsg,
  vmInitMsg,
  vmIrqAcceptMsg,
  vmIrqAcceptedNotification,
  vmIrqLendMsg,
  vmIrqLentNotification,
  vmIrqNotifyMsg,
  vmIrqReclaimMsg,
  vmIrqReleaseMsg,
  vmIrqReleasedNotification,
  vmLookupGuidMsg,
  vmLookupNameMsg,
  vmLookupUriMsg,
  vmResetMsg,
  vmSetAddressLayoutMsg,
  vmSetBootContextMsg,
  vmSetCrashMsgMsg,
  vmSetDemandPagingMsg,
  vmSetFirmwareMemMsg,
  vmSetStatusMsg,
  vmSetTimeBaseMsg,
  vmShutdownNotification,
  vmStartMsg,
  vmStatusNotification,
  vmStopMsg,
  hypResourceEntry,
  type Codec,
  type StructCodec,
} from '../../src/rm/msgs/index.js';

/** Bytes from hex with optional spaces: '80 00 00 00'. */
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const zeros = (n: number): string => '00 '.repeat(n);

/** claim: encode(value) is exactly the typed bytes, and decode(bytes) is value. */
function vector<T>(claim: string, codec: Codec<T>, value: T, h: string): void {
  test(claim, () => {
    assert.equal(hex(codec.encode(value)), hex(bytes(h)), `${codec.name}: encode`);
    assert.deepEqual(codec.decode(bytes(h)), { ok: true, value }, `${codec.name}: decode`);
  });
}

/** claim: these bytes decode to value (a tolerated form encode never writes). */
function decodesAs<T>(claim: string, codec: Codec<T>, h: string, value: T): void {
  test(claim, () => assert.deepEqual(codec.decode(bytes(h)), { ok: true, value }));
}

/** claim: these bytes are refused with `error`. */
function refused(claim: string, codec: Codec<unknown>, h: string, error: RmErrorCode): void {
  test(claim, () => {
    const d = codec.decode(bytes(h));
    assert.equal(d.ok, false, `${codec.name} accepted ${h}`);
    if (!d.ok) {
      assert.equal(d.error, error, d.detail);
      assert.ok(d.detail.startsWith(codec.name.split(' ')[0]!), `detail names the message: ${d.detail}`);
    }
  });
}

// ============================================================================== §2.2

vector(
  'RM §2.2: VM_ALLOCATE takes the common VMID request {u16 vmid; u16 res}',
  vmAllocateMsg.request,
  { vmid: 0x80 },
  '80 00 00 00',
);
decodesAs('RM §2.2: the reserved u16 of the common VMID request is ignored', vmAllocateMsg.request, '0a 00 ff ff', {
  vmid: 10,
});
refused('RM §2.2/§9.1: a 3-byte VM_ALLOCATE is MSG_INVALID', vmAllocateMsg.request, '00 00 00', RmError.MSG_INVALID);
refused(
  'RM §2.2: a 5-byte VM_ALLOCATE is MSG_INVALID (exact length)',
  vmAllocateMsg.request,
  '00 00 00 00 00',
  RmError.MSG_INVALID,
);
vector('RM §2.2: VM_ALLOCATE(0) replies {u32 vmid}', vmAllocateMsg.reply, { vmid: 0x80 }, '80 00 00 00');
vector('RM §2.2: VM_ALLOCATE of a named VMID replies with no data', vmAllocateMsg.reply, { vmid: null }, '');
refused('RM §2.2: a VM_ALLOCATE reply of 2 bytes is malformed', vmAllocateMsg.reply, '80 00', RmError.MSG_INVALID);
for (const m of [vmDeallocateMsg, vmStartMsg, vmResetMsg, vmGetStateMsg, vmGetIdMsg, vmGetCrashMsgMsg]) {
  vector(`RM §2.2: ${m.name} takes the common VMID request`, m.request, { vmid: 0x1234 }, '34 12 00 00');
  refused(`RM §2.2: ${m.name} of 8 bytes is MSG_INVALID`, m.request, zeros(8), RmError.MSG_INVALID);
}
for (const m of [vmDeallocateMsg, vmStartMsg, vmResetMsg, vmStopMsg, vmConfigImageMsg, vmInitMsg]) {
  vector(`RM §1.5/§2.2: ${m.name}'s OK reply carries no data`, m.reply, {}, '');
  refused(`RM §2.2: ${m.name}'s reply with data after the error word is malformed`, m.reply, '00', RmError.MSG_INVALID);
}

vector(
  'RM §2.2: VM_STOP is {u16 vmid; u8 flags; u8 res; u32 stop_reason}, as Linux sends it (FORCE, reason 3)',
  vmStopMsg.request,
  { vmid: 0x81, flags: 1, stopReason: 3 },
  '81 00 01 00 03 00 00 00',
);
vector(
  'RM §2.2: VM_STOP stop_reason is a u32 at offset 4',
  vmStopMsg.request,
  { vmid: 0x1281, flags: 0, stopReason: 0x1234_5678 },
  '81 12 00 00 78 56 34 12',
);
refused('RM §2.2: a 7-byte VM_STOP is MSG_INVALID', vmStopMsg.request, '81 00 01 00 03 00 00', RmError.MSG_INVALID);
refused('RM §2.2: a 9-byte VM_STOP is MSG_INVALID', vmStopMsg.request, zeros(9), RmError.MSG_INVALID);

vector(
  'RM §2.2: VM_CONFIG_IMAGE is 40 bytes: vmid@0, auth@2, parcel@4, image offset@8 and size@16, DT offset@24 and size@32',
  vmConfigImageMsg.request,
  {
    vmid: 0x1280,
    authType: 0x0102,
    memparcel: 0x1122_3344,
    imageOffset: 0x1000n,
    imageSize: 0x0123_4567_89ab_cdefn,
    dtOffset: 0x20_0000n,
    dtSize: 0x700n,
  },
  '80 12 02 01 44 33 22 11 00 10 00 00 00 00 00 00 ef cd ab 89 67 45 23 01 00 00 20 00 00 00 00 00 00 07 00 00 00 00 00 00',
);
refused('RM §2.2: a 39-byte VM_CONFIG_IMAGE is MSG_INVALID', vmConfigImageMsg.request, zeros(39), RmError.MSG_INVALID);
refused('RM §2.2: a 41-byte VM_CONFIG_IMAGE is MSG_INVALID', vmConfigImageMsg.request, zeros(41), RmError.MSG_INVALID);
test('RM §2.2: VM_CONFIG_IMAGE auth type 3 decodes (its ARGUMENT_INVALID comes last, from the handler); 0..2 are valid', () => {
  const d = vmConfigImageMsg.request.decode(bytes('80 00 03 00' + zeros(36)));
  assert.equal(d.ok && d.value.authType, 3);
  assert.deepEqual([0, 1, 2, 3, 0xffff].map(configImageAuthValid), [true, true, true, false, false]);
});

vector(
  'RM §2.2: VM_AUTH_IMAGE is {u16 target; u16 n; n × {u32 param_type; u32 param}}',
  vmAuthImageMsg.request,
  { vmid: 0x1280, params: [{ paramType: 0x0a0b_0c01, param: 0xdead_beef }] },
  '80 12 01 00 01 0c 0b 0a ef be ad de',
);
vector(
  'RM §2.2: VM_AUTH_IMAGE with no parameters is 4 bytes',
  vmAuthImageMsg.request,
  { vmid: 0x80, params: [] },
  '80 00 00 00',
);
refused(
  'RM §2.2: VM_AUTH_IMAGE announcing a parameter it does not carry is MSG_INVALID',
  vmAuthImageMsg.request,
  '80 00 01 00',
  RmError.MSG_INVALID,
);
refused(
  'RM §2.2: VM_AUTH_IMAGE with bytes after its parameters is MSG_INVALID (exact length)',
  vmAuthImageMsg.request,
  '80 00 00 00 00 00 00 00',
  RmError.MSG_INVALID,
);
refused('RM §2.2: a 3-byte VM_AUTH_IMAGE is MSG_INVALID', vmAuthImageMsg.request, '80 00 00', RmError.MSG_INVALID);

vector('RM §2.2: VM_INIT takes the common VMID request', vmInitMsg.request, { vmid: 0x1280 }, '80 12 00 00');
refused('RM §2.2 [infer]: VM_INIT with res ≠ 0 is MSG_INVALID', vmInitMsg.request, '80 00 01 00', RmError.MSG_INVALID);

vector(
  'RM §2.2: VM_GET_STATE replies {u32 status} = vm_state | os_state << 8 | app_status << 16',
  vmGetStateMsg.reply,
  { vmState: 3, osState: 4, appStatus: 0x1234 },
  '03 04 34 12',
);

vector(
  'RM §2.2: VM_SET_STATUS is {u8 ignored; u8 os_state; u16 app_status}',
  vmSetStatusMsg.request,
  { osState: 4, appStatus: 0xbeef },
  '00 04 ef be',
);
decodesAs('RM §2.2: VM_SET_STATUS ignores its first byte', vmSetStatusMsg.request, 'ff 07 00 00', {
  osState: 7,
  appStatus: 0,
});
refused(
  'RM §2.2: VM_SET_STATUS os_state 8 is ARGUMENT_INVALID',
  vmSetStatusMsg.request,
  '00 08 00 00',
  RmError.ARGUMENT_INVALID,
);
refused(
  'RM §2.2: a 5-byte VM_SET_STATUS is MSG_INVALID',
  vmSetStatusMsg.request,
  '00 01 00 00 00',
  RmError.MSG_INVALID,
);

vector(
  'RM §2.2: VM_EXIT is {u16 exit_flags; u8 exit_code; u8 res}',
  vmExitMsg.request,
  { exitFlags: 0x8001, exitCode: 3 },
  '01 80 03 00',
);
refused(
  'RM §2.2: VM_EXIT exit_code 2 (UNKNOWN_ERROR) is MSG_INVALID',
  vmExitMsg.request,
  '00 00 02 00',
  RmError.MSG_INVALID,
);
refused('RM §2.2: VM_EXIT exit_code 5 is MSG_INVALID', vmExitMsg.request, '00 00 05 00', RmError.MSG_INVALID);
refused('RM §2.2 [infer]: VM_EXIT with res ≠ 0 is MSG_INVALID', vmExitMsg.request, '00 00 00 01', RmError.MSG_INVALID);
refused('RM §2.2: a 3-byte VM_EXIT is MSG_INVALID', vmExitMsg.request, '00 00 00', RmError.MSG_INVALID);

for (const m of [vmGetVmidMsg, vmGetOwnerMsg, vmGetPeersMsg, vmHostGetTypeMsg, fwMilestoneMsg]) {
  vector(`RM §2.2/§2.9: ${m.name}'s request is empty`, m.request, {}, '');
  refused(`RM §2.2/§2.9: a non-empty ${m.name} is MSG_INVALID`, m.request, '00 00 00 00', RmError.MSG_INVALID);
}
vector('RM §2.2: VM_GET_VMID replies {u32 caller_vmid}', vmGetVmidMsg.reply, 0x80, '80 00 00 00');
vector('RM §9.1: VM_GET_OWNER of the primary replies {u32 0xFF}', vmGetOwnerMsg.reply, 0xff, 'ff 00 00 00');
vector(
  'RM §2.2/§9.1: VM_HOST_GET_TYPE replies 0x01000164: byte 0 0x64, byte 1 1, byte 3 1',
  vmHostGetTypeMsg.reply,
  0x0100_0164,
  '64 01 00 01',
);
refused('RM §2.2: a VM_GET_VMID reply of 8 bytes is malformed', vmGetVmidMsg.reply, zeros(8), RmError.MSG_INVALID);
vector(
  'RM §2.2: VM_GET_PEERS replies {u32 count; u32 vmid[count]}',
  vmGetPeersMsg.reply,
  [3, 0x1234_5680],
  '02 00 00 00 03 00 00 00 80 56 34 12',
);
vector('RM §2.2: VM_GET_PEERS with no peers replies a zero count', vmGetPeersMsg.reply, [], '00 00 00 00');
refused(
  'RM §2.2: a VM_GET_PEERS reply with fewer VMIDs than its count is malformed',
  vmGetPeersMsg.reply,
  '02 00 00 00 03 00 00 00',
  RmError.MSG_INVALID,
);
refused('RM §2.2: an empty VM_GET_PEERS reply has no count', vmGetPeersMsg.reply, '', RmError.MSG_INVALID);

vector(
  'RM §2.2: VM_GET_ID replies {u32 n; n × {u8 type; u8 res; u16 len; bytes padded to 4}}: GUID, NAME, signing authority',
  vmGetIdMsg.reply,
  [
    { type: 0, data: bytes('00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f') },
    { type: 2, data: text('vm1') },
    { type: 3, data: text('N/A') },
  ],
  '03 00 00 00  00 00 10 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  02 00 03 00 76 6d 31 00  03 00 03 00 4e 2f 41 00',
);
refused(
  'RM §2.2: a VM_GET_ID identifier running past the reply is malformed',
  vmGetIdMsg.reply,
  '01 00 00 00 02 00 05 00 76 6d 31 00',
  RmError.MSG_INVALID,
);
refused(
  'RM §2.2: a VM_GET_ID reply with bytes after its identifiers is malformed',
  vmGetIdMsg.reply,
  '01 00 00 00 02 00 01 00 76 00 00 00 00 00 00 00',
  RmError.MSG_INVALID,
);
refused(
  'RM §2.2: a VM_GET_ID count of 2^32−1 in a short reply is refused at once',
  vmGetIdMsg.reply,
  'ff ff ff ff 00 00 00 00',
  RmError.MSG_INVALID,
);

for (const m of [vmLookupUriMsg, vmLookupNameMsg]) {
  vector(
    `RM §2.2: ${m.name} is {u16 len; u16 res; bytes zero-padded to 4}`,
    m.request,
    text('abcde'),
    '05 00 00 00 61 62 63 64 65 00 00 00',
  );
  refused(
    `RM §2.2: ${m.name} without its padding is MSG_INVALID`,
    m.request,
    '05 00 00 00 61 62 63 64 65',
    RmError.MSG_INVALID,
  );
  refused(
    `RM §2.2 [infer]: ${m.name} with len 80 (over 79) is MSG_INVALID`,
    m.request,
    '50 00 00 00' + zeros(80),
    RmError.MSG_INVALID,
  );
  vector(
    `RM §2.2: ${m.name} replies {u32 n; n × {u16 vmid; u16 pad}}`,
    m.reply,
    [0x80, 0x1281],
    '02 00 00 00 80 00 00 00 81 12 00 00',
  );
}
vector(
  'RM §2.2: VM_LOOKUP_GUID is the 16 raw GUID bytes',
  vmLookupGuidMsg.request,
  bytes('00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f'),
  '00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f',
);
refused('RM §2.2: a 15-byte VM_LOOKUP_GUID is MSG_INVALID', vmLookupGuidMsg.request, zeros(15), RmError.MSG_INVALID);
decodesAs(
  'RM §2.2: a VM lookup reply tolerates a non-zero pad',
  vmLookupGuidMsg.reply,
  '01 00 00 00 80 00 ff ff',
  [0x80],
);

vector(
  'RM §2.2: VM_SET_CRASH_MSG is {u16 len; u16 res; bytes zero-padded to 4}',
  vmSetCrashMsgMsg.request,
  text('ab'),
  '02 00 00 00 61 62 00 00',
);
vector(
  'RM §2.2: VM_GET_CRASH_MSG replies {u16 len; u16 pad; bytes padded to 4}',
  vmGetCrashMsgMsg.reply,
  text('oops'),
  '04 00 00 00 6f 6f 70 73',
);
refused(
  'RM §2.2: a crash message shorter than its len is MSG_INVALID',
  vmSetCrashMsgMsg.request,
  '08 00 00 00 6f 6f 70 73',
  RmError.MSG_INVALID,
);

vector(
  'RM §2.2: VM_SET_TIME_BASE is 20 bytes with its u64s at the unaligned offsets 4 and 12',
  vmSetTimeBaseMsg.request,
  { vmid: 0, timeBase: 0x1122_3344_5566_7788n, sysTimerRef: 0x0102_0304_0506_0708n },
  '00 00 00 00 88 77 66 55 44 33 22 11 08 07 06 05 04 03 02 01',
);
refused('RM §2.2: a 16-byte VM_SET_TIME_BASE is MSG_INVALID', vmSetTimeBaseMsg.request, zeros(16), RmError.MSG_INVALID);
for (const m of [vmSetTimeBaseMsg, vmSetFirmwareMemMsg]) {
  test(`RM §2.2: ${m.name}'s error replies carry an extra u32 hypervisor error`, () => {
    assert.ok(m.errorData);
    assert.deepEqual(m.errorData.decode(bytes('01 00 00 00')), { ok: true, value: 1 });
  });
}
vector(
  'RM §2.2: VM_SET_FIRMWARE_MEM is 24 bytes {u16 vmid; u16 res; u32 parcel; u64 offset; u64 size}',
  vmSetFirmwareMemMsg.request,
  { vmid: 0x1280, memparcel: 0x0a0b_0c07, offset: 0x0102_0304_0506_1000n, size: 0x1122_3344_0020_0000n },
  '80 12 00 00 07 0c 0b 0a 00 10 06 05 04 03 02 01 00 00 20 00 44 33 22 11',
);
refused(
  'RM §2.2: VM_SET_FIRMWARE_MEM with res ≠ 0 is MSG_INVALID',
  vmSetFirmwareMemMsg.request,
  '80 00 01 00' + zeros(20),
  RmError.MSG_INVALID,
);

// ============================================================================== §2.3

const RESOURCE_HEX =
  '06 00 80 12  01 0c 0b 0a  02 0f 0e 0d  11 22 33 44 55 66 77 88  04 03 02 01  c2 03 01 00  00 00 00 0a 01 00 00 00  00 02 00 00 00 00 00 80';
const RESOURCE = {
  type: 6,
  partnerVmid: 0x1280,
  handle: 0x0a0b_0c01,
  label: 0x0d0e_0f02,
  capId: 0x8877_6655_4433_2211n,
  virqHandle: 0x0102_0304,
  virq: 0x1_03c2,
  base: 0x1_0a00_0000n,
  size: 0x8000_0000_0000_0200n,
};
vector(
  'RM §2.3: a resource entry is 44 packed bytes: type@0, partner@2, handle@4, label@8, cap u64@12, virq handle@20, virq@24, base u64@28, size u64@36',
  vmGetHypResourcesMsg.reply,
  [RESOURCE],
  '01 00 00 00 ' + RESOURCE_HEX,
);
vector(
  'RM §2.3: VM_GET_HYP_RESOURCES with no resources replies a zero count',
  vmGetHypResourcesMsg.reply,
  [],
  '00 00 00 00',
);
refused(
  'RM §2.3: a reply that is not exactly 4 + 44·n bytes is refused (as Linux does)',
  vmGetHypResourcesMsg.reply,
  '01 00 00 00 ' + RESOURCE_HEX + ' 00',
  RmError.MSG_INVALID,
);
refused(
  'RM §2.3: a reply counting 2 entries that carries 1 is refused',
  vmGetHypResourcesMsg.reply,
  '02 00 00 00 ' + RESOURCE_HEX,
  RmError.MSG_INVALID,
);

// ============================================================================== §2.4

vector(
  'RM §2.4: NOTIFY_VM_STATUS is {u16 vmid; u16 res; u8 vm_status; u8 os_status; u16 app_status}',
  vmStatusNotification.payload,
  { vmid: 0x1280, vmStatus: 3, osStatus: 4, appStatus: 0x0102 },
  '80 12 00 00 03 04 02 01',
);
refused('RM §2.4: a 7-byte NOTIFY_VM_STATUS is malformed', vmStatusNotification.payload, zeros(7), RmError.MSG_INVALID);
vector(
  'RM §2.4/§9.2: NOTIFY_VM_EXITED after SYSTEM_OFF: {vmid; exit_type 1 PLATFORM_OFF; reason_size 4; reason 0}',
  vmExitedNotification.payload,
  { vmid: 0x80, exitType: 1, reason: bytes('00 00 00 00') },
  '80 00 01 00 04 00 00 00 00 00 00 00',
);
refused(
  'RM §2.4: a NOTIFY_VM_EXITED whose reason_size exceeds its bytes is malformed',
  vmExitedNotification.payload,
  '80 00 01 00 08 00 00 00 00 00 00 00',
  RmError.MSG_INVALID,
);
test('RM §2.4: exit reason word 0 is exit_flags | exit_code << 16; a RESET2 reason adds reset_type and the cookie (16 bytes)', () => {
  assert.deepEqual(exitReason(bytes('01 00 03 00')), { exitFlags: 1, exitCode: 3 });
  const r2 = bytes('00 80 00 00 01 00 00 00 ef cd ab 89 67 45 23 01');
  const want = { exitFlags: 0x8000, exitCode: 0, reset2: { resetType: 1, cookie: 0x0123_4567_89ab_cdefn } };
  assert.deepEqual(exitReason(r2), want);
  assert.equal(hex(encodeExitReason(want)), hex(r2));
  assert.equal(exitReason(bytes('00 00 00 00 00 00 00 00')), null);
});
vector(
  'RM §2.4: NOTIFY_VM_SHUTDOWN is {u32 stop_reason}',
  vmShutdownNotification.payload,
  { stopReason: 0x1234_5603 },
  '03 56 34 12',
);
vector(
  'RM §2.4/§2.5: NOTIFY_VM_CONSOLE_CHARS is {u16 from; u16 n; bytes[n]}, unpadded',
  vmConsoleCharsNotification.payload,
  { from: 0x80, data: text('hi') },
  '80 00 02 00 68 69',
);
refused(
  'RM §2.5: a console payload shorter than 4 + n is malformed',
  vmConsoleCharsNotification.payload,
  '80 00 03 00 68 69',
  RmError.MSG_INVALID,
);

// ============================================================================== §2.5

for (const m of [vmConsoleOpenMsg, vmConsoleCloseMsg, vmConsoleFlushMsg]) {
  vector(`RM §2.5: ${m.name} is {u16 target; u16 res}`, m.request, { vmid: 0x80 }, '80 00 00 00');
  refused(`RM §2.5: a 6-byte ${m.name} is MSG_INVALID`, m.request, zeros(6), RmError.MSG_INVALID);
}
vector(
  'RM §2.5: VM_CONSOLE_WRITE is {u16 target; u16 n; bytes[n]} with no padding',
  vmConsoleWriteMsg.request,
  { target: 0x80, data: text('abc') },
  '80 00 03 00 61 62 63',
);
refused(
  'RM §2.5: VM_CONSOLE_WRITE padded to 4 bytes is MSG_INVALID (length must be 4 + n exactly)',
  vmConsoleWriteMsg.request,
  '80 00 03 00 61 62 63 00',
  RmError.MSG_INVALID,
);
refused('RM §2.5: a 2-byte VM_CONSOLE_WRITE is MSG_INVALID', vmConsoleWriteMsg.request, '80 00', RmError.MSG_INVALID);

// ============================================================================== §2.6

vector(
  'RM §2.6: VM_SET_BOOT_CONTEXT is 16 bytes {u16 vmid; u8 reg_set; u8 reg_index; u32 res; u64 value}',
  vmSetBootContextMsg.request,
  { vmid: 0x1280, regSet: 1, regIndex: 0, value: 0x1122_3344_8008_0000n },
  '80 12 01 00 00 00 00 00 00 00 08 80 44 33 22 11',
);
refused(
  'RM §2.6 [infer]: boot context register set 3 is ARGUMENT_INVALID',
  vmSetBootContextMsg.request,
  '80 00 03 00' + zeros(12),
  RmError.ARGUMENT_INVALID,
);
refused(
  'RM §2.6 [infer]: boot context X32 (index beyond 0..31) is ARGUMENT_INVALID',
  vmSetBootContextMsg.request,
  '80 00 00 20' + zeros(12),
  RmError.ARGUMENT_INVALID,
);
refused(
  'RM §2.6 [infer]: boot context SP index 3 (beyond 0..2) is ARGUMENT_INVALID',
  vmSetBootContextMsg.request,
  '80 00 02 03' + zeros(12),
  RmError.ARGUMENT_INVALID,
);
refused(
  'RM §2.6 [infer]: a 15-byte VM_SET_BOOT_CONTEXT is MSG_INVALID',
  vmSetBootContextMsg.request,
  zeros(15),
  RmError.MSG_INVALID,
);
vector(
  'RM §2.6: VM_SET_DEMAND_PAGING is {u16 vmid; u16 res; u32 count; count × {u64 gpa; u64 size}}',
  vmSetDemandPagingMsg.request,
  { vmid: 0x1280, ranges: [{ gpa: 0x10_8000_0000n, size: 0x2000_0000_0010_0000n }] },
  '80 12 00 00 01 00 00 00 00 00 00 80 10 00 00 00 00 00 10 00 00 00 00 20',
);
refused(
  'RM §2.6 [infer]: VM_SET_DEMAND_PAGING counting more ranges than it carries is MSG_INVALID',
  vmSetDemandPagingMsg.request,
  '80 00 00 00 02 00 00 00 00 00 00 80 00 00 00 00 00 00 10 00 00 00 00 00',
  RmError.MSG_INVALID,
);
vector(
  'RM §2.6: VM_SET_ADDRESS_LAYOUT is 24 bytes {u16 vmid; u16 res; u32 range_id; u64 base; u64 size}',
  vmSetAddressLayoutMsg.request,
  { vmid: 0x1280, rangeId: 1, base: 0x10_8000_0000n, size: 0x3000_0000_0400_0000n },
  '80 12 00 00 01 00 00 00 00 00 00 80 10 00 00 00 00 00 00 04 00 00 00 30',
);
refused(
  'RM §2.6 [infer]: VM_SET_ADDRESS_LAYOUT range_id 2 is ARGUMENT_INVALID',
  vmSetAddressLayoutMsg.request,
  '80 00 00 00 02 00 00 00' + zeros(16),
  RmError.ARGUMENT_INVALID,
);

// ============================================================================== §2.7

vector(
  'RM §2.7: VM_IRQ_LEND is 12 bytes {u16 borrower; u16 pad; u32 virq; u32 label}',
  vmIrqLendMsg.request,
  { borrower: 0x1280, virq: 0x0001_0028, label: 0x0a0b_0c07 },
  '80 12 00 00 28 00 01 00 07 0c 0b 0a',
);
vector('RM §2.7: VM_IRQ_LEND replies {u32 handle}', vmIrqLendMsg.reply, 0x1234_5678, '78 56 34 12');
vector(
  'RM §2.7: VM_IRQ_ACCEPT is {u32 handle; u32 virq}, 0xFFFFFFFF letting the RM choose',
  vmIrqAcceptMsg.request,
  { handle: 0x1234_5678, virq: 0xffff_ffff },
  '78 56 34 12 ff ff ff ff',
);
vector('RM §2.7: VM_IRQ_ACCEPT replies {u32 virq}', vmIrqAcceptMsg.reply, 0x0102_0028, '28 00 02 01');
for (const m of [vmIrqReleaseMsg, vmIrqReclaimMsg]) {
  vector(`RM §2.7: ${m.name} is {u32 handle}`, m.request, { handle: 0x0a0b_0c01 }, '01 0c 0b 0a');
  refused(`RM §2.7: a 5-byte ${m.name} is MSG_INVALID`, m.request, zeros(5), RmError.MSG_INVALID);
}
refused('RM §2.7: an 11-byte VM_IRQ_LEND is MSG_INVALID', vmIrqLendMsg.request, zeros(11), RmError.MSG_INVALID);
vector(
  'RM §2.7: VM_IRQ_NOTIFY RELEASED is {u32 handle; u32 flags}',
  vmIrqNotifyMsg.request,
  { handle: 1, flags: 2 },
  '01 00 00 00 02 00 00 00',
);
vector(
  'RM §2.7: VM_IRQ_NOTIFY LENT may add {u16 n; u16 pad; n × {u16 vmid; u16 pad}} naming the borrower',
  vmIrqNotifyMsg.request,
  { handle: 0x0a0b_0c01, flags: 1, borrowers: [0x1280] },
  '01 0c 0b 0a 01 00 00 00 01 00 00 00 80 12 00 00',
);
refused(
  'RM §2.7: VM_IRQ_NOTIFY with flags ≠ LENT must be exactly 8 bytes (MSG_INVALID)',
  vmIrqNotifyMsg.request,
  '01 00 00 00 04 00 00 00 00 00 00 00',
  RmError.MSG_INVALID,
);
refused(
  'RM §2.7: VM_IRQ_NOTIFY with an unknown flags value is ARGUMENT_INVALID',
  vmIrqNotifyMsg.request,
  '01 00 00 00 03 00 00 00',
  RmError.ARGUMENT_INVALID,
);
refused(
  'RM §2.7: a LENT notify list of 2 VMIDs is ARGUMENT_INVALID (n ≤ 1)',
  vmIrqNotifyMsg.request,
  '01 00 00 00 01 00 00 00 02 00 00 00 80 00 00 00 81 00 00 00',
  RmError.ARGUMENT_INVALID,
);
refused(
  'RM §2.7: a LENT notify list cut short is ARGUMENT_INVALID (a bad notify list)',
  vmIrqNotifyMsg.request,
  '01 00 00 00 01 00 00 00 01 00',
  RmError.ARGUMENT_INVALID,
);
refused(
  'RM §2.7 [infer]: a 7-byte VM_IRQ_NOTIFY is MSG_INVALID',
  vmIrqNotifyMsg.request,
  zeros(7),
  RmError.MSG_INVALID,
);
vector(
  'RM §2.7: NOTIFY_VM_IRQ_LENT is {u16 owner; u16 pad; u32 handle; u32 label}',
  vmIrqLentNotification.payload,
  { owner: 0x1203, handle: 0x1234_5678, label: 0x0a0b_0c07 },
  '03 12 00 00 78 56 34 12 07 0c 0b 0a',
);
for (const n of [vmIrqReleasedNotification, vmIrqAcceptedNotification]) {
  vector(`RM §2.7: ${n.name} is {u32 handle}`, n.payload, { handle: 0x1234_5678 }, '78 56 34 12');
}

// ============================================================================== §2.8

const ACL_80_RWX = '01 00 00 00 80 00 07 00';
const SGL_2G_1M = '01 00 00 00 00 00 00 80 00 00 00 00 00 00 10 00 00 00 00 00';
const LEND_92 = {
  memType: 0,
  flags: 0,
  label: 0,
  acl: [{ vmid: 0x80, rights: 7 }],
  sgl: [{ ipa: 0x8000_0000n, size: 0x10_0000n }],
  attrs: [],
};
vector(
  'RM §2.8/§9.2: MEM_LEND of guest memory: NORMAL, no flags, ACL {0x80, RWX}, one SGL entry, an explicit empty attribute list',
  memLendMsg.request,
  LEND_92,
  '00 00 00 00 00 00 00 00 ' + ACL_80_RWX + ' ' + SGL_2G_1M + ' 00 00 00 00',
);
decodesAs(
  'RM §1.8: a MEM_LEND ending where its attribute list would start has no attributes',
  memLendMsg.request,
  '00 00 00 00 00 00 00 00 ' + ACL_80_RWX + ' ' + SGL_2G_1M,
  LEND_92,
);
vector(
  'RM §2.8: MEM_SHARE carries mem_type@0, flags@2, label@4, then the ACL (4-byte entries), SGL and attribute {u16 attr; u16 vmid} lists',
  memShareMsg.request,
  {
    memType: 1,
    flags: 1,
    label: 0xaabb_ccdd,
    acl: [
      { vmid: 3, rights: 7 },
      { vmid: 0x1280, rights: 6 },
    ],
    sgl: [],
    attrs: [{ attr: 0x0201, vmid: 0x1280 }],
  },
  '01 00 01 00 dd cc bb aa  02 00 00 00 03 00 07 00 80 12 06 00  00 00 00 00  01 00 00 00 01 02 80 12',
);
vector(
  'RM §2.8: MEM_DONATE has the MEM_LEND layout',
  memDonateMsg.request,
  { memType: 0, flags: 2, label: 1, acl: [{ vmid: 0xff, rights: 7 }], sgl: [], attrs: [] },
  '00 00 02 00 01 00 00 00 01 00 00 00 ff 00 07 00 00 00 00 00 00 00 00 00',
);
for (const m of [memDonateMsg, memLendMsg, memShareMsg]) {
  vector(`RM §2.8: ${m.name} replies {u32 handle}`, m.reply, 5, '05 00 00 00');
}
refused('RM §2.8: a 19-byte MEM_LEND is MSG_INVALID (minimum 20)', memLendMsg.request, zeros(19), RmError.MSG_INVALID);
refused(
  'RM §1.8: an ACL of 513 entries is NORESOURCE, found before the length is checked',
  memLendMsg.request,
  '00 00 00 00 00 00 00 00 01 02 00 00 ' + zeros(8),
  RmError.NORESOURCE,
);
refused(
  'RM §1.8: SGL entries running past the message are MSG_INVALID',
  memLendMsg.request,
  '00 00 00 00 00 00 00 00 ' + ACL_80_RWX + ' 02 00 00 00 ' + zeros(16),
  RmError.MSG_INVALID,
);
refused(
  'RM §1.8: bytes left after the attribute list are MSG_INVALID for MEM_*',
  memShareMsg.request,
  '00 00 00 00 00 00 00 00 ' + ACL_80_RWX + ' 00 00 00 00 00 00 00 00 00 00 00 00',
  RmError.MSG_INVALID,
);
refused(
  'RM §1.8: two bytes where the attribute list header should be are MSG_INVALID',
  memLendMsg.request,
  '00 00 00 00 00 00 00 00 ' + ACL_80_RWX + ' 00 00 00 00 00 00',
  RmError.MSG_INVALID,
);

vector(
  'RM §2.8: MEM_APPEND is {u32 handle; u8 flags; u8 res[3]; SGL}',
  memAppendMsg.request,
  { handle: 0x0a0b_0c02, flags: 1, sgl: [{ ipa: 0x0102_0304_0506_1000n, size: 0x0a0b_0c0d_0e0f_2000n }] },
  '02 0c 0b 0a 01 00 00 00 01 00 00 00 00 10 06 05 04 03 02 01 00 20 0f 0e 0d 0c 0b 0a',
);
refused('RM §2.8 [infer]: a 7-byte MEM_APPEND is MSG_INVALID', memAppendMsg.request, zeros(7), RmError.MSG_INVALID);
refused(
  'RM §1.8: MEM_APPEND with bytes after its SGL is MSG_INVALID',
  memAppendMsg.request,
  '02 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00',
  RmError.MSG_INVALID,
);

vector(
  'RM §2.8: MEM_ACCEPT is {u32 handle; u8 mem_type; u8 trans_type; u8 flags; u8 res; u32 label; ACL; SGL; attrs}',
  memAcceptMsg.request,
  {
    handle: 0,
    memType: 0,
    transType: 1,
    flags: 0x82,
    label: 0,
    acl: [{ vmid: 0x80, rights: 7 }],
    mapVmid: 0,
    sgl: [],
    attrs: [],
  },
  '00 00 00 00 00 01 82 00 00 00 00 00 ' + ACL_80_RWX + ' 00 00 00 00 00 00 00 00',
);
test("RM §2.8: MEM_ACCEPT map_vmid is the SGL header's second u16; ≠ 0 decodes, for the handler's ARGUMENT_INVALID in its place", () => {
  const d = memAcceptMsg.request.decode(
    bytes('00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 80 00 00 00 00 00'),
  );
  assert.equal(d.ok && d.value.mapVmid, 0x80);
});
refused(
  'RM §2.8: a 23-byte MEM_ACCEPT is MSG_INVALID (minimum 24)',
  memAcceptMsg.request,
  zeros(23),
  RmError.MSG_INVALID,
);
vector(
  'RM §2.8: MEM_ACCEPT with an empty SGL replies {u16 n; u8 flags; u8 res; n × SGL entry}',
  memAcceptMsg.reply,
  { flags: 1, sgl: [{ ipa: 0x8000_0000n, size: 0x10_0000n }] },
  '01 00 01 00 00 00 00 80 00 00 00 00 00 00 10 00 00 00 00 00',
);
vector('RM §2.8: MEM_ACCEPT with IPAs given replies with no data', memAcceptMsg.reply, null, '');
refused('RM §2.8: a 2-byte MEM_ACCEPT reply is malformed', memAcceptMsg.reply, '01 00', RmError.MSG_INVALID);

for (const m of [memReleaseMsg, memReclaimMsg]) {
  vector(
    `RM §2.8: ${m.name} is {u32 handle; u8 flags; u8 res[3]}`,
    m.request,
    { handle: 0x0a0b_0c04, flags: 1 },
    '04 0c 0b 0a 01 00 00 00',
  );
  decodesAs(
    `RM §2.8: ${m.name} may be longer than 8 bytes (len ≥ 8)`,
    m.request,
    '04 00 00 00 00 00 00 00 ff ff ff ff',
    {
      handle: 4,
      flags: 0,
    },
  );
  refused(`RM §2.8: a 7-byte ${m.name} is MSG_INVALID`, m.request, zeros(7), RmError.MSG_INVALID);
}

vector(
  'RM §2.8: MEM_NOTIFY SHARED is {u32 handle; u8 flags; u8 res[3]; u32 tag} then {u16 n; u16 res; n × {u16 vmid; u16 res}}',
  memNotifyMsg.request,
  { handle: 0x0a0b_0c04, flags: 1, memInfoTag: 0x0d0e_0f09, vmids: [0x1280] },
  '04 0c 0b 0a 01 00 00 00 09 0f 0e 0d 01 00 00 00 80 12 00 00',
);
vector(
  'RM §2.8: MEM_NOTIFY RELEASED has no VMID list',
  memNotifyMsg.request,
  { handle: 4, flags: 2, memInfoTag: 9 },
  '04 00 00 00 02 00 00 00 09 00 00 00',
);
decodesAs(
  'RM §2.8: bytes after a MEM_NOTIFY RECALL list are tolerated',
  memNotifyMsg.request,
  '04 00 00 00 08 00 00 00 09 00 00 00 01 00 00 00 80 00 00 00 ff ff',
  { handle: 4, flags: 8, memInfoTag: 9, vmids: [0x80] },
);
refused(
  'RM §2.8: an 11-byte MEM_NOTIFY is MSG_INVALID (minimum 12)',
  memNotifyMsg.request,
  zeros(11),
  RmError.MSG_INVALID,
);
refused(
  'RM §2.8: MEM_NOTIFY SHARED in 12 bytes (no list header) is MSG_INVALID',
  memNotifyMsg.request,
  '04 00 00 00 01 00 00 00 09 00 00 00',
  RmError.MSG_INVALID,
);
refused(
  'RM §2.8: MEM_NOTIFY SHARED whose list runs past the end is MSG_INVALID',
  memNotifyMsg.request,
  '04 00 00 00 01 00 00 00 09 00 00 00 02 00 00 00 80 00 00 00',
  RmError.MSG_INVALID,
);
test('RM §2.8: MEM_NOTIFY decodes in two steps, so a handler can answer DENIED (owner check) before a list error', () => {
  const b = bytes('04 00 00 00 01 00 00 00 09 00 00 00');
  assert.deepEqual(decodeMemNotifyHead(b), { ok: true, value: { handle: 4, flags: 1, memInfoTag: 9 } });
  const l = decodeMemNotifyVmids(b);
  assert.equal(l.ok, false);
  // Flags values and n = 0 are the handler's (ARGUMENT_INVALID after HANDLE_INVALID / DENIED).
  assert.deepEqual(memNotifyMsg.request.decode(bytes('04 00 00 00 03 00 00 00 09 00 00 00')), {
    ok: true,
    value: { handle: 4, flags: 3, memInfoTag: 9 },
  });
  assert.deepEqual(decodeMemNotifyVmids(bytes('04 00 00 00 01 00 00 00 09 00 00 00 00 00 00 00')), {
    ok: true,
    value: [],
  });
});

vector(
  'RM §2.8: MEM_QCOM_LOOKUP_SGL is {u8 mem_type; u8 res[3]; u32 label; ACL; SGL; attrs}',
  memLookupSglMsg.request,
  { memType: 0, label: 5, acl: [{ vmid: 0x80, rights: 7 }], sgl: [{ ipa: 0x8000_0000n, size: 0x10_0000n }], attrs: [] },
  '00 00 00 00 05 00 00 00 ' + ACL_80_RWX + ' ' + SGL_2G_1M + ' 00 00 00 00',
);
refused(
  'RM §2.8: a 15-byte MEM_QCOM_LOOKUP_SGL is MSG_INVALID (minimum 16)',
  memLookupSglMsg.request,
  zeros(15),
  RmError.MSG_INVALID,
);
vector('RM §2.8: MEM_QCOM_LOOKUP_SGL replies {u32 handle}', memLookupSglMsg.reply, 3, '03 00 00 00');

vector(
  'RM §2.8: MEM_SHARED is a 20-byte head (handle, types, flags, owner@8, label@12, tag@16), the ACL, region sizes only (u64), and attrs',
  memSharedNotification.payload,
  {
    handle: 1,
    memType: 0,
    transType: 2,
    flags: 1,
    ownerVmid: 3,
    label: 0x10,
    tag: 0x20,
    acl: [{ vmid: 0x80, rights: 6 }],
    regionSizes: [0x10_0000n],
    attrs: [],
  },
  '01 00 00 00 00 02 01 00 03 00 00 00 10 00 00 00 20 00 00 00  01 00 00 00 80 00 06 00  01 00 00 00 00 00 10 00 00 00 00 00  00 00 00 00',
);
refused('RM §2.8: a 19-byte MEM_SHARED is malformed', memSharedNotification.payload, zeros(19), RmError.MSG_INVALID);
vector(
  'RM §2.8: MEM_ACCEPTED is {u32 handle; u16 vmid; u16 res; u32 tag}',
  memAcceptedNotification.payload,
  { handle: 0x0a0b_0c01, vmid: 0x1280, tag: 0x0d0e_0f20 },
  '01 0c 0b 0a 80 12 00 00 20 0f 0e 0d',
);
vector(
  'RM §9.2: MEM_RELEASED {handle 0, vmid 0x80, tag 0} after RESET',
  memReleasedNotification.payload,
  { handle: 0, vmid: 0x80, tag: 0 },
  '00 00 00 00 80 00 00 00 00 00 00 00',
);
vector(
  'RM §2.8: MEM_RECALL is {u32 handle; u32 tag}',
  memRecallNotification.payload,
  { handle: 0x0a0b_0c01, tag: 0x0d0e_0f20 },
  '01 0c 0b 0a 20 0f 0e 0d',
);

// ============================================================================== §2.9

vector(
  'RM §2.9: IPA_RESERVE fixed: 12-byte header {alloc_type 0; res; generic@4; platform@8}, list of {u64 base; u64 size}',
  ipaReserveMsg.request,
  {
    allocType: 0,
    genericConstraints: 0x0102_0304,
    platformConstraints: 0,
    ranges: [{ base: 0x10_9000_0000n, size: 0x2000_0000_0000_1000n }],
  },
  '00 00 00 00 04 03 02 01 00 00 00 00  01 00 00 00  00 00 00 90 10 00 00 00 00 10 00 00 00 00 00 20',
);
vector(
  'RM §2.9: IPA_RESERVE alloc: list of {u64 region_base; u64 region_size; u64 size; u64 alignment}',
  ipaReserveMsg.request,
  {
    allocType: 1,
    genericConstraints: 0x14,
    platformConstraints: 0xaabb_ccdd,
    ranges: [{ regionBase: 0x8000_0000n, regionSize: 0x4000_0000n, size: 0x20_0000n, alignment: 0x20_0000n }],
  },
  '01 00 00 00 14 00 00 00 dd cc bb aa  01 00 00 00  00 00 00 80 00 00 00 00 00 00 00 40 00 00 00 00 00 00 20 00 00 00 00 00 00 00 20 00 00 00 00 00',
);
vector(
  'RM §2.9: an IPA_RESERVE with an empty list is 16 bytes',
  ipaReserveMsg.request,
  { allocType: 0, genericConstraints: 0, platformConstraints: 0, ranges: [] },
  zeros(16),
);
refused(
  'RM §2.9: a 12-byte IPA_RESERVE (no list header) is MSG_INVALID',
  ipaReserveMsg.request,
  zeros(12),
  RmError.MSG_INVALID,
);
refused(
  'RM §2.9: IPA_RESERVE alloc_type 2 is MSG_INVALID',
  ipaReserveMsg.request,
  '02' + zeros(15),
  RmError.MSG_INVALID,
);
refused(
  'RM §1.8/§2.9: an IPA_RESERVE list of 31 entries is NORESOURCE',
  ipaReserveMsg.request,
  zeros(12) + '1f 00 00 00',
  RmError.NORESOURCE,
);
refused(
  'RM §2.9: IPA_RESERVE with bytes after its list is MSG_INVALID (exact length)',
  ipaReserveMsg.request,
  zeros(16) + '00 00 00 00',
  RmError.MSG_INVALID,
);
vector(
  'RM §2.9: IPA_RESERVE alloc replies {u32 n; n × u64 chosen base}',
  ipaReserveMsg.reply,
  { bases: [0x8020_0000n] },
  '01 00 00 00 00 00 20 80 00 00 00 00',
);
vector('RM §2.9: IPA_RESERVE fixed replies with no data', ipaReserveMsg.reply, null, '');
vector(
  'RM §2.9: FW_SET_VM_FIRMWARE is 24 bytes {u16 auth_type; u16 res; u32 memparcel; u64 offset; u64 size}',
  fwSetVmFirmwareMsg.request,
  { authType: 0x0102, memparcel: 0x0a0b_0c03, offset: 0x0102_0304_0506_0708n, size: 0x1122_3344_0001_0000n },
  '02 01 00 00 03 0c 0b 0a 08 07 06 05 04 03 02 01 00 00 01 00 44 33 22 11',
);
refused(
  'RM §2.9: FW_SET_VM_FIRMWARE with res ≠ 0 is UNIMPLEMENTED',
  fwSetVmFirmwareMsg.request,
  '02 00 01 00' + zeros(20),
  RmError.UNIMPLEMENTED,
);
refused(
  'RM §2.9: a 23-byte FW_SET_VM_FIRMWARE is MSG_INVALID',
  fwSetVmFirmwareMsg.request,
  zeros(23),
  RmError.MSG_INVALID,
);

// ============================================================================== tables

test('RM §2.1: every request and notification of the ID table has codecs, except the six without a layout', () => {
  const noLayout = ['VM_SUSPEND', 'VM_RESUME', 'VM_GET_HYP_CAPIDS', 'VM_GET_HYP_IRQS', 'VM_IRQ_UNMAP', 'IPA_UNRESERVE'];
  for (const row of MESSAGES) {
    if (row.kind === 'request') {
      const m = requestMessage(row.id);
      if (noLayout.includes(row.name)) assert.equal(m, undefined, row.name);
      else assert.equal(m?.name, row.name, `${row.name} has a request descriptor`);
    } else {
      const n = (NOTIFICATIONS as Record<string, { id: number }>)[row.name];
      assert.equal(n?.id, row.id, `${row.name} has a notification descriptor`);
    }
  }
  assert.equal(REQUEST_MESSAGES.length, MESSAGES.filter((r) => r.kind === 'request').length - noLayout.length);
});

test('RM §2.4: decodeNotification types a notification by its ID, and reports unknown IDs and malformed payloads', () => {
  assert.deepEqual(
    decodeNotification({ msgId: MsgId.NOTIFY_VM_STATUS, seq: 7, payload: bytes('80 00 00 00 0b 00 00 00') }),
    {
      name: 'NOTIFY_VM_STATUS',
      seq: 7,
      value: { vmid: 0x80, vmStatus: 11, osStatus: 0, appStatus: 0 },
    },
  );
  assert.equal(decodeNotification({ msgId: 0x5610_00ff, seq: 0, payload: new Uint8Array(0) }).name, 'unknown');
  const bad = decodeNotification({ msgId: MsgId.MEM_RECALL, seq: 0, payload: bytes('01 00') });
  assert.equal(bad.name, 'malformed');
  assert.equal(bad.name === 'malformed' && bad.of, 'MEM_RECALL');
});

test('RM §2: encoders refuse values the wire cannot carry (a caller bug, RpcError), never write them truncated', () => {
  assert.throws(() => vmAllocateMsg.request.encode({ vmid: 0x1_0000 }), /not a u16/);
  assert.throws(() => vmStopMsg.request.encode({ vmid: 1, flags: 1.5, stopReason: 0 }), /not a u8/);
  assert.throws(() => vmSetTimeBaseMsg.request.encode({ vmid: 0, timeBase: -1n, sysTimerRef: 0n }), /not a u64/);
  assert.throws(() => vmLookupGuidMsg.request.encode(new Uint8Array(15)), /16 bytes/);
});

// ============================================================================== properties

/** fc.record with ordinary objects (deepStrictEqual compares prototypes). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const KIND = { u8, u16, u32, u64 } as const;

/** Values for a struct codec, from its field table. */
function structArb<T>(c: StructCodec<T>): fc.Arbitrary<T> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, def] of Object.entries(c.fields) as [string, readonly [number, keyof typeof KIND]][])
    model[k] = KIND[def[1]];
  return rec(model) as unknown as fc.Arbitrary<T>;
}
const blob = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const acl = fc.array(rec({ vmid: u16, rights: u8 }), { maxLength: 6 });
const sgl = fc.array(rec({ ipa: u64, size: u64 }), { maxLength: 6 });
const attrs = fc.array(rec({ attr: u16, vmid: u16 }), { maxLength: 6 });
const memCreate = rec({ memType: u8, flags: u8, label: u32, acl, sgl, attrs });

// Each codec with generated valid values; struct codecs without field rules use their field table.
const ROUND_TRIPS: [Codec<unknown>, fc.Arbitrary<unknown>][] = [
  [vmAllocateMsg.reply, rec({ vmid: fc.option(u32, { nil: null }) })],
  [vmAuthImageMsg.request, rec({ vmid: u16, params: fc.array(rec({ paramType: u32, param: u32 }), { maxLength: 8 }) })],
  [vmSetStatusMsg.request, rec({ osState: fc.integer({ min: 0, max: 7 }), appStatus: u16 })],
  [vmExitMsg.request, rec({ exitFlags: u16, exitCode: fc.constantFrom(0, 1, 3, 4) })],
  [vmGetIdMsg.reply, fc.array(rec({ type: u8, data: blob(40) }), { maxLength: 5 })],
  [vmLookupUriMsg.request, blob(79)],
  [vmLookupNameMsg.reply, fc.array(u16, { maxLength: 10 })],
  [vmLookupGuidMsg.request, fc.uint8Array({ minLength: 16, maxLength: 16 })],
  [vmGetPeersMsg.reply, fc.array(u32, { maxLength: 10 })],
  [vmSetCrashMsgMsg.request, blob(200)],
  [vmGetCrashMsgMsg.reply, blob(200)],
  [vmGetHypResourcesMsg.reply, fc.array(structArb(hypResourceEntry), { maxLength: 5 })],
  [vmExitedNotification.payload, rec({ vmid: u16, exitType: u16, reason: blob(20) })],
  [vmConsoleWriteMsg.request, rec({ target: u16, data: blob(100) })],
  [vmConsoleCharsNotification.payload, rec({ from: u16, data: blob(100) })],
  [
    vmSetBootContextMsg.request,
    fc.oneof(
      rec({ vmid: u16, regSet: fc.constant(0), regIndex: fc.integer({ min: 0, max: 31 }), value: u64 }),
      rec({ vmid: u16, regSet: fc.constant(1), regIndex: fc.constant(0), value: u64 }),
      rec({ vmid: u16, regSet: fc.constant(2), regIndex: fc.integer({ min: 0, max: 2 }), value: u64 }),
    ),
  ],
  [vmSetDemandPagingMsg.request, rec({ vmid: u16, ranges: fc.array(rec({ gpa: u64, size: u64 }), { maxLength: 6 }) })],
  [vmSetAddressLayoutMsg.request, rec({ vmid: u16, rangeId: fc.constantFrom(0, 1), base: u64, size: u64 })],
  [
    vmIrqNotifyMsg.request,
    fc.oneof(
      rec({ handle: u32, flags: fc.constantFrom(1, 2, 4) }),
      rec({ handle: u32, flags: fc.constant(1), borrowers: fc.array(u16, { maxLength: 1 }) }),
    ),
  ],
  [memDonateMsg.request, memCreate],
  [memLendMsg.request, memCreate],
  [memShareMsg.request, memCreate],
  [memAppendMsg.request, rec({ handle: u32, flags: u8, sgl })],
  [
    memAcceptMsg.request,
    rec({ handle: u32, memType: u8, transType: u8, flags: u8, label: u32, acl, mapVmid: u16, sgl, attrs }),
  ],
  [memAcceptMsg.reply, fc.option(rec({ flags: u8, sgl }), { nil: null })],
  [
    memNotifyMsg.request,
    fc.oneof(
      rec({ handle: u32, flags: fc.constantFrom(1, 8), memInfoTag: u32, vmids: fc.array(u16, { maxLength: 6 }) }),
      rec({ handle: u32, flags: u8.filter((f) => f !== 1 && f !== 8), memInfoTag: u32 }),
    ),
  ],
  [memLookupSglMsg.request, rec({ memType: u8, label: u32, acl, sgl, attrs })],
  [
    memSharedNotification.payload,
    rec({
      handle: u32,
      memType: u8,
      transType: u8,
      flags: u8,
      ownerVmid: u16,
      label: u32,
      tag: u32,
      acl,
      regionSizes: fc.array(u64, { maxLength: 6 }),
      attrs,
    }),
  ],
  [
    ipaReserveMsg.request,
    fc.oneof(
      rec({
        allocType: fc.constant(0),
        genericConstraints: u32,
        platformConstraints: u32,
        ranges: fc.array(rec({ base: u64, size: u64 }), { maxLength: 30 }),
      }),
      rec({
        allocType: fc.constant(1),
        genericConstraints: u32,
        platformConstraints: u32,
        ranges: fc.array(rec({ regionBase: u64, regionSize: u64, size: u64, alignment: u64 }), { maxLength: 30 }),
      }),
    ),
  ],
  [ipaReserveMsg.reply, fc.option(rec({ bases: fc.array(u64, { maxLength: 8 }) }), { nil: null })],
];

// Every struct-layout codec whose fields carry no rule: values straight from its field table.
const STRUCT_CODECS: StructCodec<unknown>[] = [
  ...REQUEST_MESSAGES.flatMap((m) => [m.request, m.reply]),
  ...Object.values(NOTIFICATIONS).map((n) => n.payload as Codec<unknown>),
].filter(
  (c): c is StructCodec<unknown> =>
    'fields' in c &&
    ![vmSetStatusMsg.request, vmExitMsg.request, vmSetBootContextMsg.request, vmSetAddressLayoutMsg.request].includes(
      c as never,
    ),
);

test('RM §2: decode(encode(x)) = x for generated values of every struct-layout payload', () => {
  assert.ok(STRUCT_CODECS.length >= 30, `${STRUCT_CODECS.length} struct codecs`);
  for (const c of STRUCT_CODECS) {
    fc.assert(
      fc.property(structArb(c), (v) => {
        const b = c.encode(v);
        assert.equal(b.length, (c as StructCodec<unknown>).size, c.name);
        assert.deepEqual(c.decode(b), { ok: true, value: v }, c.name);
      }),
      { numRuns: 40 },
    );
  }
});

test('RM §2: decode(encode(x)) = x for generated values of every variable-layout payload', () => {
  for (const [c, arb] of ROUND_TRIPS) {
    fc.assert(
      fc.property(arb, (v) => {
        assert.deepEqual(c.decode(c.encode(v)), { ok: true, value: v }, c.name);
      }),
      { numRuns: 60 },
    );
  }
});

const ALL_DECODERS: Codec<unknown>[] = [
  ...REQUEST_MESSAGES.flatMap((m) => [m.request, m.reply, ...(m.errorData ? [m.errorData] : [])]),
  ...Object.values(NOTIFICATIONS).map((n) => n.payload as Codec<unknown>),
];
const KNOWN_ERRORS = new Set<number>(Object.values(RmError));

/** A decode outcome is a value or a known RM error with a reason; it never throws. */
function checkOutcome(c: Codec<unknown>, b: Uint8Array): void {
  const d = c.decode(b);
  if (!d.ok) {
    assert.ok(KNOWN_ERRORS.has(d.error), `${c.name}: error ${d.error}`);
    assert.ok(d.detail.length > 0);
  }
}

test('RM §1.5/§2: no byte string makes any decoder throw; failures carry an RM error code and a reason', () => {
  for (const c of ALL_DECODERS) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => checkOutcome(c, b)),
      { numRuns: 80 },
    );
  }
});

test('RM §2: valid encodings cut short, extended or with a byte changed decode or fail cleanly', () => {
  for (const [c, arb] of ROUND_TRIPS) {
    fc.assert(
      fc.property(arb, fc.nat(), fc.uint8Array({ maxLength: 8 }), u8, (v, at, extra, x) => {
        const b = c.encode(v);
        checkOutcome(c, b.subarray(0, b.length === 0 ? 0 : at % b.length));
        const longer = new Uint8Array(b.length + extra.length);
        longer.set(b);
        longer.set(extra, b.length);
        checkOutcome(c, longer);
        if (b.length > 0) {
          const flipped = b.slice();
          flipped[at % b.length] = x;
          checkOutcome(c, flipped);
        }
      }),
      { numRuns: 40 },
    );
  }
});

test('RM §1.4: a u32 count near 2^32 in a short reply fails at once rather than looping', () => {
  const huge = bytes('ff ff ff ff');
  for (const c of [
    vmGetPeersMsg.reply,
    vmGetHypResourcesMsg.reply,
    vmGetIdMsg.reply,
    ipaReserveMsg.reply,
    vmLookupUriMsg.reply,
  ]) {
    const d = c.decode(huge);
    assert.equal(d.ok, false, c.name);
  }
  const dp = vmSetDemandPagingMsg.request.decode(bytes('80 00 00 00 ff ff ff ff'));
  assert.equal(dp.ok, false);
});
