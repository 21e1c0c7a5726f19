#!/bin/sh
#
# crl.sh -- write a CRL signed by one of the test CAs, at test time.
#
# Usage: crl.sh --out FILE --ca CA [--revoke CERTFILE]... [--tmp DIR]
#               [--days N] [--reason REASON]
#
#   --ca       a CA name in certs/ (client_ca, root_ca, root2_ca, untrusted_ca)
#              or a path prefix PREFIX (PREFIX.crt, PREFIX.key)
#   --revoke   a certificate to list as revoked (PEM; the first certificate
#              of the file is used, so NAME.crt bundles work); repeatable.
#              No --revoke: an empty CRL.
#   --tmp      scratch directory parent (default: $TMPDIR or /tmp)
#   --days     nextUpdate, in days from now (default 36500)
#   --reason   CRL reason code (default unspecified)
#
# FILE is replaced atomically (written next to it, then renamed), so a
# server watching it never reads half a CRL.  Nothing is written elsewhere
# except the scratch directory, which is removed.

set -eu

out= ca= tmp=${TMPDIR:-/tmp} days=36500 reason=unspecified
revoke_list=
while [ $# -gt 0 ]; do
	case $1 in
		--out) out=$2; shift 2 ;;
		--ca) ca=$2; shift 2 ;;
		--revoke) revoke_list="$revoke_list
$2"; shift 2 ;;
		--tmp) tmp=$2; shift 2 ;;
		--days) days=$2; shift 2 ;;
		--reason) reason=$2; shift 2 ;;
		*) echo "crl.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] && [ -n "$ca" ] || { echo "usage: crl.sh --out FILE --ca CA [--revoke CERT]..." >&2; exit 2; }

PKI_TMP=$(mktemp -d "$tmp/crl.XXXXXX")
trap 'rm -rf "$PKI_TMP"' EXIT INT TERM
. "$(dirname "$0")/pkilib.sh"

pki_resolve_ca "$ca"
(umask 077 && cp "$CA_KEY" "$PKI_TMP/ca.key")
pki_newdb

# The revocation list is a newline-separated list (certificate paths with
# spaces are fine, newlines are not).
old_ifs=$IFS
IFS='
'
for c in $revoke_list; do
	[ -r "$c" ] || pki_die "cannot read $c"
	pki_run openssl ca -config "$PKI_CONF" -cert "$CA_CRT" -keyfile "$PKI_TMP/ca.key" \
		-revoke "$c" -crl_reason "$reason"
done
IFS=$old_ifs

pki_run openssl ca -gencrl -config "$PKI_CONF" -cert "$CA_CRT" \
	-keyfile "$PKI_TMP/ca.key" -crldays "$days" -out "$PKI_TMP/out.crl"

dest_tmp=$(mktemp "$(dirname "$out")/.crl.XXXXXX")
cat "$PKI_TMP/out.crl" >"$dest_tmp"
chmod 644 "$dest_tmp"
mv -f "$dest_tmp" "$out"
