# REPTAR on Rust: one entry point.
#   make run     build everything (first time: installs the toolchain and builds the kernel)
#                and boot the hypervisor with dom0 on this terminal
#   make test    host unit tests + system tests in QEMU; prints 'N passed, N failed'
#   make bench   boot-time and size figures
#   make fuzz    libFuzzer on every parser of guest input, FUZZ_SECONDS (default 30) each
# Parts: make setup | kernel | hypervisor | rootfs | modules | host-test | system-test

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := $(TOP)/build
REPTAR_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/reptar
export REPTAR_CACHE

# Debian's rustc-web for everything (DESIGN.md section 3); rustup's toolchain cannot build for
# aarch64. Cargo outputs are cached outside the work tree so fresh clones reuse them.
CARGO := /usr/bin/cargo
export RUSTC := /usr/bin/rustc
CARGO_TARGETS := $(REPTAR_CACHE)/cargo-target
HV_TARGET := aarch64-unknown-none-softfloat
HV_ELF := $(CARGO_TARGETS)/hypervisor/$(HV_TARGET)/release/reptar-hv

KERNEL_DIR = $(shell scripts/kernel/build --dir)

PROGRAMS_DIR := $(CARGO_TARGETS)/programs/aarch64-unknown-linux-gnu/release
PROGRAMS := evtchn fb-bench grant input-events leds pv-user qtrun vled-user xenstore

.PHONY: all run test bench setup kernel hypervisor rootfs modules programs host-test system-test fuzz clean
all: hypervisor kernel rootfs

setup:
	@scripts/setup

kernel: setup
	@scripts/kernel/build
	@mkdir -p $(BUILD) && ln -sfn $(KERNEL_DIR)/arch/arm64/boot/Image $(BUILD)/Image

hypervisor: setup
	@mkdir -p $(BUILD)
	cd hypervisor && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(CARGO_TARGETS)/hypervisor \
		$(CARGO) build --release -p reptar-hv --target $(HV_TARGET) \
		-Zbuild-std=core,alloc -Zbuild-std-features=compiler-builtins-mem
	llvm-objcopy-19 -O binary $(HV_ELF) $(BUILD)/hypervisor.bin
	@cp $(HV_ELF) $(BUILD)/hypervisor.elf

# Out-of-tree Rust kernel modules (drivers/, see Kbuild), built against our kernel.
modules: kernel
	@. scripts/lib/env.sh && . scripts/lib/toolchain.sh && \
		$(MAKE) -C $(KERNEL_DIR) M=$(TOP) "$${KMAKE_VARS[@]}" modules
	@mkdir -p $(BUILD)/modules && find drivers -name '*.ko' -exec cp {} $(BUILD)/modules/ \;
	@# The kernel's own C frontends, against which our backends are tested too (not loaded by default).
	@cp $(KERNEL_DIR)/drivers/input/misc/xen-kbdfront.ko $(KERNEL_DIR)/drivers/video/fbdev/xen-fbfront.ko $(BUILD)/modules/

# The guests' user-space programs: static aarch64 binaries (rootfs/programs).
programs: setup
	cd rootfs/programs && CARGO_TARGET_DIR=$(CARGO_TARGETS)/programs $(CARGO) build --release

rootfs: setup modules programs
	@scripts/rootfs dom0 $(BUILD)/dom0-rootfs.cpio.gz $(addprefix --bin $(PROGRAMS_DIR)/,$(PROGRAMS)) \
		$(wildcard $(BUILD)/modules/*.ko)
	@scripts/rootfs domU $(BUILD)/domU-rootfs.cpio.gz $(addprefix --bin $(PROGRAMS_DIR)/,$(PROGRAMS)) \
		$(wildcard $(BUILD)/modules/*.ko)

run: all
	scripts/launch

host-test: setup
	cd hypervisor && CARGO_TARGET_DIR=$(CARGO_TARGETS)/host $(CARGO) test

system-test: all
	cd tests && CARGO_TARGET_DIR=$(CARGO_TARGETS)/tests $(CARGO) test -- --test-threads=1

# Coverage-guided fuzzing of the crates that parse guest input, one after the other, with each
# crate's fuzz/run.sh (scripts/lib/fuzz-run: its own cargo workspace, builds in fuzz/target,
# corpus in fuzz/corpus, crashes in fuzz/artifacts, all git-ignored). Stops at the first crash.
FUZZ_SECONDS ?= 30
FUZZ_CRATES := xen-evtchn xen-gnttab xen-hypercall xenstore
# The frontend/backend protocol crates (drivers/protocols/*).
FUZZ_PROTOCOLS := vled kbdif fbif
FUZZ_DIRS := $(addprefix hypervisor/crates/,$(FUZZ_CRATES)) $(addprefix drivers/protocols/,$(FUZZ_PROTOCOLS))

fuzz: setup
	@set -e; for dir in $(FUZZ_DIRS); do \
		echo "fuzz: $${dir##*/}, $(FUZZ_SECONDS) s"; \
		env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR $$dir/fuzz/run.sh '' $(FUZZ_SECONDS); \
	done; echo "fuzz: $(notdir $(FUZZ_DIRS)): no crash in $(FUZZ_SECONDS) s each"

test: all
	@scripts/run-tests

bench: all
	cd tests && CARGO_TARGET_DIR=$(CARGO_TARGETS)/tests $(CARGO) run --release --bin bench

clean:
	rm -rf $(BUILD)
	@. scripts/lib/env.sh && . scripts/lib/toolchain.sh && [ ! -d "$(KERNEL_DIR)" ] || \
		$(MAKE) -C $(KERNEL_DIR) M=$(TOP) "$${KMAKE_VARS[@]}" clean
