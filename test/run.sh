#!/usr/bin/env bash
# The whole test suite, on every supported PostgreSQL major:
#
#     bash test/run.sh                  # the matrix: 15, 17, 18, 19
#     PG_MAJOR=18 bash test/run.sh      # one major
#
# Each major is a leg.  The distribution's own major (15 on Debian 12, 17
# on Debian 13) runs here; every other one runs inside a minimal chroot of
# the Debian release that ships it (test/chroot/: 17 trixie, 18 forky,
# 19 sid + experimental, 15 bookworm), built from nothing on the first run
# and cached, where the very same "bash test/run.sh" runs as it would on a
# fresh machine of that release.  The chroots are built while the first leg
# runs.  Each leg ends with a "pgNN subtotal: N passed / M failed" line,
# and the run with one line "total: N passed, M failed" over all majors.
#
# One leg (a single major; also what runs inside a chroot, or with
# MTLS_MATRIX=0): installs what is missing (apt-get), builds and installs
# the extension, then runs, as an unprivileged user: the unit tests of the
# pure modules, the pg_regress tests, the TAP tests (real TLS connections
# with real certificates), the TAP tests again against an ASan+UBSan build
# of the module (the ASan runtime preloaded into Debian's postgres), and
# each fuzz target briefly.  Ends with one line "total: N passed, M failed".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# the matrix, unless one leg is asked for or this is already inside a chroot
if [ "${MTLS_MATRIX:-1}" != 0 ] && ! ischroot 2>/dev/null; then
	exec bash "$top/test/chroot/matrix.sh"
fi

. test/lib/common.sh

install_packages clang
clang_major=$(clang -dumpversion | cut -d. -f1)
install_packages "libclang-rt-$clang_major-dev"
# from clean, so that every file is compiled and its warnings seen
make -s PG_CONFIG=$PG_CONFIG clean >/dev/null
BUILD_LOG=$(mktemp "${TMPDIR:-/tmp}/mtls_ident_build.XXXXXX")
build_and_install

work=$(scratch_copy "$top")
trap 'rm -rf "$work" "$BUILD_LOG"' EXIT
logdir=$work/test-logs
as_runas mkdir -p "$logdir"

passed=0
failed=0
status=0

# the build is warning-free with PGXS's flags (counts as one test)
if grep -q 'warning:' "$BUILD_LOG"; then
	echo "build: compiler warnings (above)"
	failed=$((failed + 1))
	status=1
else
	echo "build: no compiler warning"
	passed=$((passed + 1))
fi

# every module only uses modules below it (counts as one test)
if perl "$top/test/check_layers.pl" "$top/src"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	status=1
fi

# prove summary: "Files=3, Tests=120, ..." and "Failed 2/40 subtests"
count_prove() {
	local log=$1 t f
	t=$( (grep -Eo 'Tests=[0-9]+' "$log" || true) | tail -1 | cut -d= -f2)
	f=$( (grep -Eo 'Failed [0-9]+/[0-9]+ subtests' "$log" || true) | awk '{split($2,a,"/"); s+=a[1]} END {print s+0}')
	t=${t:-0}
	passed=$((passed + t - f))
	failed=$((failed + f))
}

say "unit tests (pure modules)"
if as_runas make -C "$work" unit 2>&1 | tee "$logdir/unit.log"; then :; else status=1; fi
count_prove "$logdir/unit.log"

# MTLS_TAP_PLAIN=0 (the matrix's 18 and 19 legs, to fit its time budget):
# the TAP files run once, under ASan+UBSan below, not also against the plain
# build; pg_regress still runs against the plain build
say "pg_regress and TAP tests"
tap_opt=
[ "${MTLS_TAP_PLAIN:-1}" = 0 ] && tap_opt="TAP_TESTS="
if as_runas make -C "$work" PG_CONFIG=$PG_CONFIG $tap_opt installcheck PROVE_FLAGS="-I $work/test/t --timer" 2>&1 | tee "$logdir/installcheck.log"; then :; else status=1; fi
r=$( (grep -Eo 'All [0-9]+ tests passed' "$logdir/installcheck.log" || true) | awk '{print $2}' | tail -1)
rf=$( (grep -Eo '[0-9]+ of [0-9]+ tests failed' "$logdir/installcheck.log" || true) | awk '{print $1" "$3}' | tail -1)
if [ -n "$r" ]; then passed=$((passed + r)); fi
if [ -n "$rf" ]; then set -- $rf; failed=$((failed + $1)); passed=$((passed + $2 - $1)); fi
count_prove "$logdir/installcheck.log"

say "TAP suite again, the server running mtls_ident built with ASan and UBSan (test/sanitize.sh)"
if SANITIZE=address bash "$top/test/sanitize.sh" 2>&1 | tee "$logdir/sanitize.log"; then :; else status=1; fi
count_prove "$logdir/sanitize.log"
if grep -q "sanitize: REPORTS FOUND" "$logdir/sanitize.log"; then
	failed=$((failed + 1))
fi

# the fuzz targets are the pure modules, the same code on every major:
# MTLS_FUZZ=0 (the matrix's 18 and 19 legs) leaves them to the others
if [ "${MTLS_FUZZ:-1}" = 0 ]; then
	echo "fuzz smoke: not in this leg (MTLS_FUZZ=0)"
else
	say "fuzz smoke: every libFuzzer target for ${FUZZ_SECONDS:=15} s"
	if as_runas env MTLS_IDENT_FUZZ_DIR="$work/fuzz-build" bash "$work/test/fuzz/run.sh" "$FUZZ_SECONDS" 2>&1 | tee "$logdir/fuzz.log"; then
		echo "fuzz smoke: no crash"
	else
		echo "fuzz smoke: FAILED"
		status=1
		failed=$((failed + 1))
	fi
fi

if [ $status -ne 0 ]; then
	for f in "$work"/regression.diffs; do [ -f "$f" ] && cat "$f"; done
	for f in "$work"/tmp_check/log/*; do
		[ -f "$f" ] || continue
		echo "---- $f (last 60 lines)"
		tail -60 "$f"
	done
	[ $failed -eq 0 ] && failed=1
fi

echo
echo "total: $passed passed, $failed failed"
exit $status
