/* linux-init — the whole of a tiny initramfs's /init for booting real Linux as a guest VM: a static
 * AArch64 Linux program that writes one line to its console (write(1, ...), syscall 64) and powers
 * the machine off (reboot(LINUX_REBOOT_MAGIC1, MAGIC2, LINUX_REBOOT_CMD_POWER_OFF), syscall 142),
 * which the kernel turns into PSCI SYSTEM_OFF. Syscall numbers and reboot magics: Linux's
 * asm-generic unistd.h and reboot.h. */
    .global _start
    .text
_start:
    mov x0, #1
    adr x1, msg
    mov x2, #(msg_end - msg)
    mov x8, #64
    svc #0
    movz x0, #0xdead
    movk x0, #0xfee1, lsl #16
    movz x1, #0x1969
    movk x1, #0x2812, lsl #16
    movz x2, #0xfedc
    movk x2, #0x4321, lsl #16
    mov x8, #142
    svc #0
1:  b 1b
msg:
    .ascii "hello from init: Linux ran a user program, which now asks for power-off\n"
msg_end:
