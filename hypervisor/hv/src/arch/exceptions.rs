//! EL2 exception vectors and the trap frame. Every exception saves the interrupted context in a
//! `TrapFrame` on this CPU's stack and calls `crate::traps::handle_exception`; whatever that leaves
//! in the frame is what the CPU returns to.

/// The general-purpose registers and return state of the interrupted context.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
    _pad: u64,
}

const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(FRAME_SIZE == 34 * 8);

impl TrapFrame {
    pub const fn zeroed() -> Self {
        TrapFrame { x: [0; 31], elr: 0, spsr: 0, _pad: 0 }
    }

    /// The state a vCPU starts in: EL1h, all of DAIF masked, at `pc` with `x0`.
    pub fn guest_entry(pc: u64, x0: u64) -> Self {
        const SPSR_EL1H_DAIF_MASKED: u64 = 0x3c5;
        let mut frame = TrapFrame { elr: pc, spsr: SPSR_EL1H_DAIF_MASKED, ..Default::default() };
        frame.x[0] = x0;
        frame
    }
}

/// Which vector was taken, in the architectural order (Arm ARM D1.10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
#[allow(dead_code)] // built from the vector index, never by name
pub enum ExceptionKind {
    CurrentSp0Sync = 0,
    CurrentSp0Irq,
    CurrentSp0Fiq,
    CurrentSp0SError,
    CurrentSpxSync,
    CurrentSpxIrq,
    CurrentSpxFiq,
    CurrentSpxSError,
    Lower64Sync,
    Lower64Irq,
    Lower64Fiq,
    Lower64SError,
    Lower32Sync,
    Lower32Irq,
    Lower32Fiq,
    Lower32SError,
}

impl ExceptionKind {
    fn from_index(index: u64) -> Self {
        // SAFETY: the vectors pass only 0..=15, and the enum is repr(u64) with those values.
        unsafe { core::mem::transmute(index & 0xf) }
    }
}

#[no_mangle]
extern "C" fn el2_exception(frame: &mut TrapFrame, index: u64) {
    crate::traps::handle_exception(frame, ExceptionKind::from_index(index));
}

extern "C" {
    pub static EXCEPTION_VECTORS: [u8; 0x800];
    fn enter_guest_with(frame: *const TrapFrame, stack_top: usize) -> !;
}

/// Leaves EL2 for the guest context `frame`, resetting this CPU's EL2 stack to `stack_top`; traps
/// from the guest then start from an empty stack.
pub fn enter_guest(frame: &TrapFrame, stack_top: usize) -> ! {
    // The frame may itself sit near the top of the stack that is about to be reused: stage it
    // in this CPU's own slot first.
    let staged = crate::arch::percpu::entry_frame();
    *staged = *frame;
    // SAFETY: the staged frame is outside the stack; it is copied onto the new stack before
    // anything is pushed there, and the caller's stack frames, which are discarded, are not
    // used again: this never returns.
    unsafe { enter_guest_with(staged, stack_top) }
}

core::arch::global_asm!(
    r#"
.macro vector index
    .balign 0x80
    sub     sp, sp, #{frame_size}
    stp     x0, x1, [sp]
    mov     x0, #\index
    b       exception_common
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global EXCEPTION_VECTORS
EXCEPTION_VECTORS:
    vector 0
    vector 1
    vector 2
    vector 3
    vector 4
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

exception_common:
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
    mrs     x1, elr_el2
    stp     x30, x1, [sp, #240]
    mrs     x1, spsr_el2
    str     x1, [sp, #256]
    mov     x1, x0
    mov     x0, sp
    bl      el2_exception
exception_return:
    ldr     x1, [sp, #256]
    msr     spsr_el2, x1
    ldp     x30, x1, [sp, #240]
    msr     elr_el2, x1
    ldp     x28, x29, [sp, #224]
    ldp     x26, x27, [sp, #208]
    ldp     x24, x25, [sp, #192]
    ldp     x22, x23, [sp, #176]
    ldp     x20, x21, [sp, #160]
    ldp     x18, x19, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp]
    add     sp, sp, #{frame_size}
    eret

    // x0 = frame to enter, x1 = top of this CPU's stack.
    .global enter_guest_with
enter_guest_with:
    sub     sp, x1, #{frame_size}
    mov     x2, sp
    mov     x3, #({frame_size} / 16)
0:  ldp     x4, x5, [x0], #16
    stp     x4, x5, [x2], #16
    subs    x3, x3, #1
    b.ne    0b
    b       exception_return
"#,
    frame_size = const FRAME_SIZE,
);
