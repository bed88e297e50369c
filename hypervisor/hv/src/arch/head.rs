//! Entry points: the arm64 Image header QEMU's `-kernel` recognises, the boot CPU's entry (x0 =
//! host DTB) and the secondary CPUs' entry (x0 = CPU index, given to PSCI CPU_ON as context).
//! Each CPU gets its stack, clears nothing else, and calls into Rust with the MMU still off.

use crate::arch::percpu::{MAX_CPUS, STACK_SIZE};

#[repr(C, align(4096))]
pub struct Stacks(pub [[u8; STACK_SIZE]; MAX_CPUS]);

/// One EL2 stack per physical CPU, in .bss.
#[no_mangle]
pub static mut BOOT_STACKS: Stacks = Stacks([[0; STACK_SIZE]; MAX_CPUS]);

core::arch::global_asm!(
    r#"
    .section .text.head, "ax"
    .global _start
_start:
    b       primary_entry
    .long   0
    .quad   0                       // text_offset
    .quad   __image_size            // image_size: what QEMU or a bootloader must reserve
    .quad   0x2                     // flags: little endian, 4 KiB pages
    .quad   0, 0, 0
    .ascii  "ARM\x64"
    .long   0

primary_entry:
    mov     x19, x0                 // host DTB
    mrs     x1, CurrentEL
    cmp     x1, #(2 << 2)
    b.ne    wrong_el
    adr     x1, _start
    ldr     x2, =_start
    cmp     x1, x2
    b.ne    wrong_address
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
0:  cmp     x1, x2
    b.hs    1f
    stp     xzr, xzr, [x1], #16
    b       0b
1:  mov     x0, #0
    bl      set_stack
    mov     x0, x19
    bl      {primary_main}
    b       park

    .global secondary_entry
secondary_entry:
    mov     x19, x0                 // CPU index
    cmp     x0, #{max_cpus}
    b.hs    park
    bl      set_stack
    mov     x0, x19
    bl      {secondary_main}
    b       park

    // x0 = CPU index: sp = top of its stack; installs the exception vectors.
set_stack:
    ldr     x1, ={stacks}
    mov     x2, #{stack_size}
    madd    x1, x0, x2, x1
    add     sp, x1, x2
    ldr     x1, ={vectors}
    msr     vbar_el2, x1
    isb
    ret

    // Early failures, before any console exists: say so on QEMU virt's PL011 and stop.
wrong_el:
    adr     x1, msg_wrong_el
    b       early_fail
wrong_address:
    adr     x1, msg_wrong_address
early_fail:
    mov     x2, #0x09000000
2:  ldrb    w3, [x1], #1
    cbz     w3, park
    strb    w3, [x2]
    b       2b
park:
    wfe
    b       park

msg_wrong_el:
    .asciz  "(XEN) reptar-hv must be entered at EL2: start QEMU with -machine virt,virtualization=on\r\n"
msg_wrong_address:
    .asciz  "(XEN) reptar-hv was loaded at the wrong address: it is linked at 0x40200000\r\n"
    .balign 4
"#,
    primary_main = sym crate::primary_main,
    secondary_main = sym crate::secondary_main,
    stacks = sym BOOT_STACKS,
    vectors = sym crate::arch::exceptions::EXCEPTION_VECTORS,
    stack_size = const STACK_SIZE,
    max_cpus = const MAX_CPUS,
);

extern "C" {
    /// Where PSCI CPU_ON starts a secondary physical CPU (x0 = its index).
    pub fn secondary_entry();
}
