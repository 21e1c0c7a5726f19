/*-------------------------------------------------------------------------
 *
 * http.h
 *		One bounded HTTP exchange (RFC 6960 POST for OCSP, GET for CRLs)
 *		through OpenSSL's HTTP client.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_HTTP_H
#define MI_HTTP_H

#include "postgres.h"

/*
 * Fetch an http:// URL.  With req_item/req != NULL (an ASN1_ITEM * and the
 * value to DER-encode, declared void * so users need not include OpenSSL)
 * the request is a POST of content type content_type, else a GET.  The
 * response must be a 200 carrying one DER (ASN.1) body of at most max_len
 * bytes, within timeout_ms.  No redirects, no https, no user info.  The
 * wait is interruptible (CHECK_FOR_INTERRUPTS: authentication_timeout,
 * SIGTERM).  Returns a palloc'd body in *out, or NULL with err filled in.
 */
extern unsigned char *mi_http_fetch(const char *url, const char *content_type,
									const void *req_item, const void *req,
									size_t max_len, int timeout_ms,
									size_t *out_len, char *err, size_t errlen);

/* is this a URL mi_http_fetch accepts (http://host[:port]/...)? */
extern bool mi_http_url_ok(const char *url);

#endif							/* MI_HTTP_H */
