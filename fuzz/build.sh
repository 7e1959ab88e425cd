#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang: the product's sources (every .c given
# that is not a fuzz_*.c) once into an archive with coverage, ASan and UBSan, then each
# fuzz_<name>.c linked against it and libFuzzer into OUT/fuzz_<name>. Called by the
# //fuzz:fuzzers genrule: build.sh OUT GENDIR SOURCES...
set -euo pipefail
out=$1
gendir=$2
shift 2
CC=${CC_FUZZ:-clang}
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer "${san[@]}"
        -I. -I"$gendir" -I"$gendir/proto")
libs=(-lnng -lmbedtls -lmbedx509 -lmbedcrypto -lprotobuf-c -llmdb -lxxhash -ljansson -lzip -lzstd
      -lpthread)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

objs=()
fuzzers=()
pids=()
for src in "$@"; do
	case "$src" in
	*.h) continue ;;
	*/fuzz/fuzz_*.c|fuzz/fuzz_*.c) fuzzers+=("$src"); continue ;;
	esac
	obj="$work/$(echo "$src" | tr / _).o"
	objs+=("$obj")
	case "$src" in
	*.pb-c.c) warn=(-w) ;;
	*) warn=(-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers) ;;
	esac
	"$CC" "${cflags[@]}" "${warn[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" &
	pids+=($!)
	if [ ${#pids[@]} -ge 2 ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do wait "$p"; done
ar rcs "$work/libcsb.a" "${objs[@]}"
for src in "${fuzzers[@]}"; do
	name=$(basename "$src" .c)
	"$CC" "${cflags[@]}" -Wall -Wextra -Werror -fsanitize=fuzzer "$src" "$work/libcsb.a" \
		"${libs[@]}" -o "$out/$name"
done
