/* mtls_ident--1.0--1.1.sql: what 1.1 adds to 1.0.  CREATE EXTENSION at 1.1
 * runs mtls_ident--1.0.sql then this script; ALTER EXTENSION mtls_ident
 * UPDATE runs this script alone.  Bindings are security labels on roles, not
 * extension objects, so no step here touches them. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mtls_ident UPDATE TO '1.1'" to load this file. \quit

-- revocation_sources rows of fetched CRLs and OCSP responders (SPEC 8)
CREATE FUNCTION mtls_ident._revocation_sources_remote(
    OUT source text, OUT location text, OUT issuer text,
    OUT last_attempt timestamptz, OUT last_success timestamptz,
    OUT this_update timestamptz, OUT next_update timestamptz,
    OUT entries bigint, OUT queries bigint, OUT failures bigint,
    OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_revocation_sources_remote'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION mtls_ident._revocation_sources_remote() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mtls_ident._revocation_sources_remote() TO pg_read_all_stats;
