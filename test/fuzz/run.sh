#!/bin/sh
# Build and run every libFuzzer target test/fuzz/fuzz_*.c.
#
#   test/fuzz/run.sh SECONDS [TARGET...]
#
# Each target (all of them, or the ones named, e.g. "pattern" or
# "fuzz_pattern") runs for SECONDS with a scratch copy of its seed corpus
# test/fuzz/corpus/<target without fuzz_>/.  Everything is built and written
# under ${MTLS_IDENT_FUZZ_DIR:-${TMPDIR:-/tmp}/mtls_ident_fuzz}, never into
# the source tree.  The pure modules that exist (src/pattern.c and its
# match_*.c, san_index.c, issuer_pin.c; label.c, cert.c, decision.c) go
# into a static library that every target links with -lssl -lcrypto, so
# each target pulls in only what it uses.
#
# A dictionary test/fuzz/fuzz_<target>.dict is used when present.
#
# Exit status: 0 if no target crashed, 1 if one did (the crashing inputs,
# kept under <build>/crashes/, are listed; reproduce with
# <build>/bin/fuzz_X <input>), 2 on a setup or build error.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 SECONDS [TARGET...]" >&2
	exit 2
fi
secs=$1
shift
case $secs in
	''|*[!0-9]*) echo "$0: SECONDS must be a number" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$root/test/fuzz
out=${MTLS_IDENT_FUZZ_DIR:-${TMPDIR:-/tmp}/mtls_ident_fuzz}
CC=${FUZZ_CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -fno-omit-frame-pointer -DMTLS_IDENT_STANDALONE -I$root/src -I$fuzzdir"

mkdir -p "$out/bin" "$out/obj"

# clang with libFuzzer (Debian: libclang-rt-14-dev)
probe() {
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' \
		> "$out/probe.c"
	$CC -fsanitize=fuzzer "$out/probe.c" -o "$out/probe" >/dev/null 2>&1
}
if ! probe; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing clang and libclang-rt-14-dev ..."
		apt-get install -y clang libclang-rt-14-dev >/dev/null
	fi
	if ! probe; then
		echo "$0: $CC cannot build libFuzzer targets; install clang and libclang-rt-14-dev (apt-get install clang libclang-rt-14-dev)" >&2
		exit 2
	fi
fi

# the pure modules, instrumented, in one archive
objs=
for m in pattern pattern_int match_uri match_dns match_email match_ip match_regex san_index \
		issuer_pin label cert cert_serial decision; do
	[ -f "$root/src/$m.c" ] || continue
	$CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$root/src/$m.c" -o "$out/obj/$m.o" || exit 2
	objs="$objs $out/obj/$m.o"
done
rm -f "$out/libmi.a"
ar rcs "$out/libmi.a" $objs

# which targets
targets=
if [ $# -eq 0 ]; then
	for f in "$fuzzdir"/fuzz_*.c; do
		[ -f "$f" ] && targets="$targets $(basename "$f" .c)"
	done
else
	for t in "$@"; do
		t=fuzz_${t#fuzz_}
		t=${t%.c}
		[ -f "$fuzzdir/$t.c" ] || { echo "$0: no target $fuzzdir/$t.c" >&2; exit 2; }
		targets="$targets $t"
	done
fi

status=0
for t in $targets; do
	name=${t#fuzz_}
	$CC $CFLAGS $SAN -fsanitize=fuzzer "$fuzzdir/$t.c" "$out/libmi.a" \
		-lssl -lcrypto -o "$out/bin/$t" || exit 2

	# scratch corpus (fresh each run); crash artifacts kept per run
	work=$out/work/$name
	artifacts=$out/crashes/$name-$(date +%Y%m%d-%H%M%S)
	rm -rf "$work"
	mkdir -p "$work/corpus" "$artifacts"
	if [ -d "$fuzzdir/corpus/$name" ]; then
		cp -R "$fuzzdir/corpus/$name/." "$work/corpus/"
	fi
	dict=
	[ -f "$fuzzdir/$t.dict" ] && dict=-dict=$fuzzdir/$t.dict
	echo "== $t: ${secs}s (log: $work/log)"
	rc=0
	"$out/bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=8192 -print_final_stats=1 $dict \
		-artifact_prefix="$artifacts/" "$work/corpus" \
		> "$work/log" 2>&1 || rc=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/log" | sed 's/^/   /' || true
	if [ $rc -ne 0 ]; then
		status=1
		echo "!! $t failed (exit $rc):"
		grep -E 'ERROR: |SUMMARY: |runtime error' "$work/log" | head -5 | sed 's/^/   /'
		for a in "$artifacts"/*; do
			[ -f "$a" ] && echo "   crashing input: $a"
		done
	else
		rmdir "$artifacts" 2>/dev/null || true
	fi
done
exit $status
