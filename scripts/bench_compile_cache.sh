#!/bin/bash
# JAX's persistent compilation cache for the test session (issue 26; the numbers in
# tests/conftest.py and docs/usage.md): the same 57 compile-heavy tests, serial, run without a
# cache, with a fresh one, and warm from a previous run, at minimum compile times 0.5 s and 0.
# Run it alone on the machine (about 12 minutes on 2 cores):  bash scripts/bench_compile_cache.sh
cd "$(dirname "$0")/.."
FILES="tests/test_step.py tests/test_penalties.py tests/test_models_sequence.py tests/test_r3gan.py
  tests/test_sampling.py tests/test_conditional.py tests/test_augment.py"
TMP=$(mktemp -d)
run() {
  local name=$1; shift
  local t0=$(date +%s.%N)
  env "$@" JAX_PLATFORMS=cpu .venv/bin/python -m pytest -q $FILES -m 'not slow' \
    -p no:cacheprovider -p no:xdist > "$TMP/$name.log" 2>&1
  echo "$name $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-6) s: $(tail -1 "$TMP/$name.log")"
}
run none JAX_ENABLE_COMPILATION_CACHE=false JAX_COMPILATION_CACHE_DIR="$TMP/unused"
run fresh_0.5s JAX_COMPILATION_CACHE_DIR="$TMP/a" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0.5
run warm_0.5s JAX_COMPILATION_CACHE_DIR="$TMP/a" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0.5
run fresh_0s JAX_COMPILATION_CACHE_DIR="$TMP/b" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
run warm_0s JAX_COMPILATION_CACHE_DIR="$TMP/b" JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
du -sh "$TMP/a" "$TMP/b"
rm -rf "$TMP"
