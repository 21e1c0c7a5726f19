#!/bin/sh
#
# check-pki.sh -- sanity check of the committed test PKI: every client
# certificate verifies against trusted_roots.crt through client_ca (except
# the ones meant not to), every NAME.crt starts with NAME.leaf.crt, and
# every key matches its certificate.  Prints one line per certificate.

set -u
cd "$(dirname "$0")/certs" || exit 1

# Certificates that must NOT verify, and why.
must_fail="untrusted_client expired_static not_yet_valid_static hostile_san_malformed"

status=0
for leaf in *.leaf.crt; do
	name=${leaf%.leaf.crt}
	if openssl verify -CAfile trusted_roots.crt -untrusted client_ca.crt \
		"$leaf" >/dev/null 2>&1; then
		verdict=verifies
	else
		verdict=refused
	fi
	case " $must_fail " in
		*" $name "*) want=refused ;;
		*) want=verifies ;;
	esac
	[ "$verdict" = "$want" ] || { echo "FAIL $name: $verdict, expected $want"; status=1; }

	head -c "$(wc -c <"$leaf")" "$name.crt" | cmp -s - "$leaf" ||
		{ echo "FAIL $name: $name.crt does not start with the leaf"; status=1; }

	k=$(openssl pkey -in "$name.key" -pubout 2>/dev/null)
	c=$(openssl x509 -in "$leaf" -noout -pubkey 2>/dev/null)
	[ "$k" = "$c" ] || { echo "FAIL $name: key does not match"; status=1; }

	san=$(openssl x509 -in "$leaf" -noout -ext subjectAltName 2>/dev/null |
		sed 1d | tr -d '\n' | sed 's/^ *//' | cut -c1-70)
	subj=$(openssl x509 -in "$leaf" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
	printf '%-28s %-9s subject=[%s] %s\n' "$name" "$verdict" "$subj" "$san"
done
exit $status
