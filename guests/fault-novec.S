// fault-novec.elf: VBAR_EL1 keeps its reset value and nothing is mapped at its vectors, so the
// first exception (a load from an address where no device answers) cannot be handled.
    .section .text.boot, "ax"
    .global _start
_start:
    ldr     x1, =0x09000000         // PL011 data register
    mov     w2, #'!'
    str     w2, [x1]
    mov     w2, #'\n'
    str     w2, [x1]
    ldr     x0, =0x0b000000         // no device decodes this address on virt
    ldr     x3, [x0]
1:  b       1b
