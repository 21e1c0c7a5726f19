-- bindings_from_ident_map (doc/migration.md): the translation of one
-- pg_ident.conf line (_ident_binding, every shape; the same on every major:
-- whether the database user may be all, +group or /regex is a parameter),
-- and the proposed bindings accepted by bind() and admitting the committed
-- test certificates for the same roles as PostgreSQL's map would.
\set cn_legacy `cat test/pki/certs/cn_legacy.leaf.crt`
\set cn_legacy_san `cat test/pki/certs/cn_legacy_with_san.leaf.crt`
\set dn_alice `cat test/pki/certs/dn_alice.leaf.crt`
\set dn_comma `cat test/pki/certs/dn_comma.leaf.crt`
\pset null '(null)'

CREATE TEMP TABLE ident_lines(n int, sys_name text, pg_username text);
INSERT INTO ident_lines VALUES
  (1, 'legacy-app', 'mig_legacy'),
  (2, 'with space', 'mig_legacy'),
  (3, '~tilde{x}', 'mig_legacy'),
  (4, '/^legacy-[a-z]+$', 'mig_legacy'),
  (5, '/legacy', 'mig_legacy'),
  (6, '/^legacy', 'mig_legacy'),
  (7, '/app$', 'mig_legacy'),
  (8, '/^a|b$', 'mig_legacy'),
  (9, '/a[{}]b(?#comment)', 'mig_legacy'),
  (10, '/^(.*)$', '\1'),
  (11, '/^(.*)@example\.com$', '\1'),
  (12, '/(.*)@example\.com$', '\1'),
  (13, '/^svc-([a-z]+)$', '\1'),
  (14, '/^(\w+)\.(\w+)$', '\1'),
  (15, '/svc-(.*)', '\1'),
  (16, '/^(a+)*$', '\1'),
  (17, '/^(.*)$', '\1_ro'),
  (18, '/^abc$', '\1'),
  (19, '/^(a)\1$', 'mig_legacy'),
  (20, '/^x{2}$', 'mig_legacy'),
  (21, '/(?i)abc', 'mig_legacy'),
  (22, '/^$', 'mig_legacy'),
  (23, '', 'mig_legacy'),
  (24, 'x', 'all'),
  (25, 'x', '+mig_staff'),
  (26, '/^x$', '/^mig_'),
  (27, '/^[[:alpha:]]+\.(x)$', '\1'),
  (28, '/^(?=x)x$', 'mig_legacy'),
  (29, '/^a*?$', 'mig_legacy'),
  (30, '/' || repeat('a*', 32), 'mig_legacy'),
  (31, '/^' || repeat('a*', 32) || '$', 'mig_legacy');

-- CN map, PostgreSQL 16 and later (database user keywords), group given
SELECT n, b.role, b.identity, b.note
FROM ident_lines l, mtls_ident._ident_binding(l.sys_name, l.pg_username, 'cn', true, 'mig_staff') b
ORDER BY n;

-- PostgreSQL 15: all, +group and /regex are role names; no group given
SELECT n, b.role, b.identity, b.note
FROM ident_lines l, mtls_ident._ident_binding(l.sys_name, l.pg_username, 'cn', false, NULL) b
WHERE n IN (10, 24, 25, 26)
ORDER BY n;

-- DN map: the capture group [^,]+ would need a lookahead, (.*) does not
SELECT b.role, b.identity, b.note
FROM (VALUES ('CN=Smith\, John,O=Example', 'mig_smith'),
             ('/^CN=([^,]+),OU=eng,O=Example$', '\1'),
             ('/^CN=(.*),OU=eng,O=Example$', '\1')) v(s, u),
     mtls_ident._ident_binding(v.s, v.u, 'dn', true, 'mig_staff') b;

-- what bind() refuses among the translations (bindings_from_ident_map turns
-- these rows into identity NULL with a note): a lookahead or a non-greedy
-- quantifier in the line's own regex, and 32 quantifiers plus the two .*
-- that keep an unanchored regex's meaning; 31 (32 quantifiers) is accepted
SELECT n, b.identity, mtls_ident._identity_refusal(b.identity) AS bind_refuses
FROM ident_lines l, mtls_ident._ident_binding(l.sys_name, l.pg_username, 'cn', true, 'mig_staff') b
WHERE mtls_ident._identity_refusal(b.identity) IS NOT NULL
ORDER BY n;

CREATE ROLE mig_staff NOLOGIN;
CREATE ROLE mig_legacy LOGIN;
CREATE ROLE mig_smith LOGIN;
CREATE ROLE mig_dn NOLOGIN;
CREATE ROLE alice LOGIN IN ROLE mig_dn;
CREATE ROLE "legacy-app" LOGIN IN ROLE mig_staff;
CREATE ROLE mig_other LOGIN;
-- every other identity is accepted by bind() as proposed, and a row without
-- an identity always has a note
SELECT n, e.identity = b.identity AS bound_as_proposed
FROM ident_lines l,
     mtls_ident._ident_binding(l.sys_name, l.pg_username, 'cn', true, 'mig_staff') b,
     mtls_ident._label_entries('bind "' || replace(replace(b.identity, '\', '\\'), '"', '\"') || '"') e
WHERE mtls_ident._identity_refusal(b.identity) IS NULL
ORDER BY n;
SELECT count(*) AS rows_without_identity_or_note
FROM ident_lines l, mtls_ident._ident_binding(l.sys_name, l.pg_username, 'cn', true, 'mig_staff') b
WHERE b.identity IS NULL AND b.note IS NULL;

-- and admits what PostgreSQL's map admits: CN=legacy-app as mig_legacy
-- (line 1, exact), as legacy-app through {role} (line 10); the DN lines
SELECT mtls_ident.bind('mig_legacy', identity) FROM mtls_ident._ident_binding('legacy-app', 'mig_legacy', 'cn', true, NULL);
SELECT mtls_ident.bind('mig_staff', identity) FROM mtls_ident._ident_binding('/^(.*)$', '\1', 'cn', true, 'mig_staff');
SELECT mtls_ident.bind('mig_smith', identity) FROM mtls_ident._ident_binding('CN=Smith\, John,O=Example', 'mig_smith', 'dn', true, NULL);
SELECT mtls_ident.bind('mig_dn', identity) FROM mtls_ident._ident_binding('/^CN=(.*),OU=eng,O=Example$', '\1', 'dn', true, 'mig_dn');
SELECT * FROM mtls_ident.check(:'cn_legacy', 'mig_legacy');
SELECT * FROM mtls_ident.check(:'cn_legacy', '"legacy-app"');
SELECT * FROM mtls_ident.check(:'cn_legacy', 'mig_other');
SELECT * FROM mtls_ident.check(:'dn_comma', 'mig_smith');
SELECT * FROM mtls_ident.check(:'dn_alice', 'alice');
SELECT * FROM mtls_ident.check(:'dn_alice', 'mig_smith');
SELECT * FROM mtls_ident.check(:'dn_comma', 'alice');
-- the documented difference: cn: never matches a certificate with SANs,
-- which PostgreSQL's map admitted by its CN
SELECT * FROM mtls_ident.check(:'cn_legacy_san', 'mig_legacy');

-- the function itself: this instance's pg_ident.conf has no such map
SELECT * FROM mtls_ident.bindings_from_ident_map('no_such_map');
\set VERBOSITY terse
SELECT * FROM mtls_ident.bindings_from_ident_map(NULL);
\set VERBOSITY default

DROP ROLE alice, "legacy-app", mig_other, mig_smith, mig_legacy, mig_staff, mig_dn;
