/* mtls_ident--1.0--1.1.sql: what 1.1 adds to 1.0.  CREATE EXTENSION at 1.1
 * runs mtls_ident--1.0.sql then this script; ALTER EXTENSION mtls_ident
 * UPDATE runs this script alone.  Bindings are security labels on roles, not
 * extension objects, so no step here touches them. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mtls_ident UPDATE TO '1.1'" to load this file. \quit

-- memory: what each module of mtls_ident takes in shared memory (fixed, as
-- pg_shmem_allocations counts it) and in its dynamic area (dynamic shared
-- memory allocated as used: session facts too large for their slot, the
-- label cache).  Numbers only; readable like stats.
CREATE FUNCTION mtls_ident._memory(
	OUT area text, OUT shared_bytes bigint, OUT dynamic_bytes bigint,
	OUT dynamic_entries bigint, OUT dynamic_limit bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_memory'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW mtls_ident.memory AS
SELECT m.area, m.shared_bytes, m.dynamic_bytes, m.dynamic_entries, m.dynamic_limit
FROM mtls_ident._memory() m;

REVOKE ALL ON FUNCTION mtls_ident._memory() FROM PUBLIC;
REVOKE ALL ON mtls_ident.memory FROM PUBLIC;
GRANT SELECT ON mtls_ident.memory TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION mtls_ident._memory() TO pg_read_all_stats;
