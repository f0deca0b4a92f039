#!/usr/bin/env python3
# Unicorn (Debian python3-unicorn 2.0.1, QEMU 5.0's TCG underneath) as an independent oracle for
# single A64 instructions: DESIGN.md §6. The TypeScript side (test/helpers/oracle.ts) sends a batch
# of test cases as JSON lines on stdin and reads one JSON line of final state per case on stdout.
#
# What Unicorn is, as measured on 2.0.1 (see test/isa/README.md):
# - The CPU model is set to UC_CPU_ARM64_MAX (the default, Cortex-A72, is Armv8.0 and lacks the
#   LSE atomics and other v8.1 instructions our decoder implements).
# - It runs at EL1 (CurrentEL reads 0b0100), EL1h, DAIF all masked, stage-1 MMU off: Unicorn's
#   mapped memory is the physical address space. This matches our CPU after reset (EL1h, MMU off).
#   SCTLR_EL1 resets to 0xc50838 (SA=1 among others); we set it to our reset value 0x30d00980 and
#   CPACR_EL1.FPEN to 0b11 with two MSR instructions before taking the register template, so both
#   CPUs run with the same controls (QEMU 5.0 does not check SP alignment either way).
# - Exceptions never reach the EL1 vectors: Unicorn intercepts them and calls the UC_HOOK_INTR hook
#   with QEMU's EXCP_* number (1 UDEF, 2 SVC, 3 prefetch abort, 4 data abort — alignment faults
#   of exclusives and atomics, 7 BKPT; HVC and SMC are UDEF because Unicorn has no EL2/EL3).
#   ESR_EL1/FAR_EL1 are not written, so only the kind of exception can be compared, not the
#   syndrome. We stop emulation in the hook and report the kind. The registers are then those at
#   the faulting instruction.
# - An access to unmapped memory does not raise a guest data abort: emu_start fails with
#   UC_ERR_READ_UNMAPPED / UC_ERR_WRITE_UNMAPPED (reported as kind 'unmapped'; our CPU takes a
#   synchronous external abort there, having no RAM behind the address).
# - With count=1 Unicorn still fetches the next instruction; a branch to an unmapped target then
#   fails with UC_ERR_FETCH_UNMAPPED *after* the branch completed, so that error means success.
# - mem_write from the host does not invalidate translated blocks: ctl_remove_cache is needed
#   whenever a new instruction word is placed at an address that ran before.
#
# Speed: uc.reg_write/reg_read cost ~2.5 us each through the Python binding, ~200 us per case for
# the whole register file. Instead the general and vector registers go through one saved CPU
# context: we find where X0..X30, SP, PC and Q0..Q31 live in the context blob once at start-up
# (by writing marker values and searching for them), then per case patch a copy of the template
# blob and restore it with one call (and read results from one context save). If the calibration
# fails (a different Unicorn build), we fall back to reg_write/reg_read.
#
# - Unicorn translates ahead: after the instruction it reads the following words, and after a taken
#   branch the words at the target, before it stops on the count. QEMU 5.0 aborts the whole process
#   (g_assert_not_reached) on some unallocated encodings, so random bytes there are dangerous: we
#   put UDF #0 after the instruction and at the `guard` address (the TS CPU's next PC).
#
# Protocol. First line: {"base": hex, "size": n, "mem": hex-of-initial-window}. Then one case per
# line: {"id": n, "pc": hex, "insn": n, "x": hex of the 256-byte little-endian image of X0..X30, SP
# (as the TS side's BigUint64Array holds them), "nzcv": n, "v": hex of the 512-byte little-endian
# image of Q0..Q31 (optional), "fpcr": n, "fpsr": n, "guard": hex (optional)}. Both sides place
# the instruction followed by UDF #0 (0x00000000) at pc.
# Output per case: {"id", "x", "pc", "nzcv", "v"?, "fpsr"?, "mem": [[addr hex, bytes hex], ...],
# "exc": null | "udef" | "svc" | "pabort" | "dabort" | "bkpt" | "unmapped" | "intr<N>" | "error:<text>"}.

import ctypes
import json
import os
import struct
import sys

try:
    from unicorn import Uc, UcError, UC_ARCH_ARM64, UC_MODE_ARM, UC_HOOK_INTR, UC_HOOK_MEM_WRITE
    from unicorn import UC_ERR_FETCH_UNMAPPED, UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED
    from unicorn.arm64_const import (
        UC_CPU_ARM64_MAX,
        UC_ARM64_REG_X0,
        UC_ARM64_REG_X29,
        UC_ARM64_REG_X30,
        UC_ARM64_REG_SP,
        UC_ARM64_REG_PC,
        UC_ARM64_REG_NZCV,
        UC_ARM64_REG_FPCR,
        UC_ARM64_REG_FPSR,
        UC_ARM64_REG_Q0,
    )
except ImportError as e:  # the caller looks for this exact word
    print("ORACLE MISSING: " + str(e), file=sys.stderr)
    sys.exit(3)

XREGS = [UC_ARM64_REG_X0 + i for i in range(29)] + [UC_ARM64_REG_X29, UC_ARM64_REG_X30]
QREGS = [UC_ARM64_REG_Q0 + i for i in range(32)]
EXC_NAMES = {1: "udef", 2: "svc", 3: "pabort", 4: "dabort", 7: "bkpt"}
MSR_SCTLR_X0 = 0xD5181000  # msr sctlr_el1, x0
MSR_CPACR_X0 = 0xD5181040  # msr cpacr_el1, x0
SCTLR = 0x30D00980
CPACR_FPEN = 0x300000


class Oracle:
    def __init__(self, base, size, mem):
        self.base = base
        self.size = size
        self.initial = mem
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        uc.ctl_set_cpu_model(UC_CPU_ARM64_MAX)
        uc.mem_map(base, size)
        uc.mem_write(base, mem)
        self.uc = uc
        self.exc = None
        self.writes = []
        uc.hook_add(UC_HOOK_INTR, self._on_intr)
        uc.hook_add(UC_HOOK_MEM_WRITE, self._on_write)
        pc = base
        for value, word in ((SCTLR, MSR_SCTLR_X0), (CPACR_FPEN, MSR_CPACR_X0)):
            uc.reg_write(UC_ARM64_REG_X0, value)
            self._place(pc, word)
            uc.emu_start(pc, 0, count=1)
            if self.exc is not None:
                raise RuntimeError("setup MSR took an exception")
        self._restore_code(pc)
        uc.mem_write(base, mem)
        self.writes = []
        self.ctx = uc.context_save()
        self.csize = self.ctx.size
        # UNICORN_ORACLE_NO_CONTEXT=1 forces the slow reg_write path (to cross-check the fast one).
        self.calibrated = not os.environ.get("UNICORN_ORACLE_NO_CONTEXT") and self._calibrate()
        self.template = bytes(ctypes.string_at(self.ctx.context, self.csize))
        self.buf = bytearray(self.template)

    # ---- hooks ----
    def _on_intr(self, uc, intno, _user):
        self.exc = EXC_NAMES.get(intno, "intr%d" % intno)
        uc.emu_stop()

    def _on_write(self, _uc, _access, address, size, _value, _user):
        self.writes.append((address, size))

    # ---- helpers ----
    def _place(self, pc, word):
        # The instruction, then UDF #0: Unicorn translates ahead of the single instruction it
        # executes, and the random window bytes after it can crash QEMU 5.0's translator
        # (g_assert_not_reached on some unallocated FP16 encodings), so the block must end here.
        self.uc.mem_write(pc, struct.pack("<II", word, 0))
        self.uc.ctl_remove_cache(pc, pc + 8)

    def _restore_code(self, pc, n=8):
        off = pc - self.base
        if 0 <= off and off + n <= self.size:
            self.uc.mem_write(pc, self.initial[off : off + n])

    def _calibrate(self):
        """Find X0..X30, SP, PC and Q0..Q31 in the context blob; False if the layout is not as expected."""
        uc = self.uc
        saved = uc.context_save()
        marks = {}
        for i, r in enumerate(XREGS):
            uc.reg_write(r, 0x5A17C0DE00000000 + (i << 8) + 0x11)
        uc.reg_write(UC_ARM64_REG_SP, 0x5A17C0DE0000FF22)
        uc.reg_write(UC_ARM64_REG_PC, 0x5A17C0DE0000FE34)
        for i, r in enumerate(QREGS):
            uc.reg_write(r, ((0x6B28D1EF00000000 + (i << 8) + 0x55) << 64) | (0x6B28D1EF00000000 + (i << 8) + 0x44))
        uc.context_update(self.ctx)
        blob = ctypes.string_at(self.ctx.context, self.csize)
        uc.context_restore(saved)

        def find(v):
            p = struct.pack("<Q", v)
            i = blob.find(p)
            return i if i >= 0 and blob.find(p, i + 1) < 0 else -1

        xoff = find(0x5A17C0DE00000011)
        if xoff < 0:
            return False
        for i in range(31):
            if find(0x5A17C0DE00000000 + (i << 8) + 0x11) != xoff + 8 * i:
                return False
        if find(0x5A17C0DE0000FF22) != xoff + 8 * 31:
            return False
        self.xoff = xoff
        self.pcoff = find(0x5A17C0DE0000FE34)
        if self.pcoff < 0:
            return False
        self.qoff = []
        for i in range(32):
            lo = find(0x6B28D1EF00000000 + (i << 8) + 0x44)
            hi = find(0x6B28D1EF00000000 + (i << 8) + 0x55)
            if lo < 0 or hi != lo + 8:
                return False
            self.qoff.append(lo)
        uc.context_update(self.ctx)
        return True

    # ---- one case ----
    def run(self, case):
        uc = self.uc
        pc = int(case["pc"], 16)
        xb = bytes.fromhex(case["x"])
        vhex = case.get("v")
        vb = bytes.fromhex(vhex) if vhex else None
        if self.calibrated:
            buf = self.buf
            buf[:] = self.template
            xoff = self.xoff
            buf[xoff : xoff + 256] = xb
            buf[self.pcoff : self.pcoff + 8] = pc.to_bytes(8, "little")
            if vb is not None:
                for i, off in enumerate(self.qoff):
                    buf[off : off + 16] = vb[16 * i : 16 * i + 16]
            ctypes.memmove(self.ctx.context, bytes(buf), self.csize)
            uc.context_restore(self.ctx)
        else:
            for i, r in enumerate(XREGS):
                uc.reg_write(r, int.from_bytes(xb[8 * i : 8 * i + 8], "little"))
            uc.reg_write(UC_ARM64_REG_SP, int.from_bytes(xb[248:256], "little"))
            if vb is not None:
                for i, r in enumerate(QREGS):
                    uc.reg_write(r, int.from_bytes(vb[16 * i : 16 * i + 16], "little"))
        uc.reg_write(UC_ARM64_REG_NZCV, case["nzcv"] << 28)
        if vb is not None:
            uc.reg_write(UC_ARM64_REG_FPCR, case.get("fpcr", 0))
            uc.reg_write(UC_ARM64_REG_FPSR, case.get("fpsr", 0))
        self._place(pc, case["insn"] & 0xFFFFFFFF)
        # After a taken branch Unicorn translates the block at the target before it notices that
        # the instruction count is reached; the TS side sends its own CPU's next PC as `guard`,
        # where we put a UDF for the duration of the case for the same reason as above.
        guard = case.get("guard")
        if guard is not None:
            guard = int(guard, 16)
            goff = guard - self.base
            if 0 <= goff and goff + 4 <= self.size and not (pc <= guard < pc + 8):
                uc.mem_write(guard, b"\0\0\0\0")
                uc.ctl_remove_cache(guard, guard + 4)
            else:
                guard = None
        self.exc = None
        self.writes = []
        try:
            uc.emu_start(pc, 0, count=1)
        except UcError as e:
            if e.errno in (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED):
                self.exc = "unmapped"
            elif e.errno != UC_ERR_FETCH_UNMAPPED:
                self.exc = "error:" + str(e)
        out = {"id": case["id"], "exc": self.exc}
        if self.calibrated:
            uc.context_update(self.ctx)
            blob = ctypes.string_at(self.ctx.context, self.csize)
            xoff = self.xoff
            out["x"] = blob[xoff : xoff + 256].hex()
            out["pc"] = "%x" % int.from_bytes(blob[self.pcoff : self.pcoff + 8], "little")
            if vb is not None:
                out["v"] = b"".join(blob[off : off + 16] for off in self.qoff).hex()
        else:
            ox = [uc.reg_read(r) for r in XREGS] + [uc.reg_read(UC_ARM64_REG_SP)]
            out["x"] = b"".join(v.to_bytes(8, "little") for v in ox).hex()
            out["pc"] = "%x" % uc.reg_read(UC_ARM64_REG_PC)
            if vb is not None:
                out["v"] = b"".join(uc.reg_read(r).to_bytes(16, "little") for r in QREGS).hex()
        out["nzcv"] = (uc.reg_read(UC_ARM64_REG_NZCV) >> 28) & 15
        if vb is not None:
            out["fpsr"] = uc.reg_read(UC_ARM64_REG_FPSR)
        # Memory written by the instruction: report final bytes, then put the window back.
        mem = []
        base, size, initial = self.base, self.size, self.initial
        for addr, n in self.writes:
            off = addr - base
            if 0 <= off and off + n <= size:
                mem.append(["%x" % addr, bytes(uc.mem_read(addr, n)).hex()])
                uc.mem_write(addr, initial[off : off + n])
        out["mem"] = mem
        self._restore_code(pc)
        if guard is not None:
            self._restore_code(guard, 4)
        return out


def main():
    # QEMU inside Unicorn prints some diagnostics ("code should not be reached") on the C stdout:
    # keep fd 1 for our JSON lines only by moving it, and send C-level stdout to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(out_fd, "w", buffering=1 << 16)
    inp = sys.stdin
    header = json.loads(inp.readline())
    oracle = Oracle(int(header["base"], 16), header["size"], bytes.fromhex(header["mem"]))
    out = sys.stdout
    dumps = json.dumps
    loads = json.loads
    trace = os.environ.get("UNICORN_ORACLE_TRACE")
    # For testing the TS side's crash recovery: abort like QEMU does when this word comes up.
    crash_on = int(os.environ.get("UNICORN_ORACLE_ABORT_ON", "-1"), 16)
    for line in inp:
        if not line.strip():
            continue
        if trace:
            os.write(2, ("case " + line[:120] + "\n").encode())
        case = loads(line)
        if case["insn"] == crash_on:
            os.abort()
        out.write(dumps(oracle.run(case), separators=(",", ":")))
        out.write("\n")
        # Flushed per case: if QEMU aborts on some instruction, every earlier result has arrived
        # and the TS side knows exactly which case killed the process.
        out.flush()
    out.flush()


if __name__ == "__main__":
    main()
