/*-------------------------------------------------------------------------
 *
 * sql_revocation.c
 *		SQL function behind the revocation_sources view: one row per
 *		revocation source location.
 *
 * Each source module reports its own rows through revocation_report.h:
 * CRL files (crl_files.c) today; fetched CRLs and OCSP add one call each
 * in report_all().  Rows are materialised into a tuplestore; no lock is
 * held while they are written (each report copies its shared state first).
 *
 * Security: the function and the view are not executable/readable by
 * PUBLIC (the upgrade script revokes them and grants them to
 * pg_read_all_stats): paths, issuer names and error texts of the server's
 * revocation configuration are not for every role.  A role granted SELECT
 * and EXECUTE by an administrator sees every row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "crl_fetch.h"
#include "crl_files.h"
#include "ocsp.h"
#include "revocation_report.h"

PG_FUNCTION_INFO_V1(mtls_ident_revocation_sources);

#define NCOLS 11

static void
emit_row(const MiRevocationRow *row, void *arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	Datum		values[NCOLS];
	bool		nulls[NCOLS];

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(row->source);
	values[1] = CStringGetTextDatum(row->location);
	if (row->issuer != NULL)
		values[2] = CStringGetTextDatum(row->issuer);
	else
		nulls[2] = true;
	values[3] = TimestampTzGetDatum(row->last_attempt);
	nulls[3] = row->last_attempt == 0;
	values[4] = TimestampTzGetDatum(row->last_success);
	nulls[4] = row->last_success == 0;
	values[5] = TimestampTzGetDatum(row->this_update);
	nulls[5] = row->this_update == 0;
	values[6] = TimestampTzGetDatum(row->next_update);
	nulls[6] = row->next_update == 0;
	values[7] = Int64GetDatum(row->entries);
	values[8] = Int64GetDatum(row->queries);
	values[9] = Int64GetDatum(row->failures);
	if (row->error != NULL)
		values[10] = CStringGetTextDatum(row->error);
	else
		nulls[10] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* every source's rows: add a source's report function here */
static void
report_all(MiRevocationEmit emit, void *arg)
{
	mi_crl_files_report(emit, arg);
	mi_crl_fetch_report(emit, arg);	/* fetched CRLs */
	mi_ocsp_report(emit, arg);	/* OCSP responders */
}

Datum
mtls_ident_revocation_sources(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	report_all(emit_row, rsinfo);
	PG_RETURN_VOID();
}
