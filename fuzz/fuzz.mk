# libFuzzer targets for the file readers (issue 10). Include from the main Makefile:
#     include fuzz/fuzz.mk
# `make fuzz` builds with clang (-fsanitize=fuzzer,address,undefined; OpenMP off, since clang
# here has no libomp), seeds the corpora (fuzz/make_corpus.sh) and runs each harness for
# FUZZ_SECONDS. Crashes land in $(FUZZ_BUILD)/artifacts/<target>/; make each a regression
# input under tests/data/fuzz/ (tests/test_fuzz_regressions.c replays them).
FUZZ_SECONDS ?= 60
# FUZZ_RUNS=N: a bounded slice instead (fixed seed, N inputs per harness), as CI runs it. With
# the same corpus and seed the runs explore nearly the same inputs (libFuzzer is not bit-exact
# across runs: coverage differs by a few features), which keeps CI's chance of a random new
# finding small; open-ended exploration is `make fuzz FUZZ_SECONDS=...`.
FUZZ_RUNS ?=
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS) -seed=1,-max_total_time=$(FUZZ_SECONDS))
FUZZ_BUILD ?= build-fuzz
FUZZ_JOBS ?= 2
FUZZ_TARGETS = fuzz_mrc fuzz_star fuzz_cs fuzz_atoms

.PHONY: fuzz fuzz-build fuzz-corpus fuzz-deps

fuzz-deps:
	@bash scripts/install-deps.sh --fuzz

$(FUZZ_BUILD)/CMakeCache.txt: | fuzz-deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCRYOGEN_FUZZ=ON -DCRYOGEN_OPENMP=OFF

fuzz-build: fuzz-deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(FUZZ_JOBS) --target $(FUZZ_TARGETS) fuzz_gen_corpus

fuzz-corpus: fuzz-build
	bash fuzz/make_corpus.sh $(FUZZ_BUILD)

fuzz: fuzz-corpus
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/artifacts/$$t; \
	  echo "== $$t ($(FUZZ_LIMIT))"; \
	  ./$(FUZZ_BUILD)/$$t $(FUZZ_LIMIT) -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $(FUZZ_BUILD)/corpus/$$t || exit 1; \
	done
