/*-------------------------------------------------------------------------
 *
 * ssl_reason.h
 *		The reason of the last OpenSSL error, for the messages of the
 *		modules that call OpenSSL (ca_store.c, crl_verify.c, http.c,
 *		ocsp.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTLS_IDENT_SSL_REASON_H
#define MTLS_IDENT_SSL_REASON_H

#include <openssl/err.h>

/* the reason of the last error on this thread's OpenSSL queue, or dflt */
static inline const char *
mi_ssl_reason(const char *dflt)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : dflt;
}

#endif							/* MTLS_IDENT_SSL_REASON_H */
