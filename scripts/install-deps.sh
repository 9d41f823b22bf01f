#!/usr/bin/env bash
# Installs everything the project needs to build, run and test, from Debian's archive only.
# Idempotent: re-running it installs nothing new once the packages are present.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev          # libtorch 1.13 (CPU): the model's tensor engine
  libopenblas0-openmp   # BLAS for libtorch; without it Debian falls back to the reference
                        # netlib BLAS (~30x slower). The OpenMP build shares libtorch's thread pool.
  nlohmann-json3-dev    # config.json / safetensors headers
  libsndfile1-dev       # audio decoding (WAV/FLAC/OGG/AIFF...)
  libmpg123-dev         # MP3 decoding (direct: libsndfile cuts VBR files without a Xing header short)
  libsoxr-dev           # resampling to the model's rate (very high quality)
  libgtest-dev          # unit tests
  libfftw3-dev          # FFTs for the teachers (CQT, log-mel, MFCC)
  libgloo-dev           # headers for libtorch's c10d ProcessGroupGloo (multi-process pre-training)
  pybind11-dev python3-dev  # the Python module (import mert)
  libfluidsynth-dev fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small  # mert synth (offline benchmark)
)
TEST_PKGS=(
  python3 python3-numpy python3-pytest
  python3-torch python3-torchaudio   # oracle: independent wav2vec2/HuBERT implementation, MFCC, mel
  python3-sklearn                    # oracle: k-means inertia; ROC-AUC, AP, R2 for mert metrics
  python3-mir-eval                   # oracle: key weighted score (mert metrics key)
  sox lame vorbis-tools flac         # real-world audio cases (tests/cli/test_real_world_audio.sh)
  clang libclang-rt-14-dev           # libFuzzer + ASan/UBSan: scripts/fuzz.sh, scripts/sanitize.sh
)

missing=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
