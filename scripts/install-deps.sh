#!/usr/bin/env bash
# Install the Debian packages cryogen needs to build and test, only those missing.
# Uses sudo when not root. Safe to run repeatedly.
set -euo pipefail
BUILD_PKGS="build-essential cmake pkg-config git libfftw3-dev libopenblas-dev libomp-dev"
# Independent peers and reference-data generators used by tests (optional at run time,
# tests skip with a reason when absent): RELION, gemmi, NumPy, mrcfile, PyTorch.
TEST_PKGS="relion gemmi python3 python3-numpy python3-mrcfile python3-torch python3-gemmi"
want="$BUILD_PKGS"
# libFuzzer: clang and its runtime (make fuzz, issue 10).
FUZZ_PKGS="clang libclang-rt-14-dev"
if [ "${1:-}" = "--test" ]; then want="$want $TEST_PKGS"; fi
if [ "${1:-}" = "--fuzz" ]; then want="$want $FUZZ_PKGS"; fi
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then exit 0; fi
echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
