/*-------------------------------------------------------------------------
 *
 * format.h
 *		How mtls_ident writes a certificate, a time, a reason or a
 *		client-chosen name, in the server log and in SQL values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_FORMAT_H
#define MI_FORMAT_H

#include "postgres.h"

#include "cert.h"
#include "decision.h"

/* a client-chosen name, escaped for the server log (allocated) */
extern char *mi_log_quote(const char *s);

/* a client-chosen name as SQL text: invalid or control bytes as \xNN */
extern char *mi_sql_name(const char *s);

/* append a one-line description of a certificate for the server log */
struct StringInfoData;
extern void mi_describe_cert(struct StringInfoData *buf, const MiCert *cert);

/* "YYYY-MM-DD HH:MM:SS UTC" for Unix seconds (allocated) */
extern char *mi_format_unix_time(int64_t t);

/*
 * Why a live session ends, for a reason: a phrase such as "the client
 * certificate was revoked" (the client's FATAL and the log say it);
 * mi_ending_phrase takes the reason's name ("revoked", ...).
 */
extern const char *mi_reason_phrase(MiReason r);
extern const char *mi_ending_phrase(const char *reason);

/* TimestampTz (microseconds since 2000) to Unix seconds, rounded up */
extern int64_t mi_timestamptz_to_unix_ceil(int64_t ts);

/* Unix seconds to TimestampTz */
extern int64_t mi_unix_to_timestamptz(int64_t t);

/* text[] from C strings */
extern Datum mi_text_array(char **items, int n);

/* text[] of the typed SANs of a certificate */
extern Datum mi_cert_sans_array(const MiCert *cert);

#endif							/* MI_FORMAT_H */
