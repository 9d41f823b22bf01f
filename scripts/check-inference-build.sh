#!/usr/bin/env bash
# An inference-only libmert (core + teachers: embed, features, the Python module; no
# pre-training, probes or synthesis) configures and builds without FluidSynth and without any
# Gloo header. How it checks, on a machine that has both installed:
#   - pkg-config sees no fluidsynth: PKG_CONFIG_LIBDIR points at a copy of the system's .pc
#     files without fluidsynth.pc, so a find of it anywhere in the build would fail configure;
#   - after the build, the compiler's dependency records (ninja -t deps) list every header each
#     object read: none may be a FluidSynth or Gloo header (or libtorch's c10d, which pulls Gloo);
#   - the `mert` binary links no libfluidsynth and offers no pretrain/synth/probe command.
# Usage: scripts/check-inference-build.sh [build dir]   (default build-inference; ~4 min, 2 cores)
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${1:-$HERE/build-inference}")
PC=$OUT/pkgconfig-without-fluidsynth
mkdir -p "$PC"
for d in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
  [[ -d $d ]] && find "$d" -maxdepth 1 -name '*.pc' ! -name 'fluidsynth.pc' -exec cp -n {} "$PC/" \;
done
if PKG_CONFIG_LIBDIR=$PC pkg-config --exists fluidsynth; then echo "FAIL fluidsynth still visible"; exit 1; fi
PKG_CONFIG_LIBDIR=$PC cmake -S "$HERE" -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMERT_BUILD_TRAIN=OFF -DMERT_BUILD_SYNTH=OFF -DMERT_BUILD_EVAL=OFF -DBUILD_TESTING=OFF > "$OUT/configure.log"
echo "ok   configured without FluidSynth visible to pkg-config ($OUT/configure.log)"
ninja -C "$OUT" > "$OUT/build.log" || { tail -30 "$OUT/build.log"; exit 1; }
echo "ok   built: $(cd "$OUT" && ls libmert_*.a mert python/*.so 2>/dev/null | tr '\n' ' ')"
headers=$(ninja -C "$OUT" -t deps | grep -Ec '^\s+/' || true)
bad=$(ninja -C "$OUT" -t deps | grep -E '^\s+/' | grep -Ei 'fluidsynth|/gloo/|c10d' | sort -u || true)
if [[ -n $bad ]]; then echo "FAIL objects read these headers:"; echo "$bad" | head; exit 1; fi
echo "ok   $headers header reads recorded, none from FluidSynth, Gloo or c10d"
if ldd "$OUT/mert" | grep -qi fluidsynth; then echo "FAIL mert links libfluidsynth"; exit 1; fi
cmds=$("$OUT/mert" --help | awk '/^commands:/{f=1;next} f&&!NF{exit} f{print $1}' | tr '\n' ' ')
for c in pretrain synth probe; do [[ " $cmds" != *" $c "* ]] || { echo "FAIL '$c' offered"; exit 1; }; done
echo "ok   mert links no libfluidsynth; commands: $cmds"
