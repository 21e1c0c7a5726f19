#!/usr/bin/env bash
# The TAP suite against mtls_ident built with a sanitizer, in Debian's own
# postgres server.
#
#     bash test/sanitize.sh                    # UBSan alone (the default)
#     SANITIZE=address bash test/sanitize.sh   # ASan + UBSan, the ASan runtime preloaded (what test/run.sh runs)
#     SANITIZE_KEEP=1 ...                      # keep the scratch directory
#     SANITIZE_TESTS="test/t/010_login.pl" ... # only these TAP files
#     SANITIZE=none ...                        # no sanitizer: this tree's plain
#                                              # build, nothing installed (for
#                                              # developers running TAP files
#                                              # side by side)
#     SANITIZE_REGRESS=1 ...                   # also the pg_regress tests
#     SANITIZE_TESTS=none ...                  # no TAP file
#
# Builds the extension instrumented in a scratch copy of the tree and runs
# every TAP test against it, without installing anything: the server runs
# from a private overlay of the PostgreSQL installation in the scratch
# directory (copies of the programs in bin/ -- PostgreSQL finds its library
# and share directories relative to the running program -- and a lib/ and a
# share/ made of symbolic links to the installed files, except mtls_ident's
# library, control file and SQL script, which come from the instrumented
# build).  The overlay's bin/ is first on PATH for prove, so initdb, pg_ctl,
# postgres and pg_config are the overlay's.  The server, and only the server
# (a pg_ctl wrapper first on PATH), runs with the sanitizer settings and
# writes reports to a directory.  Before the TAP files, a throwaway cluster
# shows that the postmaster's own maps hold the sanitizer runtime and the
# overlay's instrumented mtls_ident.so.  Any report -- in that directory or
# in a server log -- fails the run and is printed.
#
# ASan: the runtime must be preloaded into postgres (LD_PRELOAD), together
# with test/sanitize/asan_initfirst.c (built here with -z initfirst), which
# initializes the runtime before any library's constructor.  Without it
# postgres deadlocks at startup: libgpg-error's constructor calls
# bindtextdomain(), whose malloc() initializes ASan under glibc's gettext
# lock, and ASan's initialization takes that lock again (the source file
# and doc/testing.md explain it).  Runs as a normal user, or as root (the
# clusters then run as postgres).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib/common.sh

install_packages
started=$(date +%s)

kind=${SANITIZE:-undefined}
case $kind in
	undefined)
		san='-fsanitize=undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined'
		runtime=libubsan ;;
	none)
		san=''
		runtime=mtls_ident ;;
	address)
		san='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined'
		runtime=libasan
		libasan=$(gcc -print-file-name=libasan.so)
		[ -e "$libasan" ] || { echo "sanitize: no ASan runtime ($libasan)" >&2; exit 2; } ;;
	*) echo "sanitize: SANITIZE is undefined, address or none" >&2; exit 2 ;;
esac

work=$(scratch_copy "$top")
reports=$work/sanitizer-reports
wrap=$work/sanitize-bin
ov=$work/pginst
probe=$work/probe
libdir=$($PG_CONFIG --pkglibdir)
sharedir=$($PG_CONFIG --sharedir)
ovbin=$ov$PGBIN
cleanup() {
	set +e
	[ -f "$probe/postmaster.pid" ] && as_runas "$ovbin/pg_ctl" -D "$probe" -m immediate stop >/dev/null 2>&1
	if [ "${SANITIZE_KEEP:-0}" = 1 ]; then
		echo "sanitize: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

say "sanitize: building with $san"
as_runas make -s -C "$work" PG_CONFIG=$PG_CONFIG COPT="$san" >/dev/null
# (not "ldd | grep -q": with pipefail, grep's early exit can fail the pipe)
[ "$kind" = none ] || case $(ldd "$work/mtls_ident.so") in
	*"$runtime"*) ;;
	*) echo "sanitize: the build is not instrumented" >&2; exit 2 ;;
esac

say "sanitize: private overlay of the PostgreSQL installation in $ov"
# Nothing is written outside $work.  Symbolic links to directories are
# never written through: lib/bitcode/ is a directory of its own (without
# mtls_ident's bitcode, which would be the installed build's), and so is
# share/extension/.
as_runas bash -euo pipefail -c '
ov=$1 bindir=$2 libdir=$3 sharedir=$4 tree=$5
shift 5
mkdir -p "$ov$bindir" "$ov$libdir/bitcode" "$ov$sharedir/extension"
cp -RP "$bindir"/. "$ov$bindir"/
for f in "$libdir"/*; do
	case ${f##*/} in mtls_ident.so|bitcode) ;; *) ln -s "$f" "$ov$libdir/" ;; esac
done
for f in "$libdir"/bitcode/*; do
	case ${f##*/} in mtls_ident|mtls_ident.*) ;; *) ln -s "$f" "$ov$libdir/bitcode/" ;; esac
done
for f in "$sharedir"/*; do
	[ "${f##*/}" = extension ] || ln -s "$f" "$ov$sharedir/"
done
for f in "$sharedir"/extension/*; do
	case ${f##*/} in mtls_ident.control|mtls_ident--*) ;; *) ln -s "$f" "$ov$sharedir/extension/" ;; esac
done
# the other directories pg_config reports, found relative to bin/ too
for d in "$@"; do
	if [ -e "$d" ] && [ ! -e "$ov$d" ]; then
		mkdir -p "$(dirname "$ov$d")"
		ln -s "$d" "$ov$d"
	fi
done
cp "$tree/mtls_ident.so" "$ov$libdir/"
cp "$tree/mtls_ident.control" "$tree"/sql/mtls_ident--*.sql "$ov$sharedir/extension/"
' _ "$ov" "$PGBIN" "$libdir" "$sharedir" "$work" \
	$($PG_CONFIG --includedir --libdir --localedir --sysconfdir)
[ "$("$ovbin/pg_config" --pkglibdir)" = "$ov$libdir" ] && [ "$("$ovbin/pg_config" --sharedir)" = "$ov$sharedir" ] \
	|| { echo "sanitize: the overlay's pg_config does not report the overlay" >&2; exit 2; }

preload=
if [ "$kind" = address ]; then
	as_runas gcc -shared -fPIC -O2 -o "$work/asan_initfirst.so" "$work/test/sanitize/asan_initfirst.c" \
		-Wl,-z,initfirst -Wl,--no-as-needed "$libasan"
	# the runtime first (ASan insists), then the shim
	preload="$libasan $work/asan_initfirst.so"
	if ! timeout 60 env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 "$ovbin/postgres" -V >/dev/null; then
		echo "sanitize: postgres -V fails or hangs with LD_PRELOAD=\"$preload\"" >&2
		exit 2
	fi
fi

as_runas mkdir -p "$reports" "$wrap"
preload_line=
[ -z "$preload" ] || preload_line="export LD_PRELOAD='$preload'"
cat > "$wrap/pg_ctl.tmp" <<WRAP
#!/bin/sh
# the server, and only the server, runs with the sanitizer settings
$preload_line
export ASAN_OPTIONS=detect_leaks=0:log_path=$reports/asan:halt_on_error=1:disable_coredump=1
export UBSAN_OPTIONS=print_stacktrace=1:log_path=$reports/ubsan:halt_on_error=1
exec $ovbin/pg_ctl "\$@"
WRAP
chmod 755 "$wrap/pg_ctl.tmp"
[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$wrap/pg_ctl.tmp"
mv "$wrap/pg_ctl.tmp" "$wrap/pg_ctl"
path="$wrap:$ovbin:$PATH"

# the runtime really is in the server: a throwaway cluster, its maps
say "sanitize: checking that the server loads the instrumented module"
as_runas env PATH="$path" initdb -D "$probe" -A trust >/dev/null
as_runas sh -c "printf '%s\n' \"shared_preload_libraries = 'mtls_ident'\" \"listen_addresses = ''\" \"unix_socket_directories = '$work'\" \"port = 54399\" >> '$probe/postgresql.conf'"
as_runas env PATH="$path" pg_ctl -D "$probe" -l "$work/probe.log" -w start >/dev/null \
	|| { echo "sanitize: the probe cluster did not start" >&2; cat "$work/probe.log" >&2; exit 2; }
pm=$(head -1 "$probe/postmaster.pid")
maps_ok=1
[ "$kind" = none ] || grep -q "/$runtime\.so" "/proc/$pm/maps" || maps_ok=0
grep -qF "$ov$libdir/mtls_ident.so" "/proc/$pm/maps" || maps_ok=0
grep -qF "$ovbin/postgres" "/proc/$pm/maps" || maps_ok=0
if [ "$kind" = address ]; then grep -qF "$work/asan_initfirst.so" "/proc/$pm/maps" || maps_ok=0; fi
if [ $maps_ok -eq 1 ]; then
	echo "sanitize: postmaster $pm ($ovbin/postgres) runs with $runtime and the instrumented $ov$libdir/mtls_ident.so"
else
	echo "sanitize: the server does not run with the sanitizer" >&2
	grep -E "postgres|mtls_ident|$runtime|asan_initfirst" "/proc/$pm/maps" | awk '{print $6}' | sort -u >&2
	exit 2
fi
as_runas env PATH="$path" pg_ctl -D "$probe" -m fast stop >/dev/null

status=0
if [ "${SANITIZE_REGRESS:-0}" = 1 ]; then
	say "sanitize: pg_regress tests"
	if as_runas env PATH="$path" make -C "$work" PG_CONFIG="$ovbin/pg_config" TAP_TESTS= installcheck; then
		:
	else
		status=1
		[ -f "$work/regression.diffs" ] && cat "$work/regression.diffs"
	fi
fi

if [ "${SANITIZE_TESTS:-}" != none ]; then
	say "sanitize: TAP suite"
	if ( cd "$work" && as_runas env PATH="$path" \
		PG_REGRESS="$ov$libdir/pgxs/src/test/regress/pg_regress" \
		prove --timer -I "$ov$libdir/pgxs/src/test/perl" -I test/t ${SANITIZE_TESTS:-test/t/*.pl} ); then
		:
	else
		status=1
	fi
fi

# reports land in log_path files or, for the UBSan runtime, on the server's
# stderr: look in both
pattern='runtime error:|ERROR: AddressSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
found=$(grep -l -E "$pattern" "$work"/tmp_check/log/*.log "$work/probe.log" 2>/dev/null || true)
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
echo "sanitize: $kind, $(($(date +%s) - started)) s"
exit $status
