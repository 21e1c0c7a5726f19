/* mtls_ident--1.0--1.1.sql: what 1.1 adds to 1.0.  CREATE EXTENSION at 1.1
 * runs mtls_ident--1.0.sql then this script; ALTER EXTENSION mtls_ident
 * UPDATE runs this script alone.  Bindings are security labels on roles, not
 * extension objects, so no step here touches them. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mtls_ident UPDATE TO '1.1'" to load this file. \quit

-- revocation_sources: one row per revocation source location (CRL files;
-- fetched CRLs and OCSP responders).  Paths, issuers and errors of the
-- server's revocation configuration: pg_read_all_stats, not PUBLIC.
CREATE FUNCTION mtls_ident._revocation_sources(
    OUT source text, OUT location text, OUT issuer text,
    OUT last_attempt timestamptz, OUT last_success timestamptz,
    OUT this_update timestamptz, OUT next_update timestamptz,
    OUT entries bigint, OUT queries bigint, OUT failures bigint,
    OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_revocation_sources'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW mtls_ident.revocation_sources AS
SELECT r.source, r.location, r.issuer, r.last_attempt, r.last_success,
       r.this_update, r.next_update, r.entries, r.queries, r.failures, r.error
FROM mtls_ident._revocation_sources() r;

REVOKE ALL ON FUNCTION mtls_ident._revocation_sources() FROM PUBLIC;
REVOKE ALL ON mtls_ident.revocation_sources FROM PUBLIC;
GRANT SELECT ON mtls_ident.revocation_sources TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION mtls_ident._revocation_sources() TO pg_read_all_stats;
