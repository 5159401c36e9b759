# Thin wrapper around CMake. The two quick-start targets:
#   make run    install what is missing, build, run wsus-shim on conf/wsus-shim.conf
#   make check  install what is missing, build, run the whole test suite
#               (plain build, then an ASan+UBSan build)
#   make check-win  the Windows cross-build and its tests under Wine
#   make fuzz   every libFuzzer target (clang, build-fuzz), FUZZ_SECONDS each
BUILD   ?= build
ASAN    ?= build-asan
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CONF    ?= conf/wsus-shim.conf

.PHONY: all deps build run check check-win test test-asan lint fuzz bench clean

all: build

deps:
	@tools/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/proxy/wsus-shim -c $(CONF)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DWSUS_SANITIZE=ON >/dev/null
	cmake --build $(ASAN) -j $(JOBS)
	ctest --test-dir $(ASAN) --output-on-failure -j $(JOBS)

check: test test-asan

# Cross-build for Windows with mingw-w64 and run the unit tests under Wine.
check-win: deps
	tools/win/build.sh

# cppcheck and clang-tidy (.clang-tidy) at zero findings, clang-format on
# every C file (tools/lint.sh).
lint: deps
	tools/lint.sh

# Build the libFuzzer targets with clang and run each for FUZZ_SECONDS
# (default 60) over its corpus; non-zero on any crash, leak or sanitizer
# report (tools/fuzz.sh).
fuzz: deps
	tools/fuzz.sh

bench: build
	tests/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz build-lint
