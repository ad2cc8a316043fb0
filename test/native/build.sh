#!/usr/bin/env bash
# Builds and runs the native image tests in our sanitizer configuration
# (g++ -fsanitize=address,undefined -Wall -Wextra -Werror). Exits non-zero on any failure.
#
#   test/native/build.sh                 build + unit tests + 10 s of fuzzing
#   AMBER_FUZZ_SECONDS=60 test/native/build.sh
#   AMBER_NATIVE_TEST_OUT=/tmp/x test/native/build.sh   (default: build-native-test/ in the repo)
#
# Steps:
#   1. validate.h is freestanding: compiled with the restorer's flags at -O0 and -O2, the only
#      undefined symbols allowed are memcpy/memset/memcmp/memmove (which the restorer provides).
#   2. reader.cc compiles warning-free at -O2 (the addon's optimisation level; some GCC
#      warnings only appear there).
#   3. unit tests (test_image) under ASan+UBSan.
#   4. fuzz driver (fuzz_reader.cc + fuzz_driver.cc) under ASan+UBSan for AMBER_FUZZ_SECONDS.
#   Also builds mkimage (synthetic image writer CLI for addon/CLI tests) into the output dir.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${AMBER_NATIVE_TEST_OUT:-$ROOT/build-native-test}"
CXX="${CXX:-g++}"
FUZZ_SECONDS="${AMBER_FUZZ_SECONDS:-10}"
mkdir -p "$OUT"

INC=(-I"$ROOT/test/native")
while IFS= read -r d; do
  case $d in /*) INC+=(-I"$d") ;; *) INC+=(-I"$ROOT/$d") ;; esac
done < <(cd "$ROOT" && node scripts/native-build.cjs include)
WARN=(-Wall -Wextra -Werror)
SAN=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all)
N="$ROOT/test/native"
READER="$ROOT/src-native/image/reader.cc"

step() { printf '== %s\n' "$*"; }

step "validate.h freestanding check"
cat > "$OUT/freestanding.cc" <<'EOF'
// Instantiates every validate.h entry point the way the restorer would.
#include "image/validate.h"
extern "C" int amber_fs_probe(const void* page, uint64_t size, const void* meta, const void* tr,
                              const void* bytes, amber_trailer* out) {
  amber_err e;
  amber_view v;
  if (!amber_check_header(page, size, &e)) return e.code;
  const amber_header* h = (const amber_header*)page;
  if (!amber_parse_meta(h, meta, h->meta_size, &v, &e)) return e.code;
  if (!amber_check_trailer(h, tr, &v, &e)) return e.code;
  if (v.nchunks && !amber_check_chunk(&v.chunks[0], bytes, &e)) return e.code;
  const char* p; uint32_t n;
  if (!amber_str_at(&v, v.proc->cwd, &p, &n)) return -1;
  const void* b; uint64_t bl;
  if (v.nplugins && !amber_plugin_at(&v, 0, &p, &n, &b, &bl)) return -1;
  amber_image_hasher ih;
  amber_image_xxh_begin(&ih, amber_header_xxh(h), amber_meta_xxh(meta, h->meta_size));
  amber_image_xxh_add(&ih, amber_chunk_xxh(bytes, 4096));
  amber_trailer_init(out, size, amber_image_xxh_end(&ih), 1);
  return 0;
}
EOF
for opt in -O0 -O2; do
  "$CXX" -std=c++20 "$opt" -fPIE -ffreestanding -fno-stack-protector -fno-builtin -fno-exceptions \
    -fno-rtti -fno-asynchronous-unwind-tables -fvisibility=hidden "${WARN[@]}" "${INC[@]}" \
    -c "$OUT/freestanding.cc" -o "$OUT/freestanding$opt.o"
  undef="$(nm -u "$OUT/freestanding$opt.o" | awk '{print $2}' | grep -vxE 'memcpy|memset|memcmp|memmove' || true)"
  if [ -n "$undef" ]; then
    echo "validate.h ($opt) needs symbols a freestanding restorer does not have:" $undef >&2
    exit 1
  fi
done

step "reader.cc -O2 warnings"
"$CXX" -std=c++20 -O2 "${WARN[@]}" -Wno-missing-field-initializers "${INC[@]}" -c "$READER" -o "$OUT/reader-O2.o"

step "build (ASan+UBSan)"
"$CXX" "${SAN[@]}" "${WARN[@]}" "${INC[@]}" "$N/test_image.cc" "$N/mkimage.cc" "$READER" -o "$OUT/test_image"
"$CXX" "${SAN[@]}" "${WARN[@]}" "${INC[@]}" "$N/fuzz_reader.cc" "$N/fuzz_driver.cc" "$N/mkimage.cc" "$READER" \
  -o "$OUT/fuzz_reader"
"$CXX" -std=c++20 -O1 -g "${WARN[@]}" "${INC[@]}" "$N/mkimage_cli.cc" "$N/mkimage.cc" -o "$OUT/mkimage"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

step "unit tests"
(cd "$OUT" && TMPDIR="$OUT" ./test_image)

step "fuzz ${FUZZ_SECONDS}s"
(cd "$OUT" && ./fuzz_reader -seconds="$FUZZ_SECONDS")

step "all native image tests passed"
