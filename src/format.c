/*-------------------------------------------------------------------------
 *
 * format.c
 *		How mtls_ident writes a certificate, a time, a reason or a
 *		client-chosen name: in the server log and in SQL values.
 *
 * One low module for every writer (the login hook, the enforcer, the
 * statement-start expiry check, the views and the SQL functions), so that a
 * certificate or a time reads the same wherever it appears.  Nothing here
 * touches shared memory or the catalog.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "format.h"
#include "pattern.h"

/* SANs written in one log line; the rest are counted */
#define MI_LOG_MAX_SANS 16

/* seconds from 1970-01-01 to 2000-01-01 */
#define MI_EPOCH_DIFF_S INT64CONST(946684800)
#define MI_USECS_PER_S INT64CONST(1000000)

/*
 * A client-chosen name (role, database) for the log line: quotes,
 * backslashes and control bytes escaped, so that it cannot forge the
 * fields that follow it.
 */
char *
mi_log_quote(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	for (; s != NULL && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			appendStringInfo(&b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			appendStringInfo(&b, "\\x%02x", c);
		else
			appendStringInfoChar(&b, (char) c);
	}
	return b.data;
}

/*
 * A client-chosen name (the role or database an attempt asked for) as SQL
 * text: unchanged when it is valid in the database encoding and has no
 * control bytes, else with each offending byte written \xNN.  A client can
 * send any bytes in its startup packet, and a name cut at NAMEDATALEN can
 * end inside a character: auth_log must still be readable (and its rows
 * comparable, exported, converted) whatever was sent.
 */
char *
mi_sql_name(const char *s)
{
	int			len = (int) strlen(s);
	int			enc = GetDatabaseEncoding();
	const char *p = s;
	const char *end = s + len;
	StringInfoData b;

	initStringInfo(&b);
	while (p < end)
	{
		unsigned char c = (unsigned char) *p;
		int			l;

		if (c < 0x20 || c == 0x7f)
		{
			appendStringInfo(&b, "\\x%02x", c);
			p++;
			continue;
		}
		if (!IS_HIGHBIT_SET(c))
		{
			appendStringInfoChar(&b, (char) c);
			p++;
			continue;
		}
		l = pg_encoding_verifymbchar(enc, p, (int) (end - p));
		if (l > 0)
		{
			appendBinaryStringInfo(&b, p, l);
			p += l;
		}
		else
		{
			appendStringInfo(&b, "\\x%02x", c);
			p++;
		}
	}
	return b.data;
}

/*
 * One line for the server log: subject, issuer, serial, fingerprint and the
 * first MI_LOG_MAX_SANS SANs, each flagged when the matcher would refuse it.
 */
void
mi_describe_cert(StringInfo buf, const MiCert *cert)
{
	appendStringInfo(buf, "subject=\"%s\" issuer=\"%s\" serial=%s fingerprint=%s sans=[",
					 cert->subject_dn, cert->issuer_dn, cert->serial_hex,
					 cert->fingerprint);
	for (int i = 0; i < cert->nsans && i < MI_LOG_MAX_SANS; i++)
	{
		char	   *s = mi_san_typed(&cert->sans[i]);

		appendStringInfo(buf, "%s%s%s", i > 0 ? ", " : "", s,
						 mi_san_wellformed(&cert->sans[i]) ? "" : " (rejected as malformed)");
		pfree(s);
	}
	if (cert->nsans > MI_LOG_MAX_SANS)
		appendStringInfo(buf, ", ... %d more", cert->nsans - MI_LOG_MAX_SANS);
	if (cert->sans_truncated)
		appendStringInfoString(buf, ", ... (cut)");
	appendStringInfoChar(buf, ']');
}

char *
mi_format_unix_time(int64_t t)
{
	time_t		tt = (time_t) t;
	struct tm	tm;
	char		buf[64];

	if (gmtime_r(&tt, &tm) == NULL ||
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long) t);
	return pstrdup(buf);
}

/* why a session ends, by reason: the client's FATAL and our log say it */
const char *
mi_reason_phrase(MiReason r)
{
	switch (r)
	{
		case MI_REASON_EXPIRED:
			/* a live session's certificate was valid at login */
			return "the client certificate expired";
		case MI_REASON_REVOKED:
			return "the client certificate was revoked";
		case MI_REASON_ISSUED_BEFORE_CUTOFF:
			return "the client certificate was issued before the role's revocation cutoff";
		case MI_REASON_NO_BINDING:
		case MI_REASON_NO_MATCH:
		case MI_REASON_ISSUER_MISMATCH:
			return "the client certificate no longer matches the role's bindings";
		case MI_REASON_NOT_CLIENT_AUTH:
			return "the client certificate is not valid for client authentication";
		case MI_REASON_LIFETIME_TOO_LONG:
			return "the client certificate's validity period is longer than mtls_ident.max_certificate_lifetime";
		default:
			return "the client certificate no longer satisfies mtls_ident";
	}
}

const char *
mi_ending_phrase(const char *reason)
{
	for (int r = 0; r < MI_NUM_REASONS; r++)
		if (reason != NULL && strcmp(reason, mi_reason_name((MiReason) r)) == 0)
			return mi_reason_phrase((MiReason) r);
	return mi_reason_phrase(MI_NUM_REASONS);
}

int64_t
mi_timestamptz_to_unix_ceil(int64_t ts)
{
	int64_t		s = ts / MI_USECS_PER_S;

	if (ts % MI_USECS_PER_S > 0)
		s++;
	return s + MI_EPOCH_DIFF_S;
}

int64_t
mi_unix_to_timestamptz(int64_t t)
{
	return (t - MI_EPOCH_DIFF_S) * MI_USECS_PER_S;
}

Datum
mi_text_array(char **items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	ArrayType  *arr;

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	arr = construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
	return PointerGetDatum(arr);
}

Datum
mi_cert_sans_array(const MiCert *cert)
{
	char	  **items = palloc(sizeof(char *) * (cert->nsans > 0 ? cert->nsans : 1));

	for (int i = 0; i < cert->nsans; i++)
		items[i] = mi_san_typed(&cert->sans[i]);
	return mi_text_array(items, cert->nsans);
}
