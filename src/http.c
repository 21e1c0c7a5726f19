/*-------------------------------------------------------------------------
 *
 * http.c
 *		One bounded HTTP exchange through OpenSSL's HTTP client.
 *
 * OCSP (RFC 6960 appendix A: POST application/ocsp-request) and CRL
 * distribution points (RFC 5280: GET, DER) need a small HTTP client.  We
 * use OpenSSL 3's (OSSL_HTTP_REQ_CTX), which the server already links and
 * which its own OCSP and CMP clients use, rather than writing one: it
 * parses the status line and headers, checks Content-Length and the
 * ASN.1 length against a maximum, and never follows a redirect unless
 * asked.  We drive it non-blocking: the socket is put in non-blocking
 * mode, and every wait is a WaitLatchOrSocket bounded by the caller's
 * deadline, followed by CHECK_FOR_INTERRUPTS, so a responder that accepts
 * and never answers costs at most the timeout, and authentication_timeout
 * or a SIGTERM still end a waiting backend at once.
 *
 * Only http:// (OCSP and CRLs are signed objects; RFC 5280 and 6960 use
 * plain HTTP so the fetch cannot depend on the revocation status of a TLS
 * server), no user info, no redirects.  Name resolution (getaddrinfo) is
 * the one step that is not bounded by our timeout; use IP addresses or a
 * local resolver in responder URLs where that matters (doc/revocation.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/http.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "http.h"
#include "ssl_reason.h"

/*
 * Wait until fd is ready (or the deadline passes), staying interruptible.
 * Returns false on timeout.
 */
static bool
wait_socket(int fd, bool for_write, TimestampTz deadline)
{
	for (;;)
	{
		long		ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);
		int			rc;
		int			ev = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;

		if (ms <= 0)
			return false;
		if (fd >= 0)
			ev |= for_write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE;
		else
			ms = Min(ms, 10);	/* no socket yet: poll briefly */
		rc = WaitLatchOrSocket(MyLatch, ev, fd < 0 ? PGINVALID_SOCKET : fd,
							   ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			continue;
		}
		return true;			/* ready, or time to look again */
	}
}

/* the parts of a URL, as OSSL_HTTP_parse_url returns them (allocated) */
typedef struct MiUrl
{
	char	   *user;
	char	   *host;
	char	   *port;
	char	   *path;
	char	   *query;
	char	   *frag;
} MiUrl;

static void
url_free(MiUrl *u)
{
	OPENSSL_free(u->user);
	OPENSSL_free(u->host);
	OPENSSL_free(u->port);
	OPENSSL_free(u->path);
	OPENSSL_free(u->query);
	OPENSSL_free(u->frag);
	memset(u, 0, sizeof(*u));
	ERR_clear_error();
}

/*
 * Parse an http:// URL of printable ASCII with a host and no user info
 * into u (free it with url_free, also when this returns false).
 */
static bool
url_parse(const char *url, MiUrl *u)
{
	int			ssl = 0;

	memset(u, 0, sizeof(*u));
	if (url == NULL || strncmp(url, "http://", 7) != 0)
		return false;
	/* printable ASCII only: URLs reach the log and the request line */
	for (const char *c = url; *c; c++)
		if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f)
			return false;
	return OSSL_HTTP_parse_url(url, &ssl, &u->user, &u->host, &u->port, NULL,
							   &u->path, &u->query, &u->frag) == 1 &&
		!ssl && (u->user == NULL || u->user[0] == '\0') && u->host != NULL &&
		u->host[0] != '\0';
}

bool
mi_http_url_ok(const char *url)
{
	MiUrl		u;
	bool		ok = url_parse(url, &u);

	url_free(&u);
	return ok;
}

unsigned char *
mi_http_fetch(const char *url, const char *content_type,
			  const void *req_item, const void *req,
			  size_t max_len, int timeout_ms,
			  size_t *out_len, char *err, size_t errlen)
{
	MiUrl		u;
	char		fullpath[2048];
	char		hostport[600];
	BIO		   *bio = NULL;
	OSSL_HTTP_REQ_CTX *rctx = NULL;
	unsigned char *result = NULL;
	TimestampTz deadline;
	int			fd = -1;
	int			rc;

	*out_len = 0;
	err[0] = '\0';
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	if (!url_parse(url, &u))
	{
		snprintf(err, errlen, "not an http:// URL");
		goto done;
	}
	snprintf(fullpath, sizeof(fullpath), "%s%s%s", u.path,
			 u.query != NULL ? "?" : "", u.query != NULL ? u.query : "");
	snprintf(hostport, sizeof(hostport), "%s:%s", u.host, u.port);

	/* connect, non-blocking */
	bio = BIO_new_connect(hostport);
	if (bio == NULL)
	{
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	BIO_set_nbio(bio, 1);
	for (;;)
	{
		rc = BIO_do_connect(bio);
		if (rc > 0)
			break;
		if (!BIO_should_retry(bio))
		{
			snprintf(err, errlen, "could not connect: %s",
					 mi_ssl_reason("connection refused"));
			goto done;
		}
		fd = -1;
		(void) BIO_get_fd(bio, &fd);
		if (!wait_socket(fd, true, deadline))
		{
			snprintf(err, errlen, "timed out after %d ms while connecting",
					 timeout_ms);
			goto done;
		}
	}
	(void) BIO_get_fd(bio, &fd);

	rctx = OSSL_HTTP_REQ_CTX_new(bio, bio, 0);
	if (rctx == NULL ||
		!OSSL_HTTP_REQ_CTX_set_request_line(rctx, req != NULL, NULL, NULL,
											fullpath) ||
		!OSSL_HTTP_REQ_CTX_add1_header(rctx, "Host", u.host) ||
		!OSSL_HTTP_REQ_CTX_set_expected(rctx, NULL, 1 /* ASN.1 */ ,
										(timeout_ms + 999) / 1000 + 1,
										0 /* no keep-alive */ ) ||
		(req != NULL &&
		 !OSSL_HTTP_REQ_CTX_set1_req(rctx, content_type,
									 (const ASN1_ITEM *) req_item,
									 (const ASN1_VALUE *) req)))
	{
		snprintf(err, errlen, "could not build the request: %s",
				 mi_ssl_reason("error"));
		goto done;
	}
	OSSL_HTTP_REQ_CTX_set_max_response_length(rctx, (unsigned long) max_len);

	for (;;)
	{
		rc = OSSL_HTTP_REQ_CTX_nbio(rctx);
		if (rc == 1)
			break;
		if (rc != -1)
		{
			snprintf(err, errlen, "bad HTTP response: %s",
					 mi_ssl_reason("error"));
			goto done;
		}
		if (!wait_socket(fd, BIO_should_write(bio) != 0, deadline))
		{
			snprintf(err, errlen, "timed out after %d ms waiting for the answer",
					 timeout_ms);
			goto done;
		}
	}

	{
		BIO		   *mem = OSSL_HTTP_REQ_CTX_get0_mem_bio(rctx);
		char	   *data = NULL;
		long		len = mem != NULL ? BIO_get_mem_data(mem, &data) : 0;

		if (len <= 0 || data == NULL || (size_t) len > max_len)
		{
			snprintf(err, errlen, "empty or oversized response");
			goto done;
		}
		result = palloc(len);
		memcpy(result, data, len);
		*out_len = (size_t) len;
	}

done:
	if (rctx != NULL)
		OSSL_HTTP_REQ_CTX_free(rctx);	/* frees nothing of bio */
	if (bio != NULL)
		BIO_free_all(bio);
	url_free(&u);
	return result;
}
