# SPDX-License-Identifier: GPL-2.0
#
# kernel-ext build glue: generates, inside the including module's directory, the bindings the
# kernel crate lacks and the C object that carries the static inline functions they need.
#
# A module's Kbuild uses it like this (see drivers/sp6/Kbuild):
#
#   obj-m := foo.o
#   foo-y := foo_main.o kext_static.o     # Rust crate root + generated C shims
#   include $(src)/../kernel-ext/kext.mk
#
# and its crate root includes the Rust side with
#
#   #[path = "../kernel-ext/mod.rs"]
#   pub mod kext;
#
# What is bound is listed in kernel-ext/bindings_helper.h (headers) and
# kernel-ext/bindgen_parameters (--allowlist-file patterns and such). bindgen runs with the
# kernel's own C flags and the kernel's own bindgen parameters, so layouts match the kernel's
# build exactly; --no-recursive-allowlist keeps types the kernel crate already has (struct device,
# struct mutex, ...) out of the output, and the generated module imports `kernel::bindings::*`
# so those stay the very same Rust types. --wrap-static-fns turns every static inline function
# of the bound headers into a one-line C wrapper (kext_static.c, compiled into the module).

kext-src := $(abspath $(src)/../kernel-ext)
kext-gen-rs := $(obj)/kext_bindings_generated.rs
kext-gen-c := $(obj)/kext_static.c

targets += kext_bindings_generated.rs kext_static.c
clean-files += kext_bindings_generated.rs kext_static.c

# Same invocation as the kernel's own bindings (rust/Makefile, cmd_bindgen), plus our allowlist.
kext_bindgen_flags = --rust-target 1.85 --use-core --with-derive-default --ctypes-prefix ffi \
	--no-layout-tests --no-debug '.*' --enable-function-attribute-detection \
	$(shell grep -Ev '^#|^$$' $(srctree)/rust/bindgen_parameters) \
	$(shell grep -Ev '^#|^$$' $(kext-src)/bindgen_parameters) \
	--no-recursive-allowlist \
	--wrap-static-fns --wrap-static-fns-path $(abspath $(basename $(kext-gen-c)))

kext_bindgen_c_flags = $(c_flags) -fno-builtin -D__BINDGEN__ -DMODULE

quiet_cmd_kext_bindgen = BINDGEN $(quiet_modtag) $@
      cmd_kext_bindgen = \
	$(BINDGEN) $< $(kext_bindgen_flags) -o $@ -- $(kext_bindgen_c_flags) && \
	sed -Ei 's/pub const KEXT_CONST_([a-zA-Z0-9_]*)/pub const \1/g' $@

$(kext-gen-rs): $(kext-src)/bindings_helper.h $(kext-src)/bindgen_parameters FORCE
	$(call if_changed_dep,kext_bindgen)

# bindgen writes the C wrappers in the same run.
$(kext-gen-c): $(kext-gen-rs)
	@test -f $@ || { echo "kext: bindgen did not write $@" >&2; exit 1; }

# The wrappers are generated one-liners without prototypes.
CFLAGS_kext_static.o += -Wno-missing-prototypes -Wno-missing-declarations

# Every Rust object of the module finds the generated bindings through this variable
# (kernel-ext/bindings.rs includes "$KEXT_GEN_DIR/kext_bindings_generated.rs").
rustflags-y += --env-set KEXT_GEN_DIR=$(abspath $(obj))
$(addprefix $(obj)/,$(patsubst %.rs,%.o,$(notdir $(wildcard $(src)/*.rs)))): $(kext-gen-rs)
