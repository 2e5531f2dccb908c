# The front door: `make demo` runs the whole pipeline on the local stack, `make test` runs every
# test. Both install what is missing first, so they work on a fresh Debian machine.
#
#   make demo         the whole pipeline on the local stack, until Ctrl-C
#   make web          the dashboard's page (npm), embedded in the binary by the builds
#   make build        release build in build/ (the CLI is build/ecom)
#   make build-asan   the same with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
#   make stack-up     start Kafka, Redis, FerretDB and HBase on loopback (compose/local/stack)
#   make test         deps, both builds, stack up, then unit + integration tests under ASan/UBSan
#   make bench        benchmarks (bench/), against the local stack
#   make stack-down   stop what stack-up started

BUILD ?= build
ASAN_BUILD ?= build-asan
CTEST_ARGS ?=

.PHONY: deps web build build-asan stack-up stack-down demo test unit bench clean format

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

stack-up: deps
	compose/local/stack up

stack-down:
	compose/local/stack down

demo: build
	scripts/demo

unit: build-asan
	ctest --test-dir $(ASAN_BUILD) -L unit --output-on-failure $(CTEST_ARGS)

test: build build-asan stack-up
	ctest --test-dir $(ASAN_BUILD) --output-on-failure $(CTEST_ARGS)

bench: build stack-up
	bench/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
