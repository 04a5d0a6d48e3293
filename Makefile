# Kiln: two commands on a fresh Debian bookworm machine.
#   make demo   installs what is missing, builds, runs the quickstart
#   make test   installs what is missing, builds, runs every test
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
MAKEFLAGS += --no-print-directory

.PHONY: all bootstrap build test demo bench clean format

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > /dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	@scripts/test

demo: build
	@scripts/demo

bench: build
	@KILN_BOOTSTRAP_BENCH=1 scripts/bootstrap
	@bench/run

format:
	@find src -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
