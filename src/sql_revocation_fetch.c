/*-------------------------------------------------------------------------
 *
 * sql_revocation_fetch.c
 *		mtls_ident._revocation_sources_remote(): the fetch and ocsp rows of
 *		view revocation_sources (SPEC section 8).
 *
 * One row per location: each CRL distribution point URL (crl_fetch.c) and
 * each OCSP responder URL (ocsp.c).  Columns are those of the view; the
 * view unions these rows with the file rows.  Executable only by
 * pg_read_all_stats (the upgrade script revokes it from PUBLIC): URLs and
 * error texts tell which CAs the clients use.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "crl_fetch.h"
#include "ocsp.h"

PG_FUNCTION_INFO_V1(mtls_ident_revocation_sources_remote);

#define MAX_ROWS 128

static Datum
ts_or_null(int64 t, bool *isnull)
{
	*isnull = t == 0;
	return t == 0 ? (Datum) 0 : TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) t));
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = s[0] == '\0';
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

Datum
mtls_ident_revocation_sources_remote(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MiRevSourceRow *rows = palloc(sizeof(MiRevSourceRow) * MAX_ROWS);
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	n = mi_crl_fetch_source_rows(rows, MAX_ROWS);
	n += mi_ocsp_source_rows(rows + n, MAX_ROWS - n);

	for (int i = 0; i < n; i++)
	{
		MiRevSourceRow *r = &rows[i];
		Datum		values[11];
		bool		nulls[11] = {0};

		values[0] = CStringGetTextDatum(r->source);
		values[1] = CStringGetTextDatum(r->location);
		values[2] = text_or_null(r->issuer, &nulls[2]);
		values[3] = ts_or_null(r->last_attempt, &nulls[3]);
		values[4] = ts_or_null(r->last_success, &nulls[4]);
		values[5] = ts_or_null(r->this_update, &nulls[5]);
		values[6] = ts_or_null(r->next_update, &nulls[6]);
		values[7] = Int64GetDatum(r->entries);
		values[8] = Int64GetDatum(r->queries);
		values[9] = Int64GetDatum(r->failures);
		values[10] = text_or_null(r->error, &nulls[10]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
