# not-arm64.elf: a valid x86-64 ELF executable, for the loader's "wrong machine" check.
    .text
    .globl _start
_start:
    hlt
    jmp _start
