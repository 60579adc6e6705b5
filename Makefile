# Thin wrapper over CMake/CTest. `make demo` and `make test` are the README's quick start.
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps test-deps build demo test check-asan check-noomp bench clean

all: build

deps:
	@bash scripts/install-deps.sh

test-deps:
	@bash scripts/install-deps.sh --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/cryogen demo --out demo-out

test: test-deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Whole suite under AddressSanitizer + UBSan, and without OpenMP (issue 10).
# Sanitizer build at -O1 with debug info: fast enough to run the whole suite in CI.
check-asan: test-deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCRYOGEN_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

check-noomp: test-deps
	cmake -S . -B build-noomp -DCMAKE_BUILD_TYPE=Release -DCRYOGEN_OPENMP=OFF
	cmake --build build-noomp -j $(JOBS)
	cd build-noomp && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan build-noomp build-fuzz

include fuzz/fuzz.mk
