#!/bin/bash
# Seed corpora for the fuzzers: files written by the project (fuzz_gen_corpus) plus, when
# present, the third-party files in ../shared/data (copied into the BUILD directory only,
# never into the repository). Inputs above 400 kB are left out to keep the fuzzers fast.
# usage: fuzz/make_corpus.sh BUILD_DIR
set -eu
BUILD=${1:?usage: make_corpus.sh BUILD_DIR}
OUT=$BUILD/corpus
mkdir -p "$OUT"
"$BUILD/fuzz_gen_corpus" "$OUT/gen"
for t in mrc star cs; do
    mkdir -p "$OUT/fuzz_$t"
    cp "$OUT/gen/$t"/* "$OUT/fuzz_$t/"
done
# regression inputs kept in the repository
for f in tests/data/fuzz/*; do
    [ -e "$f" ] || continue
    case "$f" in
        *mrc*) cp "$f" "$OUT/fuzz_mrc/" ;;
        *star*) cp "$f" "$OUT/fuzz_star/" ;;
        *cs*|*npy*) cp "$f" "$OUT/fuzz_cs/" ;;
    esac
done
DATA=${CG_SHARED_DATA:-../shared/data}
if [ -d "$DATA" ]; then
    find "$DATA" -type f -size -400k \( -name '*.mrc' -o -name '*.mrcs' -o -name '*.map' -o -name '*.ccp4' \) \
        -exec cp {} "$OUT/fuzz_mrc/" \;
    find "$DATA" -type f -size -400k -name '*.star' -exec cp {} "$OUT/fuzz_star/" \;
    find "$DATA" -type f -size -400k -name '*.cs' -exec cp {} "$OUT/fuzz_cs/" \;
else
    echo "note: $DATA absent; corpus from generated files only"
fi
for t in mrc star cs; do echo "fuzz_$t: $(ls "$OUT/fuzz_$t" | wc -l) seed files"; done
