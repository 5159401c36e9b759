# Thin wrapper around CMake. The two quick-start targets:
#   make run    install what is missing, build, run wsus-shim on conf/wsus-shim.conf
#   make check  install what is missing, build, run the whole test suite
#               (plain build, then an ASan+UBSan build, then the tests of
#               the worker thread under ThreadSanitizer)
#   make check-win  the Windows cross-build and its tests under Wine
#   make fuzz   every libFuzzer target (clang, build-fuzz), FUZZ_SECONDS each
#   make soak   mixed load through a misbehaving parent for SOAK_SECONDS
#               (default 1800); WSUS_SHIM picks another binary (ASan)
BUILD   ?= build
ASAN    ?= build-asan
TSAN    ?= build-tsan
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CONF    ?= conf/wsus-shim.conf

.PHONY: all deps build run check check-win test test-asan test-tsan lint fuzz bench soak clean

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

# ThreadSanitizer over what shares data with the worker thread (offload.c):
# its unit tests, the cache's, and the integration tests of cache fills.
TSAN_TESTS = ^(test_offload|test_cache|itest_cache_fill|itest_cache_degrade|itest_cache_lengths|itest_faults)$$
test-tsan: deps
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug -DWSUS_TSAN=ON >/dev/null
	cmake --build $(TSAN) -j $(JOBS) --target wsus-shim upstream-emu test_offload test_cache
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --test-dir $(TSAN) --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

check: test test-asan test-tsan

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

# tests/bench/soak.py: exits non-zero when an assertion fails.
SOAK_SECONDS ?= 1800
soak: build
	ulimit -n 8192 2>/dev/null || true; \
	WSUS_SHIM=$${WSUS_SHIM:-$(BUILD)/proxy/wsus-shim} \
	SOAK_SECONDS=$(SOAK_SECONDS) PYTHONDONTWRITEBYTECODE=1 \
	python3 tests/bench/soak.py

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz build-lint
