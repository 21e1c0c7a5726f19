#!/usr/bin/env bash
# The demo, from a fresh clone on Debian 12 or 13 (the PostgreSQL the
# distribution ships, or PG_MAJOR=NN, or PG_CONFIG=...):
#
#     bash test/demo.sh
#
# Installs what is missing, builds and installs mtls_ident, starts a
# throwaway TLS-enabled cluster, mints a CA and client certificates, binds
# a SPIFFE identity to a role, shows an accepted and a refused login and the
# views, then removes everything it made.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. test/lib/common.sh

install_packages
build_and_install

work=$(mktemp -d "${TMPDIR:-/tmp}/mtls_ident_demo.XXXXXX")
[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$work"
chmod 700 "$work"
cleanup() {
	as_runas pg_ctl -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

port=$(( 20000 + RANDOM % 20000 ))

say "minting a CA, a server certificate and two client certificates"
as_runas bash -euo pipefail -c '
cd "$1"
mk() { # name subject san signer
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "$2" -out "$1.csr" 2>/dev/null
	printf "subjectAltName=%s\nextendedKeyUsage=%s\n" "$3" "$5" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$4.crt" -CAkey "$4.key" -CAcreateserial \
		-days 30 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
	chmod 600 "$1.key"
}
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-subj "/CN=Demo Workload CA" -days 30 -out ca.crt 2>/dev/null
mk server "/CN=localhost" "DNS:localhost,IP:127.0.0.1" ca serverAuth
mk billing "/" "URI:spiffe://example.org/ns/prod/sa/billing" ca clientAuth
mk intruder "/" "URI:spiffe://example.org/ns/prod/sa/reporting" ca clientAuth
' _ "$work"
as_runas openssl x509 -in "$work/billing.crt" -noout -ext subjectAltName | sed 's/^/    billing.crt:  /'
as_runas openssl x509 -in "$work/intruder.crt" -noout -ext subjectAltName | sed 's/^/    intruder.crt: /'

say "starting a throwaway cluster on 127.0.0.1:$port with ssl and mtls_ident"
as_runas initdb -D "$work/data" -A trust -U postgres >/dev/null
as_runas cp "$work/server.crt" "$work/server.key" "$work/ca.crt" "$work/data/"
cat >> "$work/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = 'ca.crt'
shared_preload_libraries = 'mtls_ident'
CONF
cat > "$work/data/pg_hba.conf" <<HBA
local   all all                trust
hostssl all all 127.0.0.1/32   trust clientcert=verify-ca
HBA
as_runas pg_ctl -D "$work/data" -l "$work/server.log" -w start >/dev/null

sql() { as_runas psql -X -h "$work" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
tls() { # cert user sql
	as_runas psql -X "host=127.0.0.1 port=$port dbname=postgres user=$2 sslmode=verify-full sslrootcert=$work/ca.crt sslcert=$work/$1.crt sslkey=$work/$1.key" -c "$3"
}

say "binding the SPIFFE ID pattern to role billing"
sql -c "CREATE EXTENSION mtls_ident" -c "CREATE ROLE billing LOGIN"
echo "    SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing');"
sql -c "SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing')" >/dev/null
sql -c "SELECT * FROM mtls_ident.bindings"

say "accepted: billing.crt logs in as billing, and sees its own session"
tls billing billing "SELECT current_user, mtls_ident.session_identity();"
tls billing billing "SELECT pid, role, identity, sans, not_after FROM mtls_ident.sessions;"

say "refused: intruder.crt (spiffe://example.org/ns/prod/sa/reporting) as billing"
if tls intruder billing "SELECT 1" 2>&1 | sed 's/^/    /'; then
	echo "unexpected: the intruder got in" >&2
	exit 1
fi

say "refused: billing.crt as postgres (nobody bound postgres: no_binding)"
if tls billing postgres "SELECT 1" 2>&1 | sed 's/^/    /'; then
	echo "unexpected: billing.crt got in as postgres" >&2
	exit 1
fi

say "the audit trail: mtls_ident.auth_log and mtls_ident.stats"
sql -c "SELECT at::time(0), role, outcome, reason, identity FROM mtls_ident.auth_log ORDER BY at"
sql -c "SELECT * FROM mtls_ident.stats WHERE count > 0"

say "the server log says why"
grep -E "mtls_ident: accepted|FATAL:  certificate authentication|DETAIL:  mtls_ident" "$work/server.log" | sed 's/^/    /' | cut -c1-220 | tail -8

say "cleaning up"
