/* mtls_ident--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION mtls_ident" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Bindings (security labels on roles; see doc/labels.md)
-- ---------------------------------------------------------------------------

-- Privileges: bind, unbind and revoke_issued_before are executable by
-- PUBLIC but check, like SECURITY LABEL ON ROLE, that the caller may alter
-- the role (CREATEROLE; superuser for a superuser role).
CREATE FUNCTION mtls_ident.bind(role regrole, identity text, issuer text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'mtls_ident_bind'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION mtls_ident.unbind(role regrole, identity text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mtls_ident_unbind'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION mtls_ident.revoke_issued_before(role regrole, cutoff timestamptz DEFAULT now())
RETURNS void
AS 'MODULE_PATHNAME', 'mtls_ident_revoke_issued_before'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION mtls_ident._label_entries(label text,
    OUT identity text, OUT issuer text, OUT revoked_before timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_label_entries'
LANGUAGE C STRICT IMMUTABLE;

-- Labels are not secret: pg_shseclabel is readable by every role, so this
-- view shows nothing a role could not read already.
CREATE VIEW mtls_ident.bindings AS
SELECT r.rolname AS role, e.identity, e.issuer, e.revoked_before
FROM pg_catalog.pg_shseclabel s
JOIN pg_catalog.pg_roles r ON r.oid = s.objoid,
LATERAL mtls_ident._label_entries(s.label) e
WHERE s.provider = 'mtls_ident'
  AND s.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass;

GRANT USAGE ON SCHEMA mtls_ident TO PUBLIC;
GRANT SELECT ON mtls_ident.bindings TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Certificates
-- ---------------------------------------------------------------------------

CREATE FUNCTION mtls_ident.cert_info(pem text,
    OUT subject text, OUT issuer text, OUT serial text, OUT fingerprint text,
    OUT not_before timestamptz, OUT not_after timestamptz,
    OUT sans text[], OUT eku text[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_cert_info'
LANGUAGE C CALLED ON NULL INPUT IMMUTABLE ROWS 1;

CREATE FUNCTION mtls_ident.check(pem text, role regrole,
    OUT allowed boolean, OUT reason text, OUT identity text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_check'
LANGUAGE C CALLED ON NULL INPUT VOLATILE ROWS 1;

CREATE FUNCTION mtls_ident.session_identity()
RETURNS text
AS 'MODULE_PATHNAME', 'mtls_ident_session_identity'
LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE FUNCTION mtls_ident.session_sans()
RETURNS text[]
AS 'MODULE_PATHNAME', 'mtls_ident_session_sans'
LANGUAGE C STABLE PARALLEL RESTRICTED;

-- ---------------------------------------------------------------------------
-- Sessions, authentication events and counters (shared memory)
-- ---------------------------------------------------------------------------

-- Visibility as pg_stat_activity: rows of roles whose privileges the
-- caller has; all rows for members of pg_read_all_stats.
CREATE FUNCTION mtls_ident._sessions(
    OUT pid int, OUT role text, OUT database text, OUT client_addr text,
    OUT identity text, OUT subject text, OUT issuer text, OUT serial text,
    OUT fingerprint text, OUT sans text[], OUT not_before timestamptz,
    OUT not_after timestamptz, OUT authenticated_at timestamptz,
    OUT sans_truncated boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_sessions'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW mtls_ident.sessions AS
SELECT s.pid, s.role::name AS role, s.database::name AS database,
       s.client_addr::inet AS client_addr, s.identity, s.subject, s.issuer,
       s.serial, s.fingerprint, s.sans, s.not_before, s.not_after,
       s.authenticated_at, s.sans_truncated
FROM mtls_ident._sessions() s;

GRANT SELECT ON mtls_ident.sessions TO PUBLIC;

-- auth_log, stats and reset_stats are not for PUBLIC.  Members of
-- pg_read_all_stats can read auth_log and stats (granted below) and see
-- every event; to let another role read them, grant SELECT on the view and
-- EXECUTE on its function: that role then sees its own events only.
-- reset_stats() is for superusers unless granted.
CREATE FUNCTION mtls_ident._auth_log(
    OUT at timestamptz, OUT pid int, OUT client_addr text, OUT role text,
    OUT database text, OUT outcome text, OUT reason text, OUT identity text,
    OUT subject text, OUT issuer text, OUT serial text, OUT fingerprint text,
    OUT sans text[], OUT not_after timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_auth_log'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW mtls_ident.auth_log AS
SELECT a.at, a.pid, a.client_addr::inet AS client_addr, a.role::name AS role,
       a.database::name AS database, a.outcome, a.reason, a.identity,
       a.subject, a.issuer, a.serial, a.fingerprint, a.sans, a.not_after
FROM mtls_ident._auth_log() a;

CREATE FUNCTION mtls_ident._stats(OUT outcome text, OUT reason text, OUT count bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_stats'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW mtls_ident.stats AS
SELECT s.outcome, s.reason, s.count FROM mtls_ident._stats() s;

CREATE FUNCTION mtls_ident.reset_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'mtls_ident_reset_stats'
LANGUAGE C STRICT VOLATILE;

REVOKE ALL ON FUNCTION mtls_ident._auth_log() FROM PUBLIC;
REVOKE ALL ON FUNCTION mtls_ident._stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION mtls_ident.reset_stats() FROM PUBLIC;
REVOKE ALL ON mtls_ident.auth_log FROM PUBLIC;
REVOKE ALL ON mtls_ident.stats FROM PUBLIC;

-- members of pg_read_all_stats (and so pg_monitor) may read them
GRANT SELECT ON mtls_ident.auth_log, mtls_ident.stats TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION mtls_ident._auth_log(), mtls_ident._stats() TO pg_read_all_stats;
