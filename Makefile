# hull: the two commands a fresh Debian 12 machine (as root) needs are
#   make demo    build hull-runtime and run a container showing its isolation
#   make check   build, then unit + sanitizer + format + integration tests
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
CLANG_FORMAT ?= clang-format
export BUILD ASAN_BUILD

FORMAT_DIRS := src tests bench
format_files = $(shell find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort) \
	       $(wildcard *.c *.h)

.PHONY: all deps build demo check format format-check clean guest-kernel

all: build

deps:
	scripts/install-deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	ninja -C $(BUILD)

demo: build
	scripts/demo.sh

check: build
	scripts/check.sh

# hull's small guest kernel for micro-VMs (docs/vm.md): cached under
# /var/cache/hull/guest-kernel/, rebuilt only when vm/guest-kernel.config changes
guest-kernel: deps
	scripts/guest-kernel.sh

format:
	$(CLANG_FORMAT) -i $(format_files)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(format_files)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
