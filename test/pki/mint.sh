#!/bin/sh
#
# mint.sh -- mint a client certificate at test time (short-lived, expired,
# not yet valid, a given serial...).  Writes only into --out.
#
# Usage: mint.sh --out DIR --name NAME [--san SAN]... [--cn CN | --subj DN]
#                [--start YYYYMMDDHHMMSSZ | --start-offset SECONDS]
#                [--end YYYYMMDDHHMMSSZ | --end-offset SECONDS]
#                [--ca CA] [--serial HEX] [--eku EKU] [--key KEYFILE]
#                [--tmp DIR] [--ext LINE]...
#
#   --san           OpenSSL syntax, e.g. 'URI:spiffe://example.org/ns/prod/sa/x',
#                   'DNS:db.example.com', 'email:a@b', 'IP:10.0.0.1';
#                   repeatable.  None: no SAN extension.
#   --cn / --subj   subject CN, or a full subject in /A=b/C=d form;
#                   neither: empty subject
#   --start-offset  notBefore relative to now, in seconds (default 0; may be
#                   negative)
#   --end-offset    notAfter relative to now, in seconds (default 86400; may
#                   be negative: an expired certificate)
#   --ca            issuing CA: a name in certs/ (default client_ca) or a
#                   path prefix (PREFIX.crt, PREFIX.key)
#   --serial        serial number in hex (default random)
#   --eku           extendedKeyUsage value (default clientAuth; "none" omits
#                   the extension)
#   --key           reuse this private key instead of making a new one
#   --tmp           scratch directory parent (default: $TMPDIR or /tmp)
#   --ext           one more extension line in OpenSSL config syntax, e.g.
#                   'authorityInfoAccess = OCSP;URI:http://127.0.0.1:8080/'
#                   or 'crlDistributionPoints = URI:http://127.0.0.1:8081/ca.crl';
#                   repeatable
#
# Output: DIR/NAME.crt (leaf, then the issuer unless it is a root),
# DIR/NAME.leaf.crt (leaf only) and DIR/NAME.key (mode 0600).

set -eu

out= name= sans= subj=/ start= end= start_off=0 end_off=86400
ca=client_ca serial= eku=clientAuth key= tmp=${TMPDIR:-/tmp} exts=
usage() { sed -n 's/^# \{0,1\}//; 5,31p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
		--out) out=$2 ;;
		--name) name=$2 ;;
		--san) sans=${sans:+$sans,}$2 ;;
		--cn) subj="/CN=$2" ;;
		--subj) subj=$2 ;;
		--start) start=$2 ;;
		--start-offset) start_off=$2 ;;
		--end) end=$2 ;;
		--end-offset) end_off=$2 ;;
		--ca) ca=$2 ;;
		--serial) serial=$2 ;;
		--eku) eku=$2 ;;
		--key) key=$2 ;;
		--tmp) tmp=$2 ;;
		--ext) exts="$exts$2
" ;;
		*) usage ;;
	esac
	shift 2
done
[ -n "$out" ] && [ -n "$name" ] || usage

PKI_TMP=$(mktemp -d "$tmp/mint.XXXXXX")
trap 'rm -rf "$PKI_TMP"' EXIT INT TERM
. "$(dirname "$0")/pkilib.sh"

asn1_time()
{
	date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ
}
[ -n "$start" ] || start=$(asn1_time "$start_off")
[ -n "$end" ] || end=$(asn1_time "$end_off")

pki_resolve_ca "$ca"
# The committed CA key may be unreadable to openssl's liking (mode 0644 in
# git) or on a read-only tree: work on a private copy.
(umask 077 && cp "$CA_KEY" "$PKI_TMP/ca.key")

{
	echo "[ext]"
	echo "basicConstraints = critical,CA:FALSE"
	echo "keyUsage = critical,digitalSignature"
	[ "$eku" = none ] || echo "extendedKeyUsage = $eku"
	echo "subjectKeyIdentifier = hash"
	echo "authorityKeyIdentifier = keyid"
	[ -z "$sans" ] || echo "subjectAltName = $sans"
	[ -z "$exts" ] || printf '%s' "$exts"
} >"$PKI_TMP/ext.cnf"

mkdir -p "$out"
if [ -n "$key" ]; then
	(umask 077 && cp "$key" "$PKI_TMP/leaf.key")
else
	pki_key "$PKI_TMP/leaf.key"
fi
pki_csr "$PKI_TMP/leaf.key" "$subj" "$PKI_TMP/leaf.csr"
pki_sign "$CA_CRT" "$PKI_TMP/ca.key" "$PKI_TMP/leaf.csr" "$PKI_TMP/ext.cnf" ext \
	"$start" "$end" "$serial" "$PKI_TMP/leaf.crt"

(umask 077 && cp "$PKI_TMP/leaf.key" "$out/$name.key")
chmod 600 "$out/$name.key"
cp "$PKI_TMP/leaf.crt" "$out/$name.leaf.crt"
pki_bundle "$PKI_TMP/leaf.crt" "$CA_CRT" "$out/$name.crt"
