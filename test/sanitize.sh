#!/usr/bin/env bash
# The TAP suite against mtls_ident built with a sanitizer in the server.
#
#     bash test/sanitize.sh            # UBSan (the default; what CI runs)
#     SANITIZE=address bash test/sanitize.sh
#
# Builds the extension instrumented in a scratch copy, installs it, and runs
# every TAP test with the server (and only the server: a pg_ctl wrapper
# first on PATH) writing sanitizer reports to a directory; any report fails
# the run and is printed.  The normal build is installed again at the end,
# whatever happens.  test/run.sh calls this; it also works on its own.
#
# Why UBSan and not ASan in the server: on Debian 12 the ASan runtime has
# to be preloaded into postgres, and any program linked with libgnutls
# (postgres is, through libldap) then deadlocks on glibc's locale lock in
# libp11-kit's constructor/destructor -- `postgres -V` never returns
# (doc/testing.md).  SANITIZE=address is kept for machines without that
# problem.  ASan and UBSan both run on the pure modules (cert, pattern,
# label, decision, serialization) in the unit tests and the fuzz targets.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib/common.sh

install_packages

kind=${SANITIZE:-undefined}
case $kind in
	undefined)
		san='-fsanitize=undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined'
		runtime=libubsan
		preload= ;;
	address)
		san='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined'
		runtime=libasan
		preload=$(gcc -print-file-name=libasan.so) ;;
	*) echo "sanitize: SANITIZE is undefined or address" >&2; exit 2 ;;
esac

work=$(scratch_copy "$top")
reports=$work/sanitizer-reports
wrap=$work/sanitize-bin
restore() {
	say "sanitize: installing the normal build again"
	build_and_install
	rm -rf "$work"
}
trap restore EXIT

say "sanitize: building with $san"
as_runas make -s -C "$work" PG_CONFIG=$PG_CONFIG COPT="$san" >/dev/null
( cd "$work" && $SUDO make -s PG_CONFIG=$PG_CONFIG COPT="$san" install >/dev/null )
ldd /usr/lib/postgresql/$PGVER/lib/mtls_ident.so | grep -q $runtime \
	|| { echo "sanitize: the installed module is not instrumented" >&2; exit 2; }

as_runas mkdir -p "$reports" "$wrap"
cat > "$wrap/pg_ctl.tmp" <<WRAP
#!/bin/sh
# the server, and only the server, runs with the sanitizer settings
${preload:+export LD_PRELOAD=$preload}
export ASAN_OPTIONS=detect_leaks=0:log_path=$reports/asan:halt_on_error=1:disable_coredump=1
export UBSAN_OPTIONS=print_stacktrace=1:log_path=$reports/ubsan:halt_on_error=1
exec $PGBIN/pg_ctl "\$@"
WRAP
chmod 755 "$wrap/pg_ctl.tmp"
[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$wrap/pg_ctl.tmp"
mv "$wrap/pg_ctl.tmp" "$wrap/pg_ctl"

# the runtime really is in the server: a throwaway cluster, its maps
say "sanitize: checking that the server loads the instrumented module"
probe=$work/probe
as_runas initdb -D "$probe" -A trust >/dev/null
as_runas sh -c "echo \"shared_preload_libraries = 'mtls_ident'\nlisten_addresses = ''\nunix_socket_directories = '$work'\nport = 54399\" >> '$probe/postgresql.conf'"
as_runas env PATH="$wrap:$PGBIN:$PATH" pg_ctl -D "$probe" -l "$work/probe.log" -w start >/dev/null
pm=$(head -1 "$probe/postmaster.pid")
if grep -q $runtime "/proc/$pm/maps" && grep -q mtls_ident.so "/proc/$pm/maps"; then
	echo "sanitize: postmaster $pm runs with $runtime and the instrumented mtls_ident.so"
else
	echo "sanitize: the server does not run with the sanitizer" >&2
	as_runas pg_ctl -D "$probe" -m immediate stop >/dev/null || true
	exit 2
fi
as_runas pg_ctl -D "$probe" -m fast stop >/dev/null

say "sanitize: TAP suite"
status=0
if ( cd "$work" && as_runas env PATH="$wrap:$PGBIN:$PATH" \
	PG_REGRESS=/usr/lib/postgresql/$PGVER/lib/pgxs/src/test/regress/pg_regress \
	prove --timer -I /usr/lib/postgresql/$PGVER/lib/pgxs/src/test/perl -I test/t test/t/*.pl ); then
	:
else
	status=1
fi

# reports land in log_path files or, for the UBSan runtime, on the server's
# stderr: look in both
pattern='runtime error:|ERROR: AddressSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
found=$(grep -l -E "$pattern" "$work"/tmp_check/log/*.log 2>/dev/null || true)
if ls "$reports"/* >/dev/null 2>&1 || [ -n "$found" ]; then
	echo "sanitize: REPORTS FOUND"
	for f in "$reports"/*; do
		[ -f "$f" ] || continue
		echo "---- $f"
		head -60 "$f"
	done
	for f in $found; do
		echo "---- $f"
		grep -E -A 12 "$pattern" "$f" | head -60
	done
	status=1
else
	echo "sanitize: no sanitizer report"
fi
exit $status
