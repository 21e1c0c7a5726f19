# pkilib.sh -- shell functions shared by mkpki.sh, mint.sh and crl.sh.
#
# Source it after setting PKI_TMP to a private scratch directory.  Every
# "openssl ca" run gets its own CA database under PKI_TMP; nothing is ever
# written next to this file, so the test PKI may live on a read-only tree
# and be used by an unprivileged user.

PKI_HOME=$(cd "$(dirname "$0")" && pwd)
PKI_CONF=$PKI_HOME/conf/ca.cnf
PKI_CERTS=$PKI_HOME/certs
PKI_CA_DIR=${PKI_TMP:?PKI_TMP must be set}/cadb
export PKI_CA_DIR

pki_die()
{
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# pki_run CMD ARGS...: run openssl quietly, show its output only on failure.
pki_run()
{
	if ! "$@" >"$PKI_TMP/openssl.log" 2>&1; then
		cat "$PKI_TMP/openssl.log" >&2
		pki_die "failed: $*"
	fi
}

# A random positive 128-bit serial, as hex.
pki_serial()
{
	s=$(openssl rand -hex 16)
	echo "4${s#?}"
}

# pki_key OUT: a new EC P-256 private key, mode 0600.
pki_key()
{
	(umask 077 && pki_run openssl genpkey -algorithm EC \
		-pkeyopt ec_paramgen_curve:P-256 -out "$1")
}

# pki_csr KEY SUBJECT OUT ("/" is the empty subject).
pki_csr()
{
	pki_run openssl req -new -config "$PKI_CONF" -key "$1" -subj "$2" -out "$3"
}

# pki_resolve_ca NAME: set CA_CRT and CA_KEY.  NAME is a certificate name in
# certs/ or a path prefix (PREFIX.crt / PREFIX.key).
pki_resolve_ca()
{
	case $1 in
		*/*) CA_CRT=$1.crt; CA_KEY=$1.key ;;
		*) CA_CRT=$PKI_CERTS/$1.crt; CA_KEY=$PKI_CERTS/$1.key ;;
	esac
	[ -r "$CA_CRT" ] || pki_die "CA certificate $CA_CRT not readable"
	[ -r "$CA_KEY" ] || pki_die "CA key $CA_KEY not readable"
}

# pki_self_signed CERT: true when CERT's issuer is its subject (a root).
pki_self_signed()
{
	[ "$(openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" = \
	  "$(openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" ]
}

# pki_newdb: a fresh, empty CA database in $PKI_CA_DIR.
pki_newdb()
{
	rm -rf "$PKI_CA_DIR"
	mkdir -p "$PKI_CA_DIR/new"
	: >"$PKI_CA_DIR/index.txt"
	# Time-based CRL numbers (ns): a later CRL always has a larger number.
	printf '%X\n' "$(date +%s%N)" | sed 's/^\(.\(..\)*\)$/0\1/' >"$PKI_CA_DIR/crlnumber"
}

# pki_sign CA_CRT CA_KEY CSR EXTFILE SECTION START END SERIAL OUT
#
# Sign CSR with "openssl ca" (the only OpenSSL 3.0 command that takes
# arbitrary notBefore/notAfter).  START and END are YYYYMMDDHHMMSSZ or empty
# (now / now + 36500 days).  The subject is kept exactly, even when empty.
pki_sign()
{
	pki_newdb
	serial=${8:-$(pki_serial)}
	echo "$serial" | sed 's/^\(.\(..\)*\)$/0\1/' >"$PKI_CA_DIR/serial"
	set -- "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"
	dates="-days 36500"
	[ -n "$6" ] && dates="-startdate $6"
	if [ -n "$7" ]; then
		dates="$dates -enddate $7"
	elif [ -n "$6" ]; then
		dates="$dates -days 36500"
	fi
	# shellcheck disable=SC2086
	pki_run openssl ca -batch -config "$PKI_CONF" -cert "$1" -keyfile "$2" \
		-in "$3" -extfile "$4" -extensions "$5" $dates -notext -preserveDN \
		-out "$9"
}

# pki_bundle LEAF ISSUER_CRT OUT: LEAF followed by its issuer unless the
# issuer is a root (the server trusts the roots only, so libpq must send
# the intermediate).
pki_bundle()
{
	if pki_self_signed "$2"; then
		cat "$1" >"$3"
	else
		cat "$1" "$2" >"$3"
	fi
}
