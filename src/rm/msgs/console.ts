// The VM console messages (resource-manager-protocol.md §2.5) and their notification
// NOTIFY_VM_CONSOLE_CHARS (§2.4): OPEN, CLOSE and FLUSH take `{u16 target; u16 res}` exactly;
// WRITE and the notification carry `{u16 vmid; u16 n; bytes[n]}` with no padding, so the payload
// is exactly 4 + n bytes (MSG_INVALID otherwise).

import { MsgId, RmError } from '../rpc/index.js';
import { checkUint, concat, decoded, fail, notificationOf, request, type Codec } from './codec.js';
import { noData, vmidRequest } from './vm.js';

/** `{u16 vmid; u16 n; bytes[n]}`, exactly 4 + n bytes. */
function chars(name: string, key: 'target' | 'from'): Codec<{ readonly vmid: number; readonly data: Uint8Array }> {
  return {
    name,
    encode(v) {
      checkUint(`${name}: ${key}`, 'u16', v.vmid);
      checkUint(`${name}: length`, 'u16', v.data.length);
      const head = new Uint8Array(4);
      const dv = new DataView(head.buffer);
      dv.setUint16(0, v.vmid, true);
      dv.setUint16(2, v.data.length, true);
      return concat([head, v.data]);
    },
    decode(b) {
      if (b.length < 4) return fail(RmError.MSG_INVALID, `${name}: ${b.length} bytes, need at least 4`);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const n = dv.getUint16(2, true);
      if (b.length !== 4 + n)
        return fail(RmError.MSG_INVALID, `${name}: ${n} characters need ${4 + n} bytes, got ${b.length}`);
      return decoded({ vmid: dv.getUint16(0, true), data: b.slice(4) });
    },
  };
}

/** VM_CONSOLE_WRITE: target 0 = the caller's own console; otherwise a VM the caller owns. */
export interface ConsoleWriteRequest {
  readonly target: number;
  readonly data: Uint8Array;
}

/** NOTIFY_VM_CONSOLE_CHARS: `from` = the guest's VMID (guest → owner) or 0 (owner → guest). */
export interface ConsoleCharsNotification {
  readonly from: number;
  readonly data: Uint8Array;
}

const writeCodec = chars('VM_CONSOLE_WRITE request', 'target');
const consoleWriteRequest: Codec<ConsoleWriteRequest> = {
  name: writeCodec.name,
  encode: (v) => writeCodec.encode({ vmid: v.target, data: v.data }),
  decode(b) {
    const d = writeCodec.decode(b);
    return d.ok ? decoded({ target: d.value.vmid, data: d.value.data }) : d;
  },
};

const charsCodec = chars('NOTIFY_VM_CONSOLE_CHARS notification', 'from');
const consoleCharsPayload: Codec<ConsoleCharsNotification> = {
  name: charsCodec.name,
  encode: (v) => charsCodec.encode({ vmid: v.from, data: v.data }),
  decode(b) {
    const d = charsCodec.decode(b);
    return d.ok ? decoded({ from: d.value.vmid, data: d.value.data }) : d;
  },
};

// OPEN/CLOSE/FLUSH name their target in the common VMID layout.
export const vmConsoleOpenMsg = request(
  MsgId.VM_CONSOLE_OPEN,
  'VM_CONSOLE_OPEN',
  vmidRequest('VM_CONSOLE_OPEN'),
  noData('VM_CONSOLE_OPEN'),
);
export const vmConsoleCloseMsg = request(
  MsgId.VM_CONSOLE_CLOSE,
  'VM_CONSOLE_CLOSE',
  vmidRequest('VM_CONSOLE_CLOSE'),
  noData('VM_CONSOLE_CLOSE'),
);
export const vmConsoleWriteMsg = request(
  MsgId.VM_CONSOLE_WRITE,
  'VM_CONSOLE_WRITE',
  consoleWriteRequest,
  noData('VM_CONSOLE_WRITE'),
);
export const vmConsoleFlushMsg = request(
  MsgId.VM_CONSOLE_FLUSH,
  'VM_CONSOLE_FLUSH',
  vmidRequest('VM_CONSOLE_FLUSH'),
  noData('VM_CONSOLE_FLUSH'),
);

export const vmConsoleCharsNotification = notificationOf(
  MsgId.NOTIFY_VM_CONSOLE_CHARS,
  'NOTIFY_VM_CONSOLE_CHARS',
  consoleCharsPayload,
);
