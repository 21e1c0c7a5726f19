#!/bin/sh
#
# mkpki.sh -- regenerate the committed test PKI in certs/.
#
# Every certificate is defined by conf/ca.cnf (CAs, server), conf/leaves.cnf
# (client certificates) and gen-ext.pl (generated SAN lists and hostile raw
# DER SANs); this script lists subject, issuer and validity of each.  Keys and
# serials change from run to run, names/subjects/SANs do not.  Validity is
# 100 years so the committed files do not expire.
#
# Usage: mkpki.sh            (normally through "make -C test/pki")

set -eu

PKI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mkpki.XXXXXX")
trap 'rm -rf "$PKI_TMP"' EXIT INT TERM
. "$(dirname "$0")/pkilib.sh"

out=$PKI_CERTS
mkdir -p "$out"
rm -f "$out"/*.crt "$out"/*.key "$out"/*.crl

# The extension sections of every leaf: committed ones plus generated ones.
cat "$PKI_HOME/conf/leaves.cnf" >"$PKI_TMP/leaves.cnf"
perl "$PKI_HOME/gen-ext.pl" >>"$PKI_TMP/leaves.cnf"

# root NAME SUBJECT: a self-signed root CA.
root()
{
	pki_key "$out/$1.key"
	pki_run openssl req -x509 -new -config "$PKI_CONF" -key "$out/$1.key" \
		-subj "$2" -days 36500 -set_serial "0x$(pki_serial)" \
		-extensions v3_root_ca -out "$out/$1.crt"
}

# cert NAME ISSUER SUBJECT EXTFILE SECTION [START END]
cert()
{
	pki_key "$out/$1.key"
	pki_csr "$out/$1.key" "$3" "$PKI_TMP/$1.csr"
	pki_sign "$out/$2.crt" "$out/$2.key" "$PKI_TMP/$1.csr" "$4" "$5" \
		"${6:-}" "${7:-}" "" "$out/$1.leaf.crt"
}

# leaf NAME ISSUER SUBJECT [START END]: a client certificate whose
# extensions are section NAME of leaves.cnf; writes NAME.crt (leaf + chain),
# NAME.leaf.crt and NAME.key.
leaf()
{
	cert "$1" "$2" "$3" "$PKI_TMP/leaves.cnf" "$1" "${4:-}" "${5:-}"
	pki_bundle "$out/$1.leaf.crt" "$out/$2.crt" "$out/$1.crt"
}

O="/O=mtls_ident test"

# --- CAs and server ------------------------------------------------------------
root root_ca      "$O/CN=mtls_ident test root CA"
root root2_ca     "$O/CN=mtls_ident test root CA 2"
root untrusted_ca "$O/CN=mtls_ident untrusted CA"
cert client_ca root_ca "$O/CN=mtls_ident test client CA" "$PKI_CONF" v3_intermediate_ca
mv "$out/client_ca.leaf.crt" "$out/client_ca.crt"
cert server root_ca "/CN=localhost" "$PKI_CONF" v3_server
mv "$out/server.leaf.crt" "$out/server.crt"
cat "$out/root_ca.crt" "$out/root2_ca.crt" >"$out/trusted_roots.crt"

# --- client certificates (issuer client_ca unless noted) --------------------------
for n in spiffe_billing spiffe_billing_alt spiffe_billing_staging spiffe_deep \
	spiffe_other spiffe_dave dns_db dns_upper dns_sub dns_subsub \
	email_dave email_dave_upperdomain email_dave_upperlocal email_eve \
	email_dave_subdomain ip4 ip6 multi_san many_sans_300 many_sans_3000 many_sans_5000 \
	eku_client eku_client_server eku_server_only eku_any eku_none \
	hostile_dns_wildcard hostile_dns_nul hostile_uri_nul hostile_email_nul \
	hostile_dns_utf8 hostile_uri_utf8 hostile_email_utf8 \
	hostile_dns_empty_label hostile_dns_empty hostile_email_two_at \
	hostile_uri_pct_dotdot hostile_uri_pct hostile_uri_dotdot hostile_uri_dot \
	hostile_uri_empty_seg hostile_uri_query hostile_uri_fragment \
	hostile_uri_trailing_slash hostile_uri_userinfo hostile_uri_port \
	hostile_uri_upper_scheme hostile_uri_huge hostile_ip_5byte \
	hostile_san_malformed
do
	leaf "$n" client_ca /
done

leaf cn_legacy          client_ca "/CN=legacy-app"
leaf cn_legacy_with_san client_ca "/CN=legacy-app"
leaf dn_alice           client_ca "/O=Example/OU=eng/CN=alice"
leaf dn_comma           client_ca "/O=Example/CN=Smith, John"
leaf dn_long            client_ca "/O=Example Corporation Worldwide/OU=Platform Engineering and Operations/CN=a-rather-long-service-account-name.prod.example.com"
leaf email_in_dn        client_ca "/CN=dave/emailAddress=dave@example.com"

leaf root_client      root_ca      /
leaf root2_client     root2_ca     /
leaf untrusted_client untrusted_ca /

leaf expired_static       client_ca / 20000101000000Z 20010101000000Z
leaf not_yet_valid_static client_ca / 21000101000000Z 21260101000000Z

# CN with an embedded NUL: no openssl command line can write one, so sign a
# placeholder and patch the byte in, then re-sign the TBSCertificate.
leaf hostile_cn_nul client_ca "/CN=legacy-app#.evil.com"
perl "$PKI_HOME/patch-cert.pl" "$out/hostile_cn_nul.leaf.crt" "$out/client_ca.key" \
	'legacy-app#.evil.com' "legacy-app\\0.evil.com" >"$PKI_TMP/patched.crt"
mv "$PKI_TMP/patched.crt" "$out/hostile_cn_nul.leaf.crt"
pki_bundle "$out/hostile_cn_nul.leaf.crt" "$out/client_ca.crt" "$out/hostile_cn_nul.crt"

# --- empty CRLs (initial ssl_crl_file) --------------------------------------------
for ca in root_ca client_ca root2_ca; do
	"$PKI_HOME/crl.sh" --ca "$ca" --out "$out/$ca.crl"
done
cat "$out/root_ca.crl" "$out/client_ca.crl" "$out/root2_ca.crl" >"$out/empty_crls.crl"

# Keys are committed world-readable (git keeps no modes); tests copy them
# to a private directory with mode 0600 before use.
chmod 644 "$out"/*

echo "test PKI written to $out"
