-- SECURITY LABEL FOR mtls_ident: the check hook validates every label
CREATE ROLE lbl LOGIN;
CREATE TABLE not_a_role (x int);

SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'bind "uri:spiffe://example.org/ns/prod/sa/lbl"
bind "dns:db.example.com" issuer "CN=Client CA"
revoked_before "2026-11-23 10:00:00.000000+00"';
SELECT role, identity, issuer, revoked_before FROM mtls_ident.bindings WHERE role = 'lbl' ORDER BY identity;

-- malformed labels are refused and the old label stays
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'bind uri:spiffe://unquoted';
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'bind "uri:spiffe://example.org/x';
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'grant "uri:spiffe://example.org/x"';
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'bind "foo:bar"';
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'bind "dns:db.example.com" issuer "sha256:00"';
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'revoked_before "2026-13-01 00:00:00+00"';
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'revoked_before "yesterday"';
SECURITY LABEL FOR mtls_ident ON TABLE not_a_role IS 'bind "dns:db.example.com"';
SELECT count(*) FROM mtls_ident.bindings WHERE role = 'lbl';

-- removing the label is always allowed
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS NULL;
SELECT count(*) FROM mtls_ident.bindings WHERE role = 'lbl';

-- who may bind: like SECURITY LABEL ON ROLE (CREATEROLE; superuser for superusers)
CREATE ROLE plain LOGIN;
CREATE ROLE admin LOGIN CREATEROLE;
CREATE ROLE su LOGIN SUPERUSER;
SET ROLE plain;
SELECT mtls_ident.bind('lbl', 'dns:db.example.com');
SELECT mtls_ident.unbind('lbl', 'dns:db.example.com');
SELECT mtls_ident.revoke_issued_before('lbl');
SECURITY LABEL FOR mtls_ident ON ROLE lbl IS 'bind "dns:x.example.com"';
RESET ROLE;
SET ROLE admin;
SELECT mtls_ident.bind('lbl', 'dns:db.example.com');
SELECT mtls_ident.bind('su', 'dns:db.example.com');
RESET ROLE;
SELECT role, identity FROM mtls_ident.bindings WHERE role IN ('lbl', 'su') ORDER BY 1, 2;

-- auth_log and stats are not readable by PUBLIC; sessions is
SET ROLE plain;
SELECT count(*) FROM mtls_ident.auth_log;
SELECT count(*) FROM mtls_ident.stats;
SELECT mtls_ident.reset_stats();
SELECT count(*) FROM mtls_ident.sessions;
RESET ROLE;
GRANT pg_read_all_stats TO plain;
SET ROLE plain;
SELECT count(*) >= 0 AS readable FROM mtls_ident.auth_log;
SELECT count(*) AS rows FROM mtls_ident.stats;
RESET ROLE;

-- settings: the prefix is reserved
SET mtls_ident.no_such_setting = 1;
SHOW mtls_ident.mode;
SET mtls_ident.mode = 'audit';
