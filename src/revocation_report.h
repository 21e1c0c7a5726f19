/*-------------------------------------------------------------------------
 *
 * revocation_report.h
 *		One row of the revocation_sources view, as each revocation source
 *		reports it.
 *
 * sql_revocation.c calls each source's report function (mi_crl_files_report
 * for CRL files; fetched CRLs and OCSP add theirs the same way), which
 * calls emit once per location with a row whose strings live at least
 * until emit returns.  Report functions copy their shared state under
 * their own lock and emit after releasing it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_REVOCATION_REPORT_H
#define MI_REVOCATION_REPORT_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct MiRevocationRow
{
	const char *source;			/* "file", "fetch", "ocsp" */
	const char *location;		/* path or URL */
	const char *issuer;			/* NULL: unknown */
	TimestampTz last_attempt;	/* 0: never (NULL) */
	TimestampTz last_success;	/* 0: never (NULL) */
	TimestampTz this_update;	/* 0: unknown (NULL) */
	TimestampTz next_update;	/* 0: none (NULL) */
	int64		entries;
	int64		queries;
	int64		failures;
	const char *error;			/* NULL once an attempt succeeded */
} MiRevocationRow;

typedef void (*MiRevocationEmit) (const MiRevocationRow *row, void *arg);

#endif							/* MI_REVOCATION_REPORT_H */
