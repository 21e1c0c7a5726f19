/*-------------------------------------------------------------------------
 *
 * auth_hook.h
 *		The login hook, and what it remembers about this session.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_AUTH_HOOK_H
#define MI_AUTH_HOOK_H

#include "postgres.h"

#include "cert.h"
#include "decision.h"

/*
 * This backend's certificate identity, set at login when a verified client
 * certificate was presented (in TopMemoryContext).  mi_session_identity is
 * NULL unless a binding matched.
 */
extern MiCert *mi_session_cert;
extern char *mi_session_identity;

/* "ssl_peer_verified(port)": the verified peer certificate, read into an MiCert */
struct Port;
extern bool mi_read_peer_certificate(struct Port *port, MiCert *out,
									 char *err, size_t errlen);

/* "YYYY-MM-DD HH:MM:SS UTC" for Unix seconds (allocated) */
extern char *mi_format_unix_time(int64_t t);

/* a client-chosen name, escaped for the server log (allocated) */
extern char *mi_log_quote(const char *s);

/* append a one-line description of a certificate for the server log */
struct StringInfoData;
extern void mi_describe_cert(struct StringInfoData *buf, const MiCert *cert);

#endif							/* MI_AUTH_HOOK_H */
