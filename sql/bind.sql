-- bind, unbind, revoke_issued_before and view bindings
CREATE EXTENSION mtls_ident;

CREATE ROLE billing LOGIN;
CREATE ROLE staff NOLOGIN;
CREATE ROLE dave LOGIN IN ROLE staff;

-- one binding of every kind
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing');
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/prod/sa/billing/**');
SELECT mtls_ident.bind('billing', 'dns:*.db.example.com');
SELECT mtls_ident.bind('billing', 'email:*@example.com');
SELECT mtls_ident.bind('billing', 'ip:10.0.0.0/8');
SELECT mtls_ident.bind('billing', 'ip:2001:db8::/32');
SELECT mtls_ident.bind('billing', 'cn:legacy-app');
SELECT mtls_ident.bind('billing', 'dn:CN=alice,OU=eng,O=Example');
SELECT mtls_ident.bind('billing', 'sha256:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89');
SELECT mtls_ident.bind('billing', 'uri:~spiffe://example\.org/ns/(prod|staging)/sa/billing');
SELECT mtls_ident.bind('billing', 'dns:db.example.com', 'CN=Client CA,O=Example');
SELECT mtls_ident.bind('billing', 'dns:db.example.com', 'sha256:' || repeat('AB', 32));
SELECT mtls_ident.bind('staff', 'email:{role}@example.com');

-- idempotent: the same binding twice is one binding
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/ns/*/sa/billing');
SELECT mtls_ident.bind('billing', 'sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789');

SELECT role, identity, issuer, revoked_before FROM mtls_ident.bindings ORDER BY role, identity, issuer;

-- the label is human-readable
SELECT label FROM pg_shseclabel WHERE provider = 'mtls_ident' AND objoid = 'staff'::regrole;

-- unbind removes every binding with that identity; false when none
SELECT mtls_ident.unbind('billing', 'dns:db.example.com');
SELECT mtls_ident.unbind('billing', 'dns:db.example.com');
SELECT mtls_ident.unbind('billing', 'sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789');
SELECT mtls_ident.unbind('dave', 'dns:nothing.example.com');
SELECT count(*) FROM mtls_ident.bindings WHERE role = 'billing';

-- revocation cutoff
SELECT mtls_ident.revoke_issued_before('dave', '2026-01-02 03:04:05.678901+00');
SELECT role, identity, revoked_before FROM mtls_ident.bindings WHERE role = 'dave';
SELECT mtls_ident.revoke_issued_before('dave', NULL);
SELECT count(*) FROM mtls_ident.bindings WHERE role = 'dave';
SELECT mtls_ident.revoke_issued_before('dave', 'infinity');

-- bad input: a clear error, and nothing changes
CREATE TEMP TABLE before AS SELECT * FROM mtls_ident.bindings;
SELECT mtls_ident.bind('billing', 'foo:bar');
SELECT mtls_ident.bind('billing', 'spiffe://example.org/x');
SELECT mtls_ident.bind('billing', 'uri:');
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/a/../b');
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/a/b*');
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/**/b');
SELECT mtls_ident.bind('billing', 'uri:spiffe://example.org/a%2fb');
SELECT mtls_ident.bind('billing', 'dns:a.*.example.com');
SELECT mtls_ident.bind('billing', 'dns:*');
SELECT mtls_ident.bind('billing', 'email:no-at-sign');
SELECT mtls_ident.bind('billing', 'ip:10.0.0.0/33');
SELECT mtls_ident.bind('billing', 'ip:10.0.0.1/8');
SELECT mtls_ident.bind('billing', 'ip:300.1.1.1');
SELECT mtls_ident.bind('billing', 'ip:{role}');
SELECT mtls_ident.bind('billing', 'sha256:abcd');
SELECT mtls_ident.bind('billing', 'uri:~spiffe://(unclosed');
-- a regex cannot escape its anchoring, nor run unbounded (doc/matching.md)
SELECT mtls_ident.bind('billing', 'uri:~spiffe://example\.org/ns/prod/sa/billing)|(nomatch');
SELECT mtls_ident.bind('billing', 'dns:~a)|(.*');
SELECT mtls_ident.bind('billing', 'cn:~***:a');
SELECT mtls_ident.bind('billing', 'cn:~***=a)|(b');
SELECT mtls_ident.bind('billing', 'cn:~(?i)billing');
SELECT mtls_ident.bind('billing', 'cn:~(a*)(a*)(a*)\1\2\3');
SELECT mtls_ident.bind('billing', 'cn:~a(?=b)b');
SELECT mtls_ident.bind('billing', 'cn:~(?<!a)b');
SELECT mtls_ident.bind('billing', 'cn:~[)|(]x');
SELECT mtls_ident.bind('billing', 'cn:~x\');
SELECT mtls_ident.bind('billing', 'cn:~[{role}]');
SELECT mtls_ident.bind('billing', 'cn:~a{1,2}');
-- the same rules for labels written by hand
SECURITY LABEL FOR mtls_ident ON ROLE billing IS 'bind "uri:~spiffe://example\\.org/ns/prod/sa/billing)|(nomatch"';
SECURITY LABEL FOR mtls_ident ON ROLE billing IS 'bind "cn:~(a*)\\1"';
SECURITY LABEL FOR mtls_ident ON ROLE billing IS 'bind "cn:~(?=a)a"';
SELECT mtls_ident.bind('billing', E'cn:tab\there');
SELECT mtls_ident.bind('billing', 'dns:db.example.com', '');
SELECT mtls_ident.bind('billing', 'dns:db.example.com', 'sha256:xyz');
SELECT mtls_ident.bind('billing', 'dns:' || repeat('a', 2000) || '.com');
SELECT mtls_ident.bind('no_such_role', 'dns:db.example.com');
SELECT mtls_ident.bind(NULL, 'dns:db.example.com');
SELECT mtls_ident.bind('billing', NULL);
SELECT mtls_ident.unbind(NULL, 'dns:db.example.com');
SELECT count(*) AS changed FROM (
  (SELECT * FROM mtls_ident.bindings EXCEPT ALL SELECT * FROM before)
  UNION ALL
  (SELECT * FROM before EXCEPT ALL SELECT * FROM mtls_ident.bindings)) d;

-- labels go away with the role
DROP ROLE dave;
SELECT count(*) FROM pg_shseclabel s WHERE provider = 'mtls_ident'
  AND NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = s.objoid);
