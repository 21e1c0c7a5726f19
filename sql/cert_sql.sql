-- cert_info() and check() on committed test certificates.  Values that
-- change when the test PKI is regenerated (serial, fingerprint) are compared
-- with what openssl says, not hard-coded.
\set billing `cat test/pki/certs/spiffe_billing.leaf.crt`
\set billing_fp `openssl x509 -in test/pki/certs/spiffe_billing.leaf.crt -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f`
\set billing_serial `openssl x509 -in test/pki/certs/spiffe_billing.leaf.crt -noout -serial | sed 's/.*=//'`
\set multi `cat test/pki/certs/multi_san.leaf.crt`
\set dn_comma `cat test/pki/certs/dn_comma.leaf.crt`
\set eku_server `cat test/pki/certs/eku_server_only.leaf.crt`
\set eku_any `cat test/pki/certs/eku_any.leaf.crt`
\set eku_none `cat test/pki/certs/eku_none.leaf.crt`
\set expired `cat test/pki/certs/expired_static.leaf.crt`
\set future `cat test/pki/certs/not_yet_valid_static.leaf.crt`
\set dns_nul `cat test/pki/certs/hostile_dns_nul.leaf.crt`
\set cn_nul `cat test/pki/certs/hostile_cn_nul.leaf.crt`
\set many `cat test/pki/certs/many_sans_5000.leaf.crt`
\set chain `cat test/pki/certs/spiffe_billing.crt`
\set root2 `cat test/pki/certs/root2_client.leaf.crt`
\set root2_fp `openssl x509 -in test/pki/certs/root2_ca.crt -noout -fingerprint -sha256 | sed 's/.*=//'`

SELECT subject, issuer, serial = :'billing_serial' AS serial_ok,
       fingerprint = :'billing_fp' AS fingerprint_ok,
       not_after - not_before > interval '36000 days' AS long_lived, sans, eku
FROM mtls_ident.cert_info(:'billing');
SELECT sans FROM mtls_ident.cert_info(:'multi');
SELECT subject, sans FROM mtls_ident.cert_info(:'dn_comma');
SELECT eku FROM mtls_ident.cert_info(:'eku_server');
SELECT eku FROM mtls_ident.cert_info(:'eku_none');
SELECT sans FROM mtls_ident.cert_info(:'dns_nul');
SELECT subject FROM mtls_ident.cert_info(:'cn_nul');
SELECT cardinality(sans) FROM mtls_ident.cert_info(:'many');

-- garbage is an error, not a crash
SELECT * FROM mtls_ident.cert_info('not a certificate');
SELECT * FROM mtls_ident.cert_info('');
SELECT * FROM mtls_ident.cert_info(NULL);
SELECT * FROM mtls_ident.cert_info(E'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

-- check(): the login rules, as they stand now
CREATE ROLE app LOGIN;
CREATE ROLE unbound LOGIN;
SELECT * FROM mtls_ident.check(:'billing', 'unbound');
SELECT * FROM mtls_ident.check(:'billing', 'app');
SELECT mtls_ident.bind('app', 'uri:spiffe://example.org/ns/*/sa/billing');
SELECT * FROM mtls_ident.check(:'billing', 'app');
SELECT * FROM mtls_ident.check(:'multi', 'app');
SELECT mtls_ident.bind('app', 'uri:spiffe://example.org/ns/prod/sa/eku');
SELECT * FROM mtls_ident.check(:'eku_server', 'app');
SELECT * FROM mtls_ident.check(:'eku_any', 'app');
SELECT * FROM mtls_ident.check(:'eku_none', 'app');
SELECT * FROM mtls_ident.check(:'expired', 'app');
SELECT * FROM mtls_ident.check(:'future', 'app');
SELECT mtls_ident.bind('app', 'dns:~.*');
SELECT * FROM mtls_ident.check(:'dns_nul', 'app');
SELECT mtls_ident.revoke_issued_before('app', now());
SELECT * FROM mtls_ident.check(:'billing', 'app');
SELECT mtls_ident.revoke_issued_before('app', NULL);
-- issuer pins: without the chain only the issuer name is known
SELECT mtls_ident.bind('unbound', 'uri:spiffe://example.org/ns/prod/sa/billing', 'CN=mtls_ident test client CA,O=mtls_ident test');
SELECT * FROM mtls_ident.check(:'billing', 'unbound');
SELECT * FROM mtls_ident.check(:'root2', 'unbound');
SELECT mtls_ident.unbind('unbound', 'uri:spiffe://example.org/ns/prod/sa/billing');
SELECT mtls_ident.bind('unbound', 'uri:spiffe://example.org/ns/prod/sa/billing', 'CN=mtls_ident test root CA,O=mtls_ident test');
SELECT * FROM mtls_ident.check(:'billing', 'unbound');
SELECT * FROM mtls_ident.check(:'chain', 'unbound');
SELECT mtls_ident.bind('unbound', 'uri:spiffe://example.org/ns/prod/sa/billing', 'sha256:' || :'root2_fp');
SELECT * FROM mtls_ident.check(:'root2', 'unbound');
SELECT * FROM mtls_ident.check('x', 'no_such_role');
SELECT * FROM mtls_ident.check('garbage', 'app');

-- not in a certificate session
SELECT mtls_ident.session_identity(), mtls_ident.session_sans();
