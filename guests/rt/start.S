// Guest entry and exception vectors. Entered at EL1h with the MMU off and DAIF masked (as QEMU's
// `-kernel FILE.elf` and `gunyah run --bare` both start an ELF): set the stack and VBAR_EL1,
// allow FP/SIMD at EL0/EL1 (CPACR_EL1.FPEN, reset 0 = trapped), clear .bss, run main(x0) with
// the x0 the guest was entered with (a boot context: the DTB address, or what the VMM passes),
// then exit_with(main's result), which powers off through PSCI.

    .section .text.boot, "ax"
    .global _start
_start:
    mov     x19, x0
    ldr     x1, =__stack_top
    mov     sp, x1
    adr     x1, vectors
    msr     vbar_el1, x1
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b
2:  mov     x0, x19
    bl      main
    bl      exit_with
3:  b       3b

// Entry of a secondary CPU started with PSCI CPU_ON(mpidr, secondary_entry, ctx), where ctx points
// at struct secondary { u64 stack_top; u64 fn; u64 arg; }: set SP, VBAR_EL1 and CPACR_EL1, call
// fn(arg), then PSCI CPU_OFF.
    .text
    .global secondary_entry
secondary_entry:
    ldr     x1, [x0]
    mov     sp, x1
    adr     x1, vectors
    msr     vbar_el1, x1
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb
    ldr     x1, [x0, #8]
    ldr     x0, [x0, #16]
    blr     x1
    movz    x0, #0x8400, lsl #16
    movk    x0, #2
    hvc     #0
4:  b       4b

// struct frame: x0..x30 at 0..240, sp_el0 248, elr 256, spsr 264, esr 272, far 280; 288 bytes.
#define FRAME 288

    .section .text.vectors, "ax"
    .balign 2048
    .global vectors
vectors:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 128
    sub     sp, sp, #FRAME
    stp     x0, x1, [sp, #0]
    mov     x0, #\n
    b       exc_common
    .endr

exc_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, sp_el0
    stp     x30, x2, [sp, #240]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #256]
    mrs     x2, esr_el1
    mrs     x3, far_el1
    stp     x2, x3, [sp, #272]
    mov     x1, x0
    mov     x0, sp
    bl      exc_dispatch
    ldp     x2, x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x2, [sp, #240]
    msr     sp_el0, x2
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #FRAME
    eret

// u64 run_el0(u64 (*fn)(u64), u64 arg): save the callee-saved state on SP_EL1, eret to fn at
// EL0t with x0 = arg and LR = el0_trampoline_exit. The runtime's exception dispatcher turns the
// EL0 `svc #0xfff` into an exception return to el0_return at EL1h, with SP_EL1 back where it
// was here, so el0_return pops the saved state and returns x0 to the caller.
    .text
    .global run_el0
    .global el0_return
    .global el0_trampoline_exit
run_el0:
    stp     x29, x30, [sp, #-96]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    msr     elr_el1, x0
    msr     spsr_el1, xzr           // EL0t, NZCV and DAIF clear
    ldr     x2, =__el0_stack_top
    msr     sp_el0, x2
    mov     x0, x1
    adr     x30, el0_trampoline_exit
    eret
el0_trampoline_exit:                // fn returned at EL0 with its result in x0
    svc     #0xfff
    b       el0_trampoline_exit
el0_return:
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #96
    ret
