/* mtls_ident--1.0--1.1.sql: what 1.1 adds to 1.0.  CREATE EXTENSION at 1.1
 * runs mtls_ident--1.0.sql then this script; ALTER EXTENSION mtls_ident
 * UPDATE runs this script alone.  Bindings are security labels on roles, not
 * extension objects, so no step here touches them. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mtls_ident UPDATE TO '1.1'" to load this file. \quit
