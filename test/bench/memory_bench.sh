#!/usr/bin/env bash
# memory_bench.sh -- what mtls_ident costs in shared memory, what reading
# its sessions view costs next to pg_stat_ssl, and what one enforcer sweep
# costs, with N live certificate sessions; for one or more builds (this
# tree and, by default, the commit before the small session slots), in
# the same run, so that "before" and "after" share the machine's state.
#
#     bash test/bench/memory_bench.sh                       # before/after, 300 and 1000 sessions
#     bash test/bench/memory_bench.sh --sessions 300 --seconds 5 --only-this
#
# Options:
#   --sessions "300 1000"  live TLS sessions to measure with (default "300 1000")
#   --seconds S            seconds per latency/CPU window (default 10)
#   --before REV           the "before" build: git revision of this repository
#                          (default 17da65e, the last commit with 37 kB slots)
#   --only-this            measure this tree only
#   --keep                 keep the scratch directory
#
# Nothing is installed: each build runs from a private overlay of the
# PostgreSQL installation (as test/sanitize.sh and login_bench.sh --tree
# do).  One cluster per build: max_connections = 1000 (the figure of issue
# 11), ssl on, a scratch EC PKI.  Per build and N it reports:
#   - the shared memory of mtls_ident, from pg_shmem_allocations, and of
#     core's "Backend SSL Status Buffer" (what pg_stat_ssl reads);
#   - view mtls_ident.memory (dynamic areas in use), where it exists;
#   - mean latency of SELECT * FROM mtls_ident.sessions and of
#     SELECT * FROM pg_stat_ssl (pgbench, one client, Unix socket, rows
#     sent to the client), and the server-side cost of one read of each
#     (read 200 times in turns inside the server, rows not sent), and
#     their ratios;
#   - the enforcer's CPU per sweep (enforce_interval = 100ms; CPU time from
#     /proc/PID/schedstat over the window, sweeps counted from
#     pg_stat_activity.query_start, as login_bench.sh does).
# The N sessions present an ordinary certificate (4 SANs), each bound.
set -euo pipefail
{
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. test/lib/common.sh

sessions="300 1000"
seconds=10
before=17da65e
only_this=0
keep=0
while [ $# -gt 0 ]; do
	case $1 in
		--sessions) sessions=${2:?}; shift ;;
		--seconds) seconds=${2:?}; shift ;;
		--before) before=${2:?}; shift ;;
		--only-this) only_this=1 ;;
		--keep) keep=1 ;;
		-h|--help) sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p;}' "$0" >&2; exit 2 ;;
		*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
	shift
done
maxn=0
for n in $sessions; do [ "$n" -gt "$maxn" ] && maxn=$n; done
[ "$maxn" -le 1000 ] || { echo "at most 1000 sessions (max_connections = 1000)" >&2; exit 2; }

install_packages
work=$(mktemp -d "${TMPDIR:-/tmp}/mtls_ident_membench.XXXXXX")
chmod 700 "$work"
[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$work"
holder=
cleanup() {
	set +e
	[ -n "$holder" ] && kill "$(cat "$work/hold.pid" 2>/dev/null)" 2>/dev/null && wait "$holder" 2>/dev/null
	for d in "$work"/data-*; do
		[ -f "$d/postmaster.pid" ] && as_runas "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
	done
	if [ $keep -eq 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() {
	echo "memory_bench: $*" >&2
	[ -f "${out:-}" ] && { echo "results so far:"; cat "$out"; } >&2
	exit 1
}

# pgbench holds many connections: one descriptor each
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say "a scratch PKI (EC P-256): root, server, one ordinary client certificate"
as_runas bash -euo pipefail -c '
cd "$1"; mkdir pki; cd pki; umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
key root
openssl req -x509 -new -key root.key -subj "/O=mtls_ident bench/CN=bench root CA" -days 7 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.crt 2>/dev/null
sign() { # NAME SUBJECT EXT...
	local n=$1 s=$2; shift 2
	key "$n"
	openssl req -new -key "$n.key" -subj "$s" -out "$n.csr" 2>/dev/null
	printf "%s\n" "$@" >"$n.ext"
	openssl x509 -req -in "$n.csr" -CA root.crt -CAkey root.key -set_serial "0x$(openssl rand -hex 16)" \
		-days 7 -extfile "$n.ext" -out "$n.crt" 2>/dev/null
}
sign server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth"
sign ord "/O=Example Corp/OU=Payments/CN=ord.example.org" "basicConstraints=critical,CA:FALSE" \
	"extendedKeyUsage=clientAuth" \
	"subjectAltName=URI:spiffe://bench.example/ns/prod/sa/ord,DNS:ord.example.org,DNS:ord.internal.example.org,email:ord@example.org"
rm -f ./*.csr ./*.ext; chmod 600 ./*.key
' _ "$work"

# build NAME SRCDIR: make in a scratch copy; an overlay installation in $work/NAME
libdir=$($PG_CONFIG --pkglibdir)
sharedir=$($PG_CONFIG --sharedir)
build() {
	local name=$1 src=$2 ov=$work/ov-$1
	say "building $name"
	make -s -C "$src" PG_CONFIG=$PG_CONFIG >/dev/null 2>&1 || die "build of $name failed"
	mkdir -p "$ov$PGBIN" "$ov$libdir" "$ov$sharedir/extension"
	for b in postgres pg_ctl initdb psql pgbench; do cp "$PGBIN/$b" "$ov$PGBIN/"; done
	ln -s "$libdir"/* "$ov$libdir/"
	rm -f "$ov$libdir/mtls_ident.so"
	cp "$src/mtls_ident.so" "$ov$libdir/"
	for f in "$sharedir"/*; do [ "${f##*/}" = extension ] || ln -s "$f" "$ov$sharedir/"; done
	ln -s "$sharedir"/extension/* "$ov$sharedir/extension/"
	rm -f "$ov$sharedir"/extension/mtls_ident*
	cp "$src/mtls_ident.control" "$src"/sql/mtls_ident--*.sql "$ov$sharedir/extension/"
	[ "$(id -u)" -eq 0 ] && chown -R "$RUNAS" "$ov"
	return 0
}

builds=
if [ $only_this -eq 0 ]; then
	mkdir "$work/src-before"
	git -c safe.directory="$top" -C "$top" archive "$before" | tar -C "$work/src-before" -xf -
	[ "$(id -u)" -eq 0 ] && chown -R "$RUNAS" "$work/src-before"
	build before "$work/src-before"
	builds="before"
fi
this=$(scratch_copy "$top")
mv "$this" "$work/src-this"
build this "$work/src-this"
builds="$builds this"

free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		(echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	die "no free port"
}

out=$work/report.txt
: >"$out"
printf '%s\n' 'cert_session() sessions enforcer' >/dev/null

for b in $builds; do
	ov=$work/ov-$b
	pgb=$ov$PGBIN
	data=$work/data-$b
	port=$(free_port)
	say "cluster for build $b (max_connections = 1000)"
	as_runas "$pgb/initdb" -D "$data" -A trust -U postgres >/dev/null 2>&1 || die "initdb ($b)"
	cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
max_connections = 1000
shared_buffers = 128MB
fsync = off
ssl = on
ssl_cert_file = '$work/pki/server.crt'
ssl_key_file = '$work/pki/server.key'
ssl_ca_file = '$work/pki/root.crt'
shared_preload_libraries = 'mtls_ident'
mtls_ident.expiry_warning = 0
CONF
	cat >"$data/pg_hba.conf" <<HBA
local   all all                trust
hostssl all ord 127.0.0.1/32   trust clientcert=verify-ca
HBA
	as_runas "$pgb/pg_ctl" -D "$data" -l "$data.log" -w start >/dev/null || die "start ($b)"
	sql() { as_runas "$pgb/psql" -X -q -At -h "$work" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
	sql -c "CREATE EXTENSION mtls_ident" -c "CREATE ROLE ord LOGIN" \
		-c "SELECT mtls_ident.bind('ord', 'uri:spiffe://bench.example/ns/prod/sa/ord')" >/dev/null
	has_memory=$(sql -c "SELECT count(*) FROM pg_views WHERE schemaname = 'mtls_ident' AND viewname = 'memory'")
	enforcer=$(sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'")
	sql <<'SQL' >/dev/null
CREATE FUNCTION public.bench_count_sweeps(p int, secs float8) RETURNS int
LANGUAGE plpgsql AS $f$
DECLARE last timestamptz; cur timestamptz; n int := -1;
	t_end timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
	WHILE clock_timestamp() < t_end LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT query_start INTO cur FROM pg_stat_get_activity(p);
		IF cur IS DISTINCT FROM last THEN n := n + 1; last := cur; END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN n;
END $f$;
-- server-side cost of one read of a view (ms), without sending rows: the
-- two views are read in turns, so that both see the same machine
CREATE FUNCTION public.bench_read_ms(v text, rounds int) RETURNS float8
LANGUAGE plpgsql AS $f$
DECLARE t0 timestamptz; total float8 := 0;
BEGIN
	FOR i IN 1..rounds LOOP
		t0 := clock_timestamp();
		EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s OFFSET 0) x', v);
		total := total + extract(epoch FROM clock_timestamp() - t0) * 1000;
	END LOOP;
	RETURN total / rounds;
END $f$;
SQL
	{
		echo
		echo "### build $b ($( [ "$b" = before ] && echo "$before" || echo "this tree"))"
		echo
		echo "shared memory at max_connections = 1000 (pg_shmem_allocations, bytes):"
		echo
		echo "| allocation | bytes |"
		echo "|---|---:|"
		sql -F ' | ' -c "SELECT '| ' || name, allocated_size || ' |' FROM pg_shmem_allocations
			WHERE name LIKE 'mtls_ident%' OR name = 'Backend SSL Status Buffer' ORDER BY name"
		sql -F ' | ' -c "SELECT '| **all of mtls_ident**', '**' || sum(allocated_size) || '** |' FROM pg_shmem_allocations WHERE name LIKE 'mtls_ident%'"
	} >>"$out"
	if [ "$has_memory" = 1 ]; then
		{ echo; echo "view mtls_ident.memory, idle:"; echo; sql -c "SELECT area, shared_bytes, dynamic_bytes, dynamic_entries, dynamic_limit FROM mtls_ident.memory"; } >>"$out"
	fi

	# the figure is taken at max_connections = 1000; N sessions need N
	# connections besides the reserved ones and ours
	if [ $((maxn + 10)) -gt 997 ]; then
		sql -c "ALTER SYSTEM SET max_connections = $((maxn + 20))" >/dev/null
		as_runas "$pgb/pg_ctl" -D "$data" -l "$data.log" -w restart >/dev/null || die "restart ($b)"
		echo >>"$out"
		echo "(restarted with max_connections = $((maxn + 20)) to hold $maxn sessions)" >>"$out"
		for _ in $(seq 1 100); do
			enforcer=$(sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'")
			[ -n "$enforcer" ] && break
			sleep 0.1
		done
	fi
	printf 'SELECT * FROM mtls_ident.sessions;\n' >"$work/view.sql"
	printf 'SELECT * FROM pg_stat_ssl;\n' >"$work/ssl.sql"
	printf '\\sleep 3600 s\nSELECT 1;\n' >"$work/hold.sql"
	chmod 644 "$work"/*.sql
	latency() {
		as_runas "$pgb/pgbench" -n -h "$work" -p "$port" -U postgres -T "$seconds" -f "$1" postgres 2>&1 |
			awk '/^latency average/ { print $4; exit }'
	}
	cpu_ns() { awk '{ print $1 }' "/proc/$enforcer/schedstat"; }
	for n in $sessions; do
		say "build $b: $n live TLS sessions"
		rm -f "$work/hold.pid"
		as_runas env PGSSLMODE=require PGSSLROOTCERT="$work/pki/root.crt" PGSSLCERT="$work/pki/ord.crt" \
			PGSSLKEY="$work/pki/ord.key" PGHOST=127.0.0.1 PGPORT="$port" PGUSER=ord PGDATABASE=postgres \
			bash -c 'ulimit -n 4096 2>/dev/null; echo $$ >"$1"; shift; exec "$@"' _ "$work/hold.pid" \
			"$pgb/pgbench" -n -c "$n" -j 8 -T 3600 -f "$work/hold.sql" >"$work/hold.log" 2>&1 &
		holder=$!
		for _ in $(seq 1 1200); do
			got=$(sql -c "SELECT count(*) FROM mtls_ident.sessions")
			[ "$got" -ge "$n" ] && break
			kill -0 "$holder" 2>/dev/null || die "the session holder exited: $(tail -3 "$work/hold.log")"
			sleep 0.25
		done
		[ "$got" -ge "$n" ] || die "only $got of $n sessions came up"
		sql -c "ALTER SYSTEM SET mtls_ident.enforce_interval = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
		v=$(latency "$work/view.sql")
		s=$(latency "$work/ssl.sql")
		vs=0; ss=0
		for _ in 1 2 3 4 5; do
			vs=$(awk -v a="$vs" -v b="$(sql -c "SELECT public.bench_read_ms('mtls_ident.sessions', 40)")" 'BEGIN { print a + b / 5 }')
			ss=$(awk -v a="$ss" -v b="$(sql -c "SELECT public.bench_read_ms('pg_stat_ssl', 40)")" 'BEGIN { print a + b / 5 }')
		done
		sql -c "ALTER SYSTEM SET mtls_ident.enforce_interval = '100ms'" -c "SELECT pg_reload_conf()" >/dev/null
		sleep 1
		c0=$(cpu_ns)
		sw=$(sql -c "SELECT public.bench_count_sweeps($enforcer, $seconds)")
		c1=$(cpu_ns)
		{
			echo
			echo "$n live sessions:"
			echo
			awk -v v="$v" -v s="$s" -v vs="$vs" -v ss="$ss" -v sw="$sw" -v c="$((c1 - c0))" -v n="$n" 'BEGIN {
				printf "| | sessions view ms | pg_stat_ssl ms | ratio |\n"
				printf "|---|---:|---:|---:|\n"
				printf "| latency (pgbench, rows sent) | %.3f | %.3f | %.2f |\n", v, s, v / s
				printf "| server-side read (200 reads, in turns) | %.3f | %.3f | %.2f |\n", vs, ss, vs / ss
				printf "\n| enforce_interval 100ms: sweeps | CPU us / sweep | us / session |\n"
				printf "|---:|---:|---:|\n"
				printf "| %d | %.0f | %.2f |\n", sw, c / sw / 1e3, c / sw / 1e3 / n }'
			if [ "$has_memory" = 1 ]; then
				echo
				sql -c "SELECT 'dynamic areas: ' || string_agg(area || ' ' || dynamic_bytes || ' bytes in ' || dynamic_entries, ', ') FROM mtls_ident.memory WHERE dynamic_bytes IS NOT NULL"
			fi
		} >>"$out"
		sql -c "ALTER SYSTEM RESET mtls_ident.enforce_interval" -c "SELECT pg_reload_conf()" >/dev/null
		kill "$(cat "$work/hold.pid")" 2>/dev/null || true
		wait "$holder" 2>/dev/null || true
		holder=
		for _ in $(seq 1 600); do
			[ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'ord'")" = 0 ] && break
			sleep 0.2
		done
	done
	as_runas "$pgb/pg_ctl" -D "$data" -m fast stop >/dev/null
done

say "results"
echo "machine:  $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "software: PostgreSQL $($PGBIN/postgres -V | awk '{ print $3 }'), $(openssl version | cut -d' ' -f1-2), this tree at $(git -c safe.directory="$top" -C "$top" rev-parse --short HEAD)"
echo "command:  bash test/bench/memory_bench.sh --sessions \"$sessions\" --seconds $seconds$( [ $only_this -eq 1 ] && echo ' --only-this' || echo " --before $before")"
cat "$out"
}
