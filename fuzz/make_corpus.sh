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
# atomic models: small hand-written PDB and mmCIF seeds (the shared ones are added below)
mkdir -p "$OUT/fuzz_atoms"
printf '%s\n' "MODEL        1" \
  "ATOM      1  N   GLY A   1      -6.778  -1.424   4.200  1.00  0.00           N" \
  "ATOM      2  CA AGLY A   1      -6.878  -0.708   2.896  0.50 10.00           C" \
  "ATOM      3  CA BGLY A   1      -6.800  -0.700   2.800  0.50 10.00           C" \
  "HETATM    4 ZN    ZN A   2       5.000   0.000   0.000  1.00 20.00" "ENDMDL" \
  "MODEL        2" "ATOM      1 CD1  LEU     3       1.000   2.000   3.000  1.00  5.00" "ENDMDL" \
  > "$OUT/fuzz_atoms/seed.pdb"
printf '%s\n' "data_x" "loop_" "_atom_site.group_PDB" "_atom_site.type_symbol" "_atom_site.label_atom_id" \
  "_atom_site.label_alt_id" "_atom_site.Cartn_x" "_atom_site.Cartn_y" "_atom_site.Cartn_z" \
  "_atom_site.B_iso_or_equiv" "_atom_site.pdbx_PDB_model_num" \
  "ATOM N N . 1.0 2.0 3.0 10.0 1" "ATOM C 'CA' A 1.5 2.5 3.5 12.0 1" "HETATM FE FE . 0 0 0 20 2" \
  > "$OUT/fuzz_atoms/seed.cif"
# regression inputs kept in the repository
for f in tests/data/fuzz/*; do
    [ -e "$f" ] || continue
    case "$f" in
        *mrc*) cp "$f" "$OUT/fuzz_mrc/" ;;
        *star*) cp "$f" "$OUT/fuzz_star/" ;;
        *cs*|*npy*) cp "$f" "$OUT/fuzz_cs/" ;;
        *pdb*|*cif*) cp "$f" "$OUT/fuzz_atoms/" ;;
    esac
done
DATA=${CG_SHARED_DATA:-../shared/data}
if [ -d "$DATA" ]; then
    find "$DATA" -type f -size -400k \( -name '*.mrc' -o -name '*.mrcs' -o -name '*.map' -o -name '*.ccp4' \) \
        -exec cp {} "$OUT/fuzz_mrc/" \;
    find "$DATA" -type f -size -400k -name '*.star' -exec cp {} "$OUT/fuzz_star/" \;
    find "$DATA" -type f -size -400k -name '*.cs' -exec cp {} "$OUT/fuzz_cs/" \;
    find "$DATA" -type f -size -100k \( -name '*.pdb' -o -name '*.cif' \) -exec cp {} "$OUT/fuzz_atoms/" \;
else
    echo "note: $DATA absent; corpus from generated files only"
fi
for t in mrc star cs atoms; do echo "fuzz_$t: $(ls "$OUT/fuzz_$t" | wc -l) seed files"; done
