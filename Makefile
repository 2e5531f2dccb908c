# The front door: `make demo` runs the whole pipeline on the local stack, `make test` runs every
# test. Both install what is missing first, so they work on a fresh Debian machine.
#
#   make demo         the whole pipeline on the local stack, until Ctrl-C
#   make web          the dashboard's page (npm), embedded in the binary by the builds
#   make build        release build in build/ (the CLI is build/ecom)
#   make build-asan   the same with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
#   make stack-up     start Kafka, Redis, FerretDB and HBase on loopback (compose/local/stack)
#   make test         deps, both builds, stack up, then unit + integration tests under ASan/UBSan,
#                     then every fuzz harness for FUZZ_SECONDS each (build-fuzz/, clang)
#   make fuzz         the libFuzzer harnesses alone, longer: make fuzz FUZZ_SECONDS=600
#   make bench        benchmarks (bench/), against the local stack
#   make stack-down   stop what stack-up started

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
CTEST_ARGS ?=
# two harnesses at a time; a harness that hangs past its time fails instead of stalling
FUZZ_CTEST = FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir $(FUZZ_BUILD) -L fuzz -j2 \
	--output-on-failure --timeout $$(( $(FUZZ_SECONDS) + 120 ))

.PHONY: deps web build build-asan build-fuzz stack-up stack-down demo test unit fuzz bench clean \
	format

deps:
	scripts/install-deps

web: deps
	scripts/build-web

build: deps web
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	ninja -C $(BUILD)

build-asan: deps web
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DECOM_SANITIZE=ON >/dev/null
	ninja -C $(ASAN_BUILD)

build-fuzz: deps web
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DECOM_FUZZ=ON >/dev/null
	ninja -C $(FUZZ_BUILD)

stack-up: deps
	compose/local/stack up

stack-down:
	compose/local/stack down

demo: build
	scripts/demo

unit: build-asan
	ctest --test-dir $(ASAN_BUILD) -L unit --output-on-failure $(CTEST_ARGS)

test: build build-asan build-fuzz stack-up
	ctest --test-dir $(ASAN_BUILD) --output-on-failure $(CTEST_ARGS)
	$(FUZZ_CTEST)

fuzz: build-fuzz
	$(FUZZ_CTEST)

bench: build stack-up
	bench/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
