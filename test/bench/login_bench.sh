#!/usr/bin/env bash
# login_bench.sh -- what mtls_ident costs per connection, and what its
# enforcer and its sessions view cost, measured on this machine.
#
#     bash test/bench/login_bench.sh                          # full run, ~7 minutes
#     bash test/bench/login_bench.sh --rounds 1 --seconds 3   # smoke, < 1 minute
#
# Options:
#   --rounds N          rounds of the login benchmark (default 20)
#   --seconds S         seconds per pgbench run (default 3; short runs, many
#                       rounds: this keeps drift of the machine out of the ratios)
#   --clients "1 2"     pgbench client counts to measure (default 1: one
#                       connection at a time, the latency of a login)
#   --sessions N        live certificate sessions for the enforcer and view
#                       measurements (default 300)
#   --no-build          use the installed extension as it is
#   --no-enforcer       skip the enforcer and sessions-view measurements
#   --no-reference      skip the reference cluster without mtls_ident
#   --keep              keep the scratch directory (cluster, PKI, logs)
#   --tree DIR          benchmark the build in source tree DIR (e.g. a
#                       candidate fix, built with make) without installing
#                       it: the server runs from a private overlay of the
#                       PostgreSQL installation that holds DIR's library,
#                       control file and SQL scripts
#   --profile           also time the functions of the login path with perf
#                       uprobes (root only): where a login's time goes
#   --strict            exit 1 when a target is missed (always: when a
#                       configuration cannot log in at all)
#
# One cluster (ssl on, shared_preload_libraries = 'mtls_ident') serves four
# configurations, one role each, told apart by pg_hba.conf lines:
#
#   native_cert  hostssl ... cert                      CN=native_cert
#   ident_map    hostssl ... cert map=big              pg_ident.conf with 5000
#                                                      regex lines, the matching one last
#   mi_one       hostssl ... trust clientcert=verify-ca  one binding (URI SAN)
#   mi_big       hostssl ... trust clientcert=verify-ca  1000 bindings on the role
#                                                      (matching one last), 20000 other
#                                                      roles bound
#   mi_ocsp_soft hostssl ... trust clientcert=verify-ca  one binding, mtls_ident.ocsp = soft
#                                                      with a warm answer cache (a second
#                                                      cluster: the setting is server-wide;
#                                                      a loopback responder answers the one
#                                                      query, valid for a day)
#   ocsp_native  hostssl ... cert                      native_cert's certificate on that
#                                                      second cluster: mi_ocsp_soft's baseline
#                                                      (OCSP is asked only for a login that a
#                                                      binding admitted, so cert auth of an
#                                                      unbound role sends no query)
#
# Each configuration is measured with "pgbench -C" (a new TLS connection
# with a client certificate for every transaction "SELECT 1"), so pgbench's
# tps is connections per second.  Configurations are interleaved within a
# round and their order rotates from round to round.  The medians, and
# their ratios to native_cert (mi_ocsp_soft: to ocsp_native, the same
# cluster), are checked against the targets of issues 5 and 12.
# A second cluster without mtls_ident, measured in the same rounds with
# the native_cert certificate, shows what merely loading the extension
# costs (reference only: the targets are judged within the one cluster).
#
# Then, with N live certificate sessions: the enforcer worker's CPU time per
# sweep (mtls_ident.enforce_interval = 100ms), and the latency of
# SELECT * FROM mtls_ident.sessions.
#
# Everything (PKI, clusters, logs) lives in a scratch directory that is
# removed on exit.  Runs as a normal user, or as root (the clusters then
# run as postgres).  doc/benchmarks.md explains the output.
set -euo pipefail
# The whole script is one compound command, parsed before it runs: editing
# the file during a run cannot change what the run executes.
{
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. test/lib/common.sh

rounds=20
seconds=3
clients=1
nsessions=300
build=1
do_enforcer=1
do_reference=1
keep=0
strict=0
profile=0
tree=

usage() {
	sed -n '2,/^# One cluster/{/^# One cluster/d; s/^# \{0,1\}//; p;}' "$0" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
		--rounds) rounds=${2:?}; shift ;;
		--seconds) seconds=${2:?}; shift ;;
		--clients) clients=${2:?}; shift ;;
		--sessions) nsessions=${2:?}; shift ;;
		--no-build) build=0 ;;
		--no-enforcer) do_enforcer=0 ;;
		--no-reference) do_reference=0 ;;
		--keep) keep=1 ;;
		--strict) strict=1 ;;
		--profile) profile=1 ;;
		--tree) tree=$(cd "${2:?}" && pwd); build=0; shift ;;
		-h|--help) usage ;;
		*) echo "unknown option: $1" >&2; usage ;;
	esac
	shift
done
case "$rounds$seconds$nsessions" in *[!0-9]*) usage ;; esac
if [ $profile -eq 1 ] && { [ "$(id -u)" -ne 0 ] || ! command -v perf >/dev/null; }; then
	echo "--profile needs root and perf" >&2
	exit 2
fi
[ "$rounds" -ge 1 ] && [ "$seconds" -ge 1 ] || usage

# thresholds of issue 5: median connections/s relative to native_cert
TARGET_ONE=0.97
TARGET_BIG=0.95
# pg_ident.conf lines, bindings on mi_big, other bound roles
IDENT_LINES=5000
BIG_BINDINGS=1000
OTHER_ROLES=20000

started=$(date +%s)
install_packages
if [ $build -eq 1 ]; then
	build_and_install
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mtls_ident_bench.XXXXXX")
chmod 700 "$work"
[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$work"
holder_pid=
responder_job=
cleanup() {
	set +e
	[ "${profile:-0}" -eq 1 ] && perf probe -q -d 'mi_bench_*:*' >/dev/null 2>&1
	if [ -n "$holder_pid" ]; then
		kill "$(cat "$work/hold.pid" 2>/dev/null)" 2>/dev/null
		wait "$holder_pid" 2>/dev/null
	fi
	# the responder wrote its own pid: $! would be runuser's when run as root
	if [ -f "$work/ocsp_responder.pid" ]; then
		kill "$(cat "$work/ocsp_responder.pid")" 2>/dev/null
		# reaped here, quietly (no "Terminated" from the shell)
		[ -n "$responder_job" ] && wait "$responder_job" 2>/dev/null
	fi
	for d in "$work/data" "$work/ref" "$work/ocsp"; do
		[ -f "$d/postmaster.pid" ] && as_runas pg_ctl -D "$d" -m immediate stop >/dev/null 2>&1
	done
	if [ $keep -eq 1 ]; then
		echo "kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "login_bench: $*" >&2
	for f in "$work"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 20 lines)" >&2
		tail -20 "$f" >&2
	done
	exit 1
}

# a free TCP port on 127.0.0.1
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port"
}

# ---------------------------------------------------------------------------
say "minting a CA, an intermediate, a server certificate and the client certificates (EC P-256)"
as_runas bash -euo pipefail -c '
cd "$1"
mkdir pki
cd pki
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# sign NAME SUBJECT ISSUER EXTENSIONS...
sign() {
	local name=$1 subj=$2 issuer=$3
	shift 3
	key "$name"
	openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
	printf "%s\n" "$@" >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA "$issuer.crt" -CAkey "$issuer.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$name.ext" \
		-out "$name.leaf.crt" 2>/dev/null
	# the chain libpq sends: the leaf and its intermediate (the server trusts the root)
	cat "$name.leaf.crt" $(ls "$issuer.leaf.crt" 2>/dev/null) >"$name.crt"
}
key root
openssl req -x509 -new -key root.key -subj "/O=mtls_ident bench/CN=bench root CA" -days 30 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out root.crt 2>/dev/null
sign ca "/O=mtls_ident bench/CN=bench client CA" root \
	"basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign"
key server
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf "%s\n" "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" >server.ext
openssl x509 -req -in server.csr -CA root.crt -CAkey root.key -set_serial 0x1001 -days 30 \
	-extfile server.ext -out server.crt 2>/dev/null
leaf="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
sign native_cert "/CN=native_cert" ca "$leaf"
sign ident_map "/CN=svc-$(printf %04d $(($2 - 1)))-ident_map" ca "$leaf"
sign mi_one "/" ca "$leaf" "subjectAltName=URI:spiffe://bench.example/ns/prod/sa/mi_one"
sign mi_big "/" ca "$leaf" "subjectAltName=URI:spiffe://bench.example/ns/prod/sa/mi_big,DNS:mi-big.bench.example"
sign mi_ocsp_soft "/" ca "$leaf" "subjectAltName=URI:spiffe://bench.example/ns/prod/sa/mi_ocsp_soft"
rm -f ./*.csr ./*.ext
chmod 600 ./*.key
' _ "$work" "$IDENT_LINES"

# ---------------------------------------------------------------------------
# cluster DIR PORT PRELOAD: initdb, configure, start
cluster() {
	local dir=$1 port=$2 preload=$3
	as_runas initdb -D "$dir" -A trust -U postgres >"$work/initdb.log" 2>&1 || die "initdb failed"
	cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
max_connections = $((nsessions + 60))
# the roles are made in one transaction, which locks each of them
max_locks_per_transaction = $(((OTHER_ROLES + BIG_BINDINGS) / (nsessions + 60) + 64))
shared_buffers = 128MB
fsync = off
synchronous_commit = off
ssl = on
ssl_cert_file = '$work/pki/server.crt'
ssl_key_file = '$work/pki/server.key'
ssl_ca_file = '$work/pki/root.crt'
log_connections = off
log_disconnections = off
shared_preload_libraries = '$preload'
CONF

	cat >"$dir/pg_hba.conf" <<HBA
local   all all                              trust
hostssl all native_cert 127.0.0.1/32         cert
hostssl all ident_map   127.0.0.1/32         cert map=big
hostssl all mi_one      127.0.0.1/32         trust clientcert=verify-ca
hostssl all mi_big      127.0.0.1/32         trust clientcert=verify-ca
HBA
	# the matching line is the last: every login runs through all of them
	awk -v n="$IDENT_LINES" 'BEGIN {
		for (i = 0; i < n; i++) printf "big /^svc-%04d-(.*)$ \\1\n", i
	}' >"$dir/pg_ident.conf"
	as_runas pg_ctl -D "$dir" -p "$postgres" -l "$dir.log" -w start >/dev/null 2>&1 ||
		die "cluster $dir did not start"
}

# With --tree: a private overlay of the installation.  PostgreSQL finds
# $libdir and its share directory relative to the postgres binary, so a copy
# of the binary next to a lib/ and a share/ made of symbolic links to the
# installed files, with mtls_ident's files taken from the tree, runs that
# build without touching the installed one.
postgres=$PGBIN/postgres
if [ -n "$tree" ]; then
	[ -f "$tree/mtls_ident.so" ] || die "$tree/mtls_ident.so not found: run make in $tree"
	libdir=$($PG_CONFIG --pkglibdir)
	sharedir=$($PG_CONFIG --sharedir)
	ov=$work/overlay
	mkdir -p "$ov$PGBIN" "$ov$libdir" "$ov$sharedir/extension"
	cp "$PGBIN/postgres" "$ov$PGBIN/"
	ln -s "$libdir"/* "$ov$libdir/"
	rm -f "$ov$libdir/mtls_ident.so"
	cp "$tree/mtls_ident.so" "$ov$libdir/"
	for f in "$sharedir"/*; do
		[ "${f##*/}" = extension ] || ln -s "$f" "$ov$sharedir/"
	done
	ln -s "$sharedir"/extension/* "$ov$sharedir/extension/"
	rm -f "$ov$sharedir"/extension/mtls_ident*
	cp "$tree/mtls_ident.control" "$tree"/sql/mtls_ident--*.sql "$ov$sharedir/extension/"
	[ "$(id -u)" -eq 0 ] && chown -R "$RUNAS" "$ov"
	postgres=$ov$PGBIN/postgres
fi

say "starting the benchmark cluster (and a reference cluster without mtls_ident)"
port=$(free_port)
cluster "$work/data" "$port" mtls_ident
if [ $do_reference -eq 1 ]; then
	ref_port=$(free_port)
	[ "$ref_port" != "$port" ] || ref_port=$((port + 1))
	cluster "$work/ref" "$ref_port" ""
fi

# mi_ocsp_soft: an OCSP responder on 127.0.0.1 (openssl ocsp makes each
# answer; `openssl ocsp -port` would listen on every interface) and a
# second mtls_ident cluster with mtls_ident.ocsp = soft
ocsp_port=$(free_port)
rport=$(free_port)
printf 'V\t301001010000Z\t\t%s\tunknown\t/CN=x\n' \
	"$(openssl x509 -in "$work/pki/mi_ocsp_soft.leaf.crt" -noout -serial | cut -d= -f2)" >"$work/ocsp_index.txt"
cat >"$work/ocsp_responder.pl" <<'PERL'
use strict; use IO::Socket::INET;
my ($port, $dir) = @ARGV;
open my $p, '>', "$dir/ocsp_responder.pid" or die "pid file: $!"; print $p "$$\n"; close $p;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 16, ReuseAddr => 1) or die "listen: $!";
while (my $c = $l->accept) {
	binmode $c; my $h = '';
	while ($h !~ /\r\n\r\n/) { sysread($c, my $b, 4096) or last; $h .= $b; }
	my ($head, $body) = split /\r\n\r\n/, $h, 2; my ($len) = $head =~ /Content-Length:\s*(\d+)/i;
	while (length($body) < ($len // 0)) { sysread($c, my $b, $len - length($body)) or last; $body .= $b; }
	open my $f, '>', "$dir/ocsp_req.der"; binmode $f; print $f $body; close $f;
	system("openssl ocsp -index $dir/ocsp_index.txt -rsigner $dir/pki/ca.crt -rkey $dir/pki/ca.key -CA $dir/pki/ca.crt -reqin $dir/ocsp_req.der -respout $dir/ocsp_resp.der -ndays 1 >/dev/null 2>&1");
	open $f, '<', "$dir/ocsp_resp.der"; binmode $f; local $/; my $r = <$f> // ''; close $f;
	open my $n, '>>', "$dir/ocsp_requests.log"; print $n "1\n"; close $n;
	print $c "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: " . length($r) . "\r\n\r\n$r"; close $c;
}
PERL
[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$work/ocsp_index.txt" "$work/ocsp_responder.pl"
# (its stderr, and runuser's "Terminated" when the cleanup stops it, go to
# a log of its own)
as_runas perl "$work/ocsp_responder.pl" "$rport" "$work" 2>>"$work/ocsp_responder.log" &
responder_job=$!
cluster "$work/ocsp" "$ocsp_port" mtls_ident
as_runas sh -c "printf '%s\n' \"mtls_ident.ocsp = soft\" \"mtls_ident.ocsp_responder = 'http://127.0.0.1:$rport/'\" >>'$work/ocsp/postgresql.conf'; echo 'hostssl all mi_ocsp_soft 127.0.0.1/32 trust clientcert=verify-ca' >>'$work/ocsp/pg_hba.conf'"
as_runas pg_ctl -D "$work/ocsp" reload >/dev/null 2>&1 || die "reload of the ocsp cluster failed"

# sql PORT ARGS...: superuser over the Unix socket
sql() {
	local p=$1
	shift
	as_runas psql -X -q -h "$work" -p "$p" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

# tls_env CONFIG: libpq environment to connect as CONFIG's role with its certificate
tls_env() {
	echo "PGSSLMODE=require PGSSLROOTCERT=$work/pki/root.crt" \
		"PGSSLCERT=$work/pki/$1.crt PGSSLKEY=$work/pki/$1.key PGSSLCRL= PGGSSENCMODE=disable" \
		"PGHOST=127.0.0.1 PGUSER=$1 PGDATABASE=postgres"
}

# tls PORT CONFIG SQL: one query over TLS as CONFIG (user and certificate)
tls() {
	# shellcheck disable=SC2046
	as_runas env $(tls_env "$2") PGPORT="$1" psql -X -At -v ON_ERROR_STOP=1 -c "$3"
}

say "roles and bindings: mi_one (1 binding), mi_big ($BIG_BINDINGS bindings), $OTHER_ROLES other bound roles"
t0=$(date +%s.%N)
sql "$port" >/dev/null <<SQL || die "setup failed"
CREATE EXTENSION mtls_ident;
CREATE ROLE native_cert LOGIN;
CREATE ROLE ident_map LOGIN;
CREATE ROLE mi_one LOGIN;
CREATE ROLE mi_big LOGIN;
SELECT mtls_ident.bind('mi_one', 'uri:spiffe://bench.example/ns/prod/sa/mi_one');
BEGIN;
-- mi_big: exact URI and DNS bindings, a wildcard every 50, the matching one last
DO \$\$
DECLARE
	id text;
BEGIN
	FOR i IN 1..$((BIG_BINDINGS - 1)) LOOP
		IF i % 50 = 25 THEN
			id := CASE (i / 50) % 4
				WHEN 0 THEN format('uri:spiffe://bench.example/ns/w%s/sa/*', i)
				WHEN 1 THEN format('uri:spiffe://bench.example/ns/w%s/**', i)
				WHEN 2 THEN format('dns:*.w%s.bench.example', i)
				ELSE format('uri:spiffe://bench.example/ns/*/sa/w%s', i) END;
		ELSIF i % 2 = 1 THEN
			id := format('uri:spiffe://bench.example/ns/prod/sa/other-%s', i);
		ELSE
			id := format('dns:other-%s.bench.example', i);
		END IF;
		PERFORM mtls_ident.bind('mi_big', id);
	END LOOP;
	PERFORM mtls_ident.bind('mi_big', 'uri:spiffe://bench.example/ns/prod/sa/mi_big');
END
\$\$;
-- $OTHER_ROLES other roles, each with its own binding
DO \$\$
BEGIN
	FOR i IN 1..$OTHER_ROLES LOOP
		EXECUTE format('CREATE ROLE %I LOGIN', 'svc_' || i);
		PERFORM mtls_ident.bind(format('%I', 'svc_' || i)::regrole,
			CASE WHEN i % 2 = 0 THEN format('uri:spiffe://bench.example/ns/fleet/sa/svc-%s', i)
				 ELSE format('dns:svc-%s.fleet.bench.example', i) END);
	END LOOP;
END
\$\$;
COMMIT;
VACUUM ANALYZE;
CHECKPOINT;
SQL
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "    done in %.1f s\n", b - a }'
nbig=$(sql "$port" -At -c "SELECT count(*) FROM mtls_ident.bindings WHERE role = 'mi_big'")
nroles=$(sql "$port" -At -c "SELECT count(DISTINCT role) FROM mtls_ident.bindings")
[ "$nbig" -eq "$BIG_BINDINGS" ] || die "mi_big holds $nbig bindings, expected $BIG_BINDINGS"
echo "    mi_big holds $nbig bindings; $nroles roles are bound"
if [ $do_reference -eq 1 ]; then
	sql "$ref_port" -c "CREATE ROLE native_cert LOGIN" || die "reference setup failed"
fi

sql "$ocsp_port" -c "CREATE EXTENSION mtls_ident; CREATE ROLE native_cert LOGIN; CREATE ROLE mi_ocsp_soft LOGIN; SELECT mtls_ident.bind('mi_ocsp_soft', 'uri:spiffe://bench.example/ns/prod/sa/mi_ocsp_soft')" >/dev/null ||
	die "ocsp cluster setup failed"

say "checking that every configuration logs in the way it should"
# configurations that cannot log in are reported and left out of the rounds
broken=
# check CONFIG PORT SQL EXPECTED WHAT
check() {
	local got
	got=$(tls "$2" "${1/ocsp_native/native_cert}" "$3" 2>&1) || true
	if [ "$got" = "$4" ]; then
		echo "    ok: $5"
		return
	fi
	echo "    FAILED: $5: $(echo "$got" | tail -1)"
	case $1 in
		native_cert | ocsp_native) die "the baseline $1 cannot log in" ;;
	esac
	broken="$broken $1"
	echo "| $1 | cannot log in: $(echo "$got" | tail -1 | sed 's/.*FATAL: *//') |" >>"$work/broken.txt"
}
check native_cert "$port" 'SELECT current_user' native_cert "native_cert by CN"
check ident_map "$port" 'SELECT current_user' ident_map "ident_map through the last of $IDENT_LINES pg_ident lines"
check mi_one "$port" 'SELECT mtls_ident.session_identity()' \
	"uri:spiffe://bench.example/ns/prod/sa/mi_one" "mi_one through its binding"
check mi_big "$port" 'SELECT mtls_ident.session_identity()' \
	"uri:spiffe://bench.example/ns/prod/sa/mi_big" "mi_big through the last of its $BIG_BINDINGS bindings"
check mi_ocsp_soft "$ocsp_port" 'SELECT mtls_ident.session_identity()' \
	"uri:spiffe://bench.example/ns/prod/sa/mi_ocsp_soft" "mi_ocsp_soft through its binding and a good OCSP answer"
check ocsp_native "$ocsp_port" 'SELECT current_user' native_cert "ocsp_native: native_cert by CN on the OCSP cluster"
# shellcheck disable=SC2046
if as_runas env $(tls_env mi_one) PGPORT="$port" PGUSER=mi_one PGSSLCERT="$work/pki/native_cert.crt" \
	PGSSLKEY="$work/pki/native_cert.key" psql -X -At -c 'SELECT 1' >/dev/null 2>&1; then
	die "native_cert's certificate logged in as mi_one: mtls_ident is not deciding"
fi
echo "    ok: native_cert's certificate is refused for mi_one"
if [ $do_reference -eq 1 ]; then
	check native_cert "$ref_port" 'SELECT current_user' native_cert "reference cluster: native_cert by CN"
fi

# ---------------------------------------------------------------------------
echo 'SELECT 1;' >"$work/select1.sql"
chmod 644 "$work/select1.sql"

# bench PORT CONFIG SECONDS CLIENTS: connections per second
bench() {
	local out
	# shellcheck disable=SC2046
	if ! out=$(as_runas env $(tls_env "$2") PGPORT="$1" \
		pgbench -n -C -T "$3" -c "$4" -j "$4" -f "$work/select1.sql" 2>&1); then
		echo "$out" >&2
		die "pgbench failed for $2"
	fi
	# PostgreSQL 15: "tps = N (including reconnection times)" with -C
	echo "$out" | awk '/^tps = / { print $3; exit }'
}

configs=
for c in native_cert ident_map mi_one mi_big mi_ocsp_soft ocsp_native; do
	case " $broken " in *" $c "*) ;; *) configs="$configs $c" ;; esac
done
[ $do_reference -eq 1 ] && configs="$configs noext_native"
configs=${configs# }
# run CONFIG SECONDS CLIENTS
# target CONFIG: the port and the role (and certificate) CONFIG connects
# with, in t_port and t_role
target() {
	case $1 in
		noext_native) t_port=$ref_port; t_role=native_cert ;;
		mi_ocsp_soft) t_port=$ocsp_port; t_role=mi_ocsp_soft ;;
		ocsp_native) t_port=$ocsp_port; t_role=native_cert ;;
		*) t_port=$port; t_role=$1 ;;
	esac
}
run() {
	target "$1"
	bench "$t_port" "$t_role" "$2" "$3"
}

say "warm-up: every configuration for 1 s"
for c in $configs; do
	run "$c" 1 1 >/dev/null
done

results=$work/results.txt
: >"$results"
nconf=$(echo $configs | wc -w)
say "login benchmark: $rounds rounds x $nconf configurations x clients {$clients} x $seconds s (pgbench -C, one TLS connection per transaction)"
for r in $(seq 1 "$rounds"); do
	# rotate the order every round
	order=$(echo $configs $configs | cut -d' ' -f$(((r - 1) % nconf + 1))-$(((r - 1) % nconf + nconf)))
	line="    round $r:"
	for cl in $clients; do
		for c in $order; do
			tps=$(run "$c" "$seconds" "$cl")
			echo "$cl $c $r $tps" >>"$results"
			line="$line $c/c$cl=$tps"
		done
	done
	echo "$line"
done

# ---------------------------------------------------------------------------
# report: median, min, max per configuration; ratio of medians to native_cert
report=$work/report.txt
awk -v one="$TARGET_ONE" -v big="$TARGET_BIG" -v configs="$configs" -v clients="$clients" -v broken="$broken" '
# the baseline of a configuration: native_cert of the same cluster
function base(f) { return f == "mi_ocsp_soft" && ("ocsp_native" in med) ? "ocsp_native" : "native_cert" }
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ k = $1 SUBSEP $2; n[k]++; v[k, n[k]] = $4; tps[$1, $2, $3] = $4; if ($3 > rounds) rounds = $3 }
END {
	nc = split(configs, cf, " "); ncl = split(clients, cl, " ")
	for (x = 1; x <= ncl; x++) {
		c = cl[x]
		printf "\nclients = %d (connections per second)\n", c
		printf "| %-12s | %8s | %8s | %8s | %14s | %16s | %-28s |\n", "config", "median", "min", "max", "ratio (median)", "ratio (by round)", "target"
		printf "|%s|%s|%s|%s|%s|%s|%s|\n", "--------------", "---------:", "---------:", "---------:", "---------------:", "-----------------:", "------------------------------"
		for (y = 1; y <= nc; y++) {
			k = c SUBSEP cf[y]; m = n[k]
			lo = 1e18; hi = 0
			for (i = 1; i <= m; i++) { s[i] = v[k, i]; if (s[i] < lo) lo = s[i]; if (s[i] > hi) hi = s[i] }
			mn[cf[y]] = lo; mx[cf[y]] = hi
			med[cf[y]] = median(s, m)
		}
		for (y = 1; y <= nc; y++) {
			# per-round ratio to the baseline run of the same round
			b = base(cf[y]); pr = 0
			for (r = 1; r <= rounds; r++) if ((c, b, r) in tps && (c, cf[y], r) in tps) pr_v[++pr] = tps[c, cf[y], r] / tps[c, b, r]
			prm[cf[y]] = median(pr_v, pr)
		}
		nb = split(broken, bk, " ")
		for (y = 1; y <= nb; y++) {
			printf "| %-12s | %8s | %8s | %8s | %14s | %16s | %-28s |\n", bk[y], "-", "-", "-", "-", "-", "MISS (cannot log in)"
			if (bk[y] == "mi_one" || bk[y] == "mi_big" || bk[y] == "mi_ocsp_soft") miss++
		}
		for (y = 1; y <= nc; y++) {
			f = cf[y]; ratio = med[f] / med[base(f)]; t = ""
			if (f == "mi_one" || f == "mi_big" || f == "mi_ocsp_soft") {
				th = f == "mi_big" ? big : one
				ok = ratio >= th && med[f] > med["ident_map"]
				t = sprintf("%s (>= %.2f, > ident_map)", ok ? "PASS" : "MISS", th)
				if (ok) pass++; else miss++
			} else if (f == "native_cert") t = "baseline"
			else if (f == "ocsp_native") t = "baseline of mi_ocsp_soft"
			else if (f == "noext_native") t = "reference: no mtls_ident"
			printf "| %-12s | %8.1f | %8.1f | %8.1f | %14.3f | %16.3f | %-28s |\n", f, med[f], mn[f], mx[f], ratio, prm[f], t
		}
	}
	printf "\ntargets: %d PASS, %d MISS\n", pass, miss
}' "$results" >"$report"

# ---------------------------------------------------------------------------
if [ $do_enforcer -eq 1 ]; then
	# measuring window for the enforcer, in seconds
	ew=$((rounds * seconds / 2))
	[ $ew -lt 3 ] && ew=3
	[ $ew -gt 15 ] && ew=15
	enforcer_pid=$(sql "$port" -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'mtls_ident enforcer'")
	[ -n "$enforcer_pid" ] || die "no enforcer worker"
	sql "$port" -c "ALTER SYSTEM SET mtls_ident.enforce_interval = '100ms'" -c "SELECT pg_reload_conf()" >/dev/null

	# The enforcer's CPU time in ns (schedstat, else utime + stime in ticks)
	cpu_ns() {
		if [ -r "/proc/$enforcer_pid/schedstat" ]; then
			awk '{ print $1 }' "/proc/$enforcer_pid/schedstat"
		else
			awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1e9 / hz }' \
				"/proc/$enforcer_pid/stat"
		fi
	}
	# Sweeps are counted from the outside: each sweep reports itself to
	# pg_stat_activity with a new query_start, sampled every 10 ms (a sweep
	# starts at most every enforce_interval = 100 ms).
	sql "$port" <<'SQL' || die "cannot create the sweep counter"
CREATE FUNCTION public.bench_count_sweeps(p int, secs float8) RETURNS int
LANGUAGE plpgsql AS $f$
DECLARE
	last timestamptz;
	cur timestamptz;
	n int := -1;		-- the first value seen started before the window
	t_end timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
	WHILE clock_timestamp() < t_end LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT query_start INTO cur FROM pg_stat_get_activity(p);
		IF cur IS DISTINCT FROM last THEN
			n := n + 1;
			last := cur;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN n;
END
$f$;
SQL
	# enforcer_cost: prints "sweeps cpu_ms_total us_per_sweep cpu_percent"
	enforcer_cost() {
		local c0 c1 n
		sleep 1
		c0=$(cpu_ns)
		n=$(sql "$port" -At -c "SELECT public.bench_count_sweeps($enforcer_pid, $ew)")
		c1=$(cpu_ns)
		awk -v c="$((c1 - c0))" -v s="$n" -v w="$ew" 'BEGIN {
			printf "%d %.1f %.1f %.2f\n", s, c / 1e6, (s > 0 ? c / s / 1e3 : 0), c / 1e7 / w }'
	}
	# hold N sessions as CONFIG: pgbench clients sleeping between rare statements
	printf '\\sleep 3600 s\nSELECT 1;\n' >"$work/hold.sql"
	chmod 644 "$work/hold.sql"
	hold() {
		# shellcheck disable=SC2046
		rm -f "$work/hold.pid"
		as_runas env $(tls_env "$1") PGPORT="$port" bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$work/hold.pid" \
			pgbench -n -c "$nsessions" -j 4 -T 3600 -f "$work/hold.sql" >"$work/hold.log" 2>&1 &
		holder_pid=$!
		for _ in $(seq 1 300); do
			n=$(sql "$port" -At -c "SELECT count(*) FROM mtls_ident.sessions WHERE role = '$1'")
			[ "$n" -ge "$nsessions" ] && return
			kill -0 "$holder_pid" 2>/dev/null || die "the session holder exited: $(cat "$work/hold.log")"
			sleep 0.2
		done
		die "only $n of $nsessions sessions came up"
	}
	# unhold ROLE: end the holder (pgbench itself, not runuser) and wait
	# until its backends are gone
	unhold() {
		kill "$(cat "$work/hold.pid")" 2>/dev/null || true
		wait "$holder_pid" 2>/dev/null || true
		holder_pid=
		for _ in $(seq 1 300); do
			n=$(sql "$port" -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$1'")
			[ "$n" -eq 0 ] && return
			sleep 0.1
		done
		die "the sessions of $1 did not end"
	}
	# view_latency SQL: mean latency in ms of SQL over the Unix socket
	echo "SELECT * FROM mtls_ident.sessions;" >"$work/view.sql"
	echo "SELECT * FROM pg_stat_ssl;" >"$work/psa.sql"
	chmod 644 "$work/view.sql" "$work/psa.sql"
	view_latency() {
		as_runas pgbench -n -h "$work" -p "$port" -U postgres -T "$((ew / 3))" \
			-f "$1" postgres 2>&1 | awk '/^latency average/ { print $4; exit }'
	}

	say "enforcer: CPU per sweep, enforce_interval = 100ms, ${ew} s windows"
	ereport=$work/enforcer.txt
	{
		echo
		echo "enforcer (mtls_ident.enforce_interval = 100ms, ${ew} s window)"
		echo "| live sessions | sweeps | CPU ms | CPU us / sweep | us / session | CPU share |"
		echo "|---|---:|---:|---:|---:|---:|"
	} >"$ereport"
	set -- $(enforcer_cost)
	base_us=$3
	printf '| none | %s | %s | %s | | %s %% |\n' "$1" "$2" "$3" "$4" >>"$ereport"
	echo "    no sessions: $1 sweeps, $3 us CPU per sweep"
	for who in mi_one mi_big; do
		case " $broken " in *" $who "*) continue ;; esac
		hold "$who"
		set -- $(enforcer_cost)
		per=$(awk -v a="$3" -v b="$base_us" -v n="$nsessions" 'BEGIN { printf "%.2f", (a - b) / n }')
		printf '| %s x %s | %s | %s | %s | %s | %s %% |\n' "$nsessions" "$who" "$1" "$2" "$3" "$per" "$4" >>"$ereport"
		echo "    $nsessions $who sessions: $1 sweeps, $3 us CPU per sweep ($per us per session)"
		if [ "$who" = mi_one ]; then
			sql "$port" -c "ALTER SYSTEM SET mtls_ident.enforce_interval = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
			say "sessions view with $nsessions live sessions (pgbench, Unix socket, superuser)"
			v=$(view_latency "$work/view.sql")
			p=$(view_latency "$work/psa.sql")
			s1=$(view_latency "$work/select1.sql")
			{
				echo
				echo "reading the views with $nsessions live certificate sessions (mean latency, one client)"
				echo "| query | ms |"
				echo "|---|---:|"
				echo "| SELECT * FROM mtls_ident.sessions | $v |"
				echo "| SELECT * FROM pg_stat_ssl (core, for comparison) | $p |"
				echo "| SELECT 1 | $s1 |"
			} >"$work/view.txt"
			echo "    mtls_ident.sessions: $v ms, pg_stat_ssl: $p ms, SELECT 1: $s1 ms"
			sql "$port" -c "ALTER SYSTEM SET mtls_ident.enforce_interval = '100ms'" -c "SELECT pg_reload_conf()" >/dev/null
		fi
		unhold "$who"
	done
	sql "$port" -c "ALTER SYSTEM RESET mtls_ident.enforce_interval" -c "SELECT pg_reload_conf()" >/dev/null
fi

# ---------------------------------------------------------------------------
# --profile: where a login's time goes inside mtls_ident.  perf uprobes on
# the functions of the login path (those that exist in this build), each
# configuration connecting for a few seconds; prints the mean time per call.
# Needs root and perf.  The probes add a few microseconds to each call.
if [ $profile -eq 1 ]; then
	say "profile: mean time per call of the login path's functions (perf uprobes)"
	pm=$(head -1 "$work/data/postmaster.pid")
	lib=$(awk '$NF ~ /mtls_ident\.so$/ { print $NF; exit }' "/proc/$pm/maps")
	pgbin=$(readlink -f "/proc/$pm/exe")
	perf probe -q -d 'mi_bench_*:*' >/dev/null 2>&1 || true
	events=
	probe() { # GROUP BINARY FUNCTION...
		local group=$1 bin=$2 f funcs
		shift 2
		funcs=$(perf probe -q -x "$bin" -F 2>/dev/null || true)
		for f in "$@"; do
			grep -qx "$f" <<<"$funcs" || continue
			# perf names the return probe "${f}__return"
			if perf probe -q -x "$bin" -a "$group:$f=$f" -a "$group:$f=$f%return" >/dev/null 2>&1; then
				events="$events -e $group:$f -e $group:${f}__return"
			fi
		done
	}
	probe mi_bench_ext "$lib" mi_client_auth mi_decide_login mi_read_peer_certificate \
		mi_crl_note_chain mi_read_role_label mi_collect_rules mi_decide report_decision \
		mi_auth_log_record mi_session_publish mi_expiry_arm mi_ocsp_login_check \
		describe_decision collect_rules_or_refuse read_client_cert mi_describe_cert
	probe mi_bench_ssl "$(awk '$NF ~ /libcrypto\.so/ { print $NF; exit }' "/proc/$pm/maps")" OCSP_cert_to_id
	probe mi_bench_pg "$pgbin" GetSecurityLabel detoast_attr
	# perf_while CONFIG PERF_RECORD_OPTIONS...: perf record -a into
	# $work/perf.data for $seconds s while CONFIG connects over and over
	perf_while() {
		local c=$1
		shift
		target "$c"
		rm -f "$work/perf.data"
		# shellcheck disable=SC2046
		as_runas env $(tls_env "$t_role") PGPORT="$t_port" \
			pgbench -n -C -T "$((seconds + 1))" -c 1 -f "$work/select1.sql" >/dev/null 2>&1 &
		sleep 0.5
		perf record -q "$@" -a -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1 || true
		wait $! || true
	}
	profile_out=$work/profile.txt
	{
		echo
		echo "time per call in the login path (us, mean; perf uprobes, $seconds s per configuration)"
	} >"$profile_out"
	for c in native_cert mi_one mi_big ocsp_native mi_ocsp_soft; do
		case " $broken " in *" $c "*) continue ;; esac
		# shellcheck disable=SC2086
		perf_while "$c" $events
		printf '%s:' "$c" >>"$profile_out"
		{ perf script -i "$work/perf.data" -F tid,time,event 2>/dev/null || true; } | awk '
		{
			t = $2; sub(":", "", t); ev = $3; sub(/^mi_bench_[a-z]*:/, "", ev); sub(":$", "", ev)
			if (ev ~ /__return$/) {
				f = ev; sub("__return$", "", f)
				if (($1, f) in st) { sum[f] += (t - st[$1, f]) * 1e6; n[f]++; delete st[$1, f] }
			} else st[$1, ev] = t
		}
		END { for (f in sum) printf " %s=%.0f", f, sum[f] / n[f]; printf "\n" }' >>"$profile_out"
	done
	perf probe -q -d 'mi_bench_*:*' >/dev/null 2>&1 || true
	# The uprobes above trap on every call and return, and a parent's time
	# includes its probed children's traps: they show where the time goes,
	# not how much there is.  Sampling costs the login nothing: the share
	# of the backends' CPU samples that fall in mtls_ident.so.
	{
		echo
		echo "share of the backends' CPU samples in mtls_ident.so (perf record -F 2999 -a, $seconds s per configuration)"
	} >>"$profile_out"
	for c in native_cert mi_one mi_big ocsp_native mi_ocsp_soft; do
		case " $broken " in *" $c "*) continue ;; esac
		perf_while "$c" -F 2999
		{ perf report -i "$work/perf.data" --comm postgres --sort dso,sym --stdio -q 2>/dev/null || true; } |
			awk -v c="$c" '
			$1 ~ /%$/ { p = $1; sub("%", "", p); all += p
				if ($2 == "mtls_ident.so") { ext += p; if (n < 4) { top = top sprintf(" %s=%.2f%%", $NF, p); n++ } } }
			END { printf "%s: %.2f%% of %.0f%% (top:%s)\n", c, ext, all, top }' >>"$profile_out"
	done
	cat "$profile_out"
fi

# ---------------------------------------------------------------------------
say "results"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
git_top() { git -c safe.directory="$top" -C "$top" "$@" 2>/dev/null; }
rev=$(git_top rev-parse --short HEAD || echo unknown)
if [ "$rev" != unknown ] && ! git_top diff --quiet HEAD -- src sql; then
	rev="$rev (with local changes)"
fi
echo "machine:    $(nproc) CPUs, $cpu, $(free -g | awk '/^Mem:/ { print $2 }') GB RAM, Linux $(uname -r)"
[ -n "$tree" ] && rev="from $tree (not installed)"
echo "software:   $(sql "$port" -At -c 'SELECT version()' | cut -d, -f1), $(openssl version | cut -d' ' -f1-2), mtls_ident $rev"
echo "command:    bash test/bench/login_bench.sh --rounds $rounds --seconds $seconds --clients \"$clients\" --sessions $nsessions"
echo "setup:      pg_ident.conf $IDENT_LINES regex lines; mi_big $BIG_BINDINGS bindings; $OTHER_ROLES other bound roles"
echo "mi_ocsp_soft: $(wc -l <"$work/ocsp_requests.log" 2>/dev/null || echo 0) OCSP queries over the whole run (the cache answers every other login)"
cat "$report"
[ -f "$work/broken.txt" ] && { echo; echo "| config | failure |"; echo "|---|---|"; cat "$work/broken.txt"; }
[ $do_enforcer -eq 1 ] && cat "$work/enforcer.txt" "$work/view.txt"
[ $profile -eq 1 ] && cat "$profile_out"
echo
echo "elapsed: $(($(date +%s) - started)) s"
# a configuration that cannot log in is a failure; a missed target is not
# (timings vary), unless --strict
[ -z "$broken" ] || exit 1
if [ $strict -eq 1 ] && grep -q MISS "$report"; then
	exit 1
fi
exit 0
}
