/*-------------------------------------------------------------------------
 *
 * ocsp.c
 *		OCSP (SPEC section 8): the client certificate's status at login,
 *		a shared answer cache, and the worker's refresh of live sessions.
 *
 * At login, for a certificate that passed every other rule, we ask the
 * responder named by mtls_ident.ocsp_responder, else by the certificate's
 * AIA OCSP URL (http:// only), over RFC 6960's HTTP binding (http.c).  A
 * response counts only if it is signed by the certificate's issuer (taken
 * from the verified chain) or by a responder certificate that this issuer
 * issued with id-kp-OCSPSigning and that is within its validity, names
 * this certificate's CertID (SHA-1, as RFC 5019 profiles), and is current
 * (thisUpdate at most 5 minutes ahead; nextUpdate, when present, not
 * past).  Anything else is a failure, logged with the URL and the serial.
 *
 * The cache: a fixed table of MI_OCSP_ENTRIES answers in shared memory,
 * keyed by the CertID's DER, kept until nextUpdate (1 hour without one).
 * A login that finds no current answer claims the entry (pending) and
 * queries; concurrent logins with the same certificate wait on a
 * condition variable for that query instead of sending their own, never
 * longer than ocsp_timeout in all.  A failed query is not repeated for
 * that certificate for 10 seconds (logins in between count as "no
 * answer").  An entry also keeps what the worker needs to ask again
 * without the client: the CertID, the issuer certificate (deduplicated in
 * a small table) and the URL (in the per-responder table, which also backs
 * the ocsp rows of revocation_sources).  When the table is full the entry
 * that ran out longest ago, else the one that expires soonest and no live
 * session uses, is replaced.
 *
 * Live sessions: the enforcer calls mi_ocsp_refresh_live() on every
 * wake-up.  It marks the entries that live sessions use, and asks again
 * for those whose answer runs out within the refresh margin, so that a
 * certificate revoked at the responder is seen before the previous answer
 * expires; the sweep then ends the session (mi_ocsp_is_revoked).  A failed
 * refresh keeps the previous answer until it runs out, and a session is
 * never ended for lack of an answer.
 *
 * Locking: our own tranche "mtls_ident ocsp" (one LWLock) guards the
 * whole struct; lookups take it shared, writes exclusive; no network I/O
 * and no OpenSSL parsing is done while holding it.  The condition variable
 * is broadcast whenever a pending query ends.
 *
 * Security: the responder's answer is trusted only as far as the checks
 * above; a non-superuser can only see the per-responder counters (the
 * view is readable by pg_read_all_stats).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "http.h"
#include "settings.h"
#include "ocsp.h"
#include "sessions.h"
#include "ssl_reason.h"

#define MI_OCSP_ENTRIES		1024	/* cached answers */
#define MI_OCSP_CERTID_MAX	160		/* DER of a SHA-1 CertID, 20-byte serial */
#define MI_OCSP_ISSUERS		32		/* issuer certificates kept */
#define MI_OCSP_ISSUER_MAX	6144	/* DER bytes of one */
#define MI_OCSP_SOURCES		32		/* responder URLs (view rows) */
#define MI_OCSP_URL_MAX		512
#define MI_OCSP_RESP_MAX	(64 * 1024) /* largest response accepted */

#define MI_OCSP_SKEW		300		/* thisUpdate may be this far ahead */
#define MI_OCSP_DEFAULT_TTL	3600	/* without nextUpdate */
#define MI_OCSP_RETRY_AFTER 10		/* after a failure, per certificate */
#define MI_OCSP_LIVE_TTL	30		/* an entry is "live" this long after a
									 * sweep saw a session using it */
#define MI_OCSP_REFRESH_MAX 8		/* worker queries per wake-up */

#define MI_OCSP_TRANCHE "mtls_ident ocsp"
#define MI_SEED_OCSP	UINT64CONST(0x6d746c735f6f6373)

typedef struct MiOcspSource
{
	bool		used;
	char		url[MI_OCSP_URL_MAX];
	int64		last_attempt;
	int64		last_success;
	int64		this_update;
	int64		next_update;
	int64		queries;
	int64		failures;
	char		error[256];
} MiOcspSource;

typedef struct MiOcspIssuer
{
	int			len;			/* 0: empty */
	unsigned char sha256[32];
	char		dn[256];		/* for the view, cut */
	unsigned char der[MI_OCSP_ISSUER_MAX];
} MiOcspIssuer;

/*
 * The keys of entry i live in keys[i], apart from the entry: a lookup
 * scans 16 kB of keys instead of striding through 1024 entries of about
 * 330 bytes each (a login's warm path; the worker's per-session scans).
 */
typedef struct MiOcspKey
{
	uint64		key;			/* hash of the CertID DER; 0: empty */
	uint64		cert_key;		/* hash of (issuer DN, serial) of MiCert */
} MiOcspKey;

typedef struct MiOcspEntry
{
	int			source;			/* index into sources, -1 */
	int			issuer;			/* index into issuers, -1 */
	bool		pending;		/* a query is in flight */
	int64		pending_until;
	bool		has_answer;
	int			status;			/* V_OCSP_CERTSTATUS_* */
	int64		this_update;
	int64		expires;		/* nextUpdate, or fetched + 1 h */
	int64		fetched_at;
	int64		retry_after;	/* no query before this (failures) */
	int64		live_until;		/* a live session uses it */
	char		serial[72];
	int			certid_len;
	unsigned char certid[MI_OCSP_CERTID_MAX];
} MiOcspEntry;

typedef struct MiOcspShared
{
	ConditionVariable cv;
	int			issuer_next;
	MiOcspSource sources[MI_OCSP_SOURCES];
	MiOcspIssuer issuers[MI_OCSP_ISSUERS];
	MiOcspKey	keys[MI_OCSP_ENTRIES];
	MiOcspEntry entries[MI_OCSP_ENTRIES];
} MiOcspShared;

static MiOcspShared *ocsp = NULL;
static LWLock *ocsp_lock = NULL;

/* the outcome of one query */
typedef struct OcspAnswer
{
	bool		ok;
	int			status;
	int64		this_update;
	int64		next_update;	/* 0: none */
	char		err[256];
} OcspAnswer;

Size
mi_ocsp_shmem_size(void)
{
	return MAXALIGN(sizeof(MiOcspShared));
}

void
mi_ocsp_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_OCSP_TRANCHE, 1);
}

void
mi_ocsp_shmem_init(void)
{
	bool		found;

	ocsp = ShmemInitStruct("mtls_ident ocsp", sizeof(MiOcspShared), &found);
	ocsp_lock = &(GetNamedLWLockTranche(MI_OCSP_TRANCHE))[0].lock;
	if (found)
		return;
	memset(ocsp, 0, sizeof(MiOcspShared));
	ConditionVariableInit(&ocsp->cv);
	for (int i = 0; i < MI_OCSP_ENTRIES; i++)
	{
		ocsp->entries[i].source = -1;
		ocsp->entries[i].issuer = -1;
	}
}

static int64
now_s(void)
{
	return (int64) time(NULL);
}

static uint64
cert_key_of(const MiCert *cert)
{
	uint64		h = hash_bytes_extended((const unsigned char *) cert->issuer_dn,
										(int) strlen(cert->issuer_dn),
										MI_SEED_OCSP);

	return hash_combine64(h, hash_bytes_extended((const unsigned char *) cert->serial_hex,
												 (int) strlen(cert->serial_hex),
												 MI_SEED_OCSP));
}

static uint64
certid_key(const unsigned char *der, int len)
{
	uint64		h = hash_bytes_extended(der, len, MI_SEED_OCSP);

	return h == 0 ? 1 : h;
}

/* ---------------------------------------------------------------------
 * One query: request, transfer, and the checks of SPEC section 8
 * ---------------------------------------------------------------------
 */

static bool
asn1_time_unix(const ASN1_TIME *t, int64 *out)
{
	struct tm	tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = (int64) timegm(&tm);
	return true;
}

/*
 * Is the response signed by the issuer, or by a certificate the issuer
 * issued for OCSP signing (id-kp-OCSPSigning), currently valid?
 */
static bool
signer_ok(OCSP_BASICRESP *bs, X509 *issuer, char *err, size_t errlen)
{
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509	   *signer = NULL;
	EVP_PKEY   *key;
	bool		ok = false;

	if (extra == NULL || !sk_X509_push(extra, issuer))
	{
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (OCSP_resp_get0_signer(bs, &signer, extra) != 1 || signer == NULL)
	{
		snprintf(err, errlen, "the response is signed by an unknown certificate");
		goto done;
	}
	if (X509_cmp(signer, issuer) != 0)
	{
		uint32_t	xku;

		if (X509_check_issued(issuer, signer) != X509_V_OK ||
			X509_verify(signer, X509_get0_pubkey(issuer)) != 1)
		{
			snprintf(err, errlen, "the response is signed by a certificate the issuer did not issue");
			goto done;
		}
		xku = X509_get_extended_key_usage(signer);
		if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
			!(xku & XKU_OCSP_SIGN))
		{
			snprintf(err, errlen, "the responder certificate lacks id-kp-OCSPSigning");
			goto done;
		}
		if (X509_cmp_time(X509_get0_notBefore(signer), NULL) >= 0 ||
			X509_cmp_time(X509_get0_notAfter(signer), NULL) <= 0)
		{
			snprintf(err, errlen, "the responder certificate is not valid now");
			goto done;
		}
	}
	key = X509_get0_pubkey(signer);
	{
		const X509_ALGOR *alg = OCSP_resp_get0_tbs_sigalg(bs);
		const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);

		if (key == NULL || alg == NULL || sig == NULL ||
			ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA),
							 (X509_ALGOR *) alg, (ASN1_BIT_STRING *) sig,
							 (void *) OCSP_resp_get0_respdata(bs), key) != 1)
		{
			snprintf(err, errlen, "bad signature on the response");
			goto done;
		}
	}
	ok = true;
done:
	if (extra != NULL)
		sk_X509_free(extra);	/* the issuer is not ours to free */
	return ok;
}

static void
ocsp_query(const char *url, X509 *issuer, OCSP_CERTID *id, int timeout_ms,
		   OcspAnswer *a)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id2 = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	unsigned char *body = NULL;
	size_t		len = 0;
	const unsigned char *p;
	int			idx;
	int			st;
	int			reason;
	ASN1_GENERALIZEDTIME *rev = NULL,
			   *thisupd = NULL,
			   *nextupd = NULL;
	int64		now = now_s();

	memset(a, 0, sizeof(*a));
	req = OCSP_REQUEST_new();
	id2 = OCSP_CERTID_dup(id);
	if (req == NULL || id2 == NULL || OCSP_request_add0_id(req, id2) == NULL)
	{
		OCSP_CERTID_free(id2);
		snprintf(a->err, sizeof(a->err), "out of memory");
		goto done;
	}
	body = mi_http_fetch(url, "application/ocsp-request",
						 ASN1_ITEM_rptr(OCSP_REQUEST), req,
						 MI_OCSP_RESP_MAX, timeout_ms, &len,
						 a->err, sizeof(a->err));
	if (body == NULL)
		goto done;
	p = body;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long) len);
	if (resp == NULL || p != body + len)
	{
		snprintf(a->err, sizeof(a->err), "not an OCSP response: %s",
				 mi_ssl_reason("parse error"));
		goto done;
	}
	st = OCSP_response_status(resp);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL)
	{
		snprintf(a->err, sizeof(a->err), "the responder answered %s",
				 OCSP_response_status_str(st));
		goto done;
	}
	bs = OCSP_response_get1_basic(resp);
	if (bs == NULL)
	{
		snprintf(a->err, sizeof(a->err), "not a basic OCSP response");
		goto done;
	}
	if (!signer_ok(bs, issuer, a->err, sizeof(a->err)))
		goto done;
	idx = OCSP_resp_find(bs, id, -1);
	if (idx < 0)
	{
		snprintf(a->err, sizeof(a->err), "the response does not name this certificate");
		goto done;
	}
	st = OCSP_single_get0_status(OCSP_resp_get0(bs, idx), &reason, &rev,
								 &thisupd, &nextupd);
	if (st < 0 || !asn1_time_unix(thisupd, &a->this_update) ||
		(nextupd != NULL && !asn1_time_unix(nextupd, &a->next_update)))
	{
		snprintf(a->err, sizeof(a->err), "unreadable certificate status");
		goto done;
	}
	if (a->this_update > now + MI_OCSP_SKEW)
	{
		snprintf(a->err, sizeof(a->err), "stale or premature answer: thisUpdate is in the future");
		goto done;
	}
	if (nextupd != NULL && a->next_update < now)
	{
		snprintf(a->err, sizeof(a->err), "stale answer: nextUpdate is past");
		goto done;
	}
	a->status = st;
	a->ok = true;
done:
	if (body != NULL)
		pfree(body);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
}

/* ---------------------------------------------------------------------
 * The table (caller holds the lock as noted)
 * ---------------------------------------------------------------------
 */

/* exclusive: the index of this URL's source row, added when new; -1 if full */
static int
source_index(const char *url)
{
	int			free_i = -1;

	for (int i = 0; i < MI_OCSP_SOURCES; i++)
	{
		if (ocsp->sources[i].used && strcmp(ocsp->sources[i].url, url) == 0)
			return i;
		if (!ocsp->sources[i].used && free_i < 0)
			free_i = i;
	}
	if (free_i >= 0)
	{
		MiOcspSource *s = &ocsp->sources[free_i];

		memset(s, 0, sizeof(*s));
		s->used = true;
		strlcpy(s->url, url, sizeof(s->url));
	}
	return free_i;
}

/* exclusive: the index of this issuer certificate, added when new; -1 if too big */
static int
issuer_index(const unsigned char *der, int len, const unsigned char *sha,
			 const char *dn)
{
	int			i;

	for (i = 0; i < MI_OCSP_ISSUERS; i++)
		if (ocsp->issuers[i].len > 0 && memcmp(ocsp->issuers[i].sha256, sha, 32) == 0)
			return i;
	if (len <= 0 || len > MI_OCSP_ISSUER_MAX)
		return -1;
	i = ocsp->issuer_next;
	ocsp->issuer_next = (i + 1) % MI_OCSP_ISSUERS;
	/* entries that pointed at the reused slot lose their issuer */
	for (int e = 0; e < MI_OCSP_ENTRIES; e++)
		if (ocsp->entries[e].issuer == i)
			ocsp->entries[e].issuer = -1;
	ocsp->issuers[i].len = len;
	memcpy(ocsp->issuers[i].sha256, sha, 32);
	memcpy(ocsp->issuers[i].der, der, len);
	strlcpy(ocsp->issuers[i].dn, dn, sizeof(ocsp->issuers[i].dn));
	return i;
}

/* shared or exclusive: the entry of this CertID, or -1 */
static int
find_entry(uint64 key, const unsigned char *der, int len)
{
	for (int i = 0; i < MI_OCSP_ENTRIES; i++)
	{
		MiOcspEntry *e;

		if (ocsp->keys[i].key != key)
			continue;
		e = &ocsp->entries[i];
		if (e->certid_len == len && memcmp(e->certid, der, len) == 0)
			return i;
	}
	return -1;
}

/* exclusive: a slot for a new entry (empty, else the least useful) */
static int
victim_entry(int64 now)
{
	int			best = -1;
	int64		best_score = PG_INT64_MAX;

	for (int i = 0; i < MI_OCSP_ENTRIES; i++)
	{
		MiOcspEntry *e = &ocsp->entries[i];
		int64		score;

		if (ocsp->keys[i].key == 0)
			return i;
		if (e->pending && e->pending_until > now)
			continue;
		/* expired first, then soonest to expire; live ones last */
		score = e->has_answer ? e->expires : e->retry_after;
		if (e->live_until > now)
			score += (int64) 1 << 40;
		if (score < best_score)
		{
			best = i;
			best_score = score;
		}
	}
	return best;
}

/* exclusive: record a query's outcome in entry i and its source */
static void
record_answer_in(int i, const OcspAnswer *a, int64 started)
{
	MiOcspEntry *e = &ocsp->entries[i];
	MiOcspSource *s = e->source >= 0 ? &ocsp->sources[e->source] : NULL;
	int64		now = now_s();

	e->pending = false;
	if (s != NULL)
	{
		s->queries++;
		s->last_attempt = started;
	}
	if (a->ok)
	{
		e->has_answer = true;
		e->status = a->status;
		e->this_update = a->this_update;
		e->expires = a->next_update > 0 ? a->next_update : now + MI_OCSP_DEFAULT_TTL;
		e->fetched_at = now;
		e->retry_after = 0;
		if (s != NULL)
		{
			s->last_success = now;
			s->this_update = a->this_update;
			s->next_update = a->next_update;
			s->error[0] = '\0';
		}
	}
	else
	{
		/* a previous answer stays until it runs out */
		e->retry_after = now + MI_OCSP_RETRY_AFTER;
		if (s != NULL)
		{
			s->failures++;
			strlcpy(s->error, a->err, sizeof(s->error));
		}
	}
}

/*
 * Record a query's outcome in the entry of this CertID and its source
 * (the entry may have been replaced while the query ran: it is looked up
 * again, and the outcome dropped when it is gone), then wake whoever waits
 * for the query.  Takes the lock itself.
 */
static void
record_answer(uint64 key, const unsigned char *certid, int certid_len,
			  const OcspAnswer *a, int64 started)
{
	int			i;

	LWLockAcquire(ocsp_lock, LW_EXCLUSIVE);
	i = find_entry(key, certid, certid_len);
	if (i >= 0)
		record_answer_in(i, a, started);
	LWLockRelease(ocsp_lock);
	ConditionVariableBroadcast(&ocsp->cv);
}

/* ---------------------------------------------------------------------
 * Login
 * ---------------------------------------------------------------------
 */

/* the first http:// OCSP URL of the AIA extension, palloc'd, or NULL */
static char *
aia_url(X509 *leaf)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
	char	   *url = NULL;

	for (int i = 0; urls != NULL && i < sk_OPENSSL_STRING_num(urls); i++)
	{
		const char *u = sk_OPENSSL_STRING_value(urls, i);

		if (u != NULL && strlen(u) < MI_OCSP_URL_MAX && mi_http_url_ok(u))
		{
			url = pstrdup(u);
			break;
		}
	}
	X509_email_free(urls);
	ERR_clear_error();
	return url;
}

/*
 * The verdict from a status (or from no answer, st = -1), as the mode
 * says, with a log line for everything but a plain good answer.
 */
static MiReason
verdict(int st, const char *url, const MiCert *cert, const char *why)
{
	bool		hard = mi_ocsp_mode == MI_OCSP_HARD;

	if (st == V_OCSP_CERTSTATUS_GOOD)
		return MI_REASON_OK;
	if (st == V_OCSP_CERTSTATUS_REVOKED)
		return MI_REASON_REVOKED;
	ereport(LOG,
			(errmsg("mtls_ident: OCSP gave no confirmation for certificate serial %s (%s); %s",
					cert->serial_hex,
					st < 0 ? why : "the responder answered unknown",
					hard ? "refused because mtls_ident.ocsp = hard"
					: "admitted because mtls_ident.ocsp = soft"),
			 errdetail_log("responder=%s", url ? url : "none")));
	if (st < 0)
		return hard ? MI_REASON_OCSP_UNAVAILABLE : MI_REASON_OK;
	return hard ? MI_REASON_OCSP_UNKNOWN : MI_REASON_OK;
}

MiReason
mi_ocsp_login_check(const void *leaf_arg, const void *chain_arg,
					const MiCert *cert)
{
	X509	   *leaf = (X509 *) leaf_arg;
	STACK_OF(X509) *chain = (STACK_OF(X509) *) chain_arg;
	X509	   *issuer;
	char	   *url;
	OCSP_CERTID *id = NULL;
	unsigned char *der = NULL;
	int			derlen;
	uint64		key;
	TimestampTz deadline;
	int			st = -1;
	MiReason	r;
	char		why[300];

	if (mi_ocsp_mode == MI_OCSP_OFF || ocsp == NULL)
		return MI_REASON_OK;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), mi_ocsp_timeout_ms);
	url = (mi_ocsp_responder != NULL && mi_ocsp_responder[0] != '\0')
		? pstrdup(mi_ocsp_responder) : aia_url(leaf);

	if (chain == NULL || sk_X509_num(chain) < 2)
		return verdict(-1, url, cert, "no issuer certificate in the verified chain");
	issuer = sk_X509_value(chain, 1);
	if (url == NULL)
		return verdict(-1, url, cert, "no responder URL: mtls_ident.ocsp_responder is empty and the certificate names no http:// OCSP responder");
	/*
	 * Both sources are valid http:// URLs already: the setting's check hook
	 * (settings.c) and aia_url() apply mi_http_url_ok and the length bound;
	 * parsing the URL again here cost a warm login about 30 us.
	 */
	if (strlen(url) >= MI_OCSP_URL_MAX)
		return verdict(-1, url, cert, "the responder URL is too long");

	id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
	derlen = id != NULL ? i2d_OCSP_CERTID(id, &der) : -1;
	if (derlen <= 0 || derlen > MI_OCSP_CERTID_MAX)
	{
		OCSP_CERTID_free(id);
		OPENSSL_free(der);
		ERR_clear_error();
		return verdict(-1, url, cert, "cannot build the OCSP CertID");
	}
	key = certid_key(der, derlen);

	for (;;)
	{
		int			i;
		int64		now = now_s();
		bool		claimed = false;
		long		left;

		/* the cheap path: a current answer */
		LWLockAcquire(ocsp_lock, LW_SHARED);
		i = find_entry(key, der, derlen);
		if (i >= 0 && ocsp->entries[i].has_answer &&
			now < ocsp->entries[i].expires)
			st = ocsp->entries[i].status;
		LWLockRelease(ocsp_lock);
		if (st >= 0)
			break;

		LWLockAcquire(ocsp_lock, LW_EXCLUSIVE);
		i = find_entry(key, der, derlen);
		if (i >= 0)
		{
			MiOcspEntry *e = &ocsp->entries[i];

			if (e->has_answer && now < e->expires)
				st = e->status;
			else if (e->pending && e->pending_until > now)
				 /* someone is asking: wait below */ ;
			else if (e->retry_after > now)
			{
				LWLockRelease(ocsp_lock);
				snprintf(why, sizeof(why), "a query for this certificate failed less than %d s ago",
						 MI_OCSP_RETRY_AFTER);
				break;
			}
			else
				claimed = true;
		}
		else
		{
			i = victim_entry(now);
			claimed = i >= 0;
			if (i >= 0)
			{
				MiOcspEntry *e = &ocsp->entries[i];

				memset(e, 0, sizeof(*e));
				ocsp->keys[i].key = key;
				ocsp->keys[i].cert_key = cert_key_of(cert);
				e->certid_len = derlen;
				memcpy(e->certid, der, derlen);
				e->source = -1;
				e->issuer = -1;
				strlcpy(e->serial, cert->serial_hex, sizeof(e->serial));
			}
		}
		if (claimed)
		{
			MiOcspEntry *e = &ocsp->entries[i];
			unsigned char *idr = NULL;
			int			ilen = i2d_X509(issuer, &idr);
			unsigned char sha[32];

			e->pending = true;
			e->pending_until = now + mi_ocsp_timeout_ms / 1000 + 2;
			e->source = source_index(url);
			if (ilen > 0)
			{
				SHA256(idr, ilen, sha);
				e->issuer = issuer_index(idr, ilen, sha, cert->issuer_dn);
			}
			OPENSSL_free(idr);
		}
		LWLockRelease(ocsp_lock);
		if (st >= 0)
			break;

		left = (long) ((deadline - GetCurrentTimestamp()) / 1000);
		if (claimed)
		{
			OcspAnswer a;
			int64		started = now_s();

			ocsp_query(url, issuer, id, (int) Max(left, 1), &a);
			record_answer(key, der, derlen, &a, started);
			if (!a.ok)
			{
				ereport(WARNING,
						(errmsg("mtls_ident: OCSP query to \"%s\" for certificate serial %s failed: %s",
								url, cert->serial_hex, a.err)));
				snprintf(why, sizeof(why), "%s", a.err);
			}
			else
				st = a.status;
			break;
		}
		if (i < 0)
		{
			snprintf(why, sizeof(why), "the OCSP cache is full of pending queries");
			break;
		}
		/* wait for the query in flight, within our own deadline */
		if (left <= 0)
		{
			snprintf(why, sizeof(why), "no answer within mtls_ident.ocsp_timeout (%d ms)",
					 mi_ocsp_timeout_ms);
			break;
		}
		(void) ConditionVariableTimedSleep(&ocsp->cv, Min(left, 100),
										   PG_WAIT_EXTENSION);
		ConditionVariableCancelSleep();
	}

	OCSP_CERTID_free(id);
	OPENSSL_free(der);
	ERR_clear_error();
	r = verdict(st, url, cert, why);
	if (st == V_OCSP_CERTSTATUS_REVOKED)
		ereport(LOG,
				(errmsg("mtls_ident: the OCSP responder says certificate serial %s is revoked",
						cert->serial_hex),
				 errdetail_log("responder=%s", url)));
	return r;
}

bool
mi_ocsp_is_revoked(const MiCert *cert)
{
	uint64		ck;
	int64		now = now_s();
	bool		revoked = false;

	if (ocsp == NULL || mi_ocsp_mode == MI_OCSP_OFF || cert == NULL)
		return false;
	ck = cert_key_of(cert);
	LWLockAcquire(ocsp_lock, LW_SHARED);
	for (int i = 0; i < MI_OCSP_ENTRIES && !revoked; i++)
	{
		MiOcspEntry *e = &ocsp->entries[i];

		revoked = ocsp->keys[i].key != 0 && ocsp->keys[i].cert_key == ck &&
			e->has_answer && e->status == V_OCSP_CERTSTATUS_REVOKED &&
			now < e->expires;
	}
	LWLockRelease(ocsp_lock);
	return revoked;
}

/* ---------------------------------------------------------------------
 * The worker: answers of live sessions, refreshed before they run out
 * ---------------------------------------------------------------------
 */

/* refresh this long before an answer runs out */
static int64
refresh_margin(const MiOcspEntry *e)
{
	int64		life = e->expires - e->fetched_at;
	int64		m = life / 4;

	/* at least two sweeps and the timeout, at most 10 minutes */
	m = Max(m, 2 * (mi_enforce_interval_ms / 1000 + 1) + mi_ocsp_timeout_ms / 1000 + 1);
	return Min(m, 600);
}

void
mi_ocsp_refresh_live(void)
{
	int			nslots;
	MiSessionInfo *info;
	int64		now = now_s();
	int			done = 0;
	TimestampTz wake;

	if (ocsp == NULL || mi_ocsp_mode == MI_OCSP_OFF)
		return;

	/* mark the entries live sessions use */
	nslots = mi_sessions_nslots();
	info = palloc(sizeof(MiSessionInfo));
	for (int s = 0; s < nslots; s++)
	{
		uint64		ck;

		if (!mi_session_read(s, info) || !info->governed)
			continue;
		ck = cert_key_of(&info->cert);
		LWLockAcquire(ocsp_lock, LW_EXCLUSIVE);
		for (int i = 0; i < MI_OCSP_ENTRIES; i++)
			if (ocsp->keys[i].key != 0 && ocsp->keys[i].cert_key == ck)
				ocsp->entries[i].live_until = now + MI_OCSP_LIVE_TTL;
		LWLockRelease(ocsp_lock);
	}
	pfree(info);

	/* ask again for those about to run out (the sweep waits meanwhile) */
	wake = GetCurrentTimestamp();
	while (done < MI_OCSP_REFRESH_MAX &&
		   !(done > 0 && TimestampDifferenceExceeds(wake, GetCurrentTimestamp(), 1000)))
	{
		int			pick = -1;
		char		url[MI_OCSP_URL_MAX];
		char		serial[72];
		unsigned char certid[MI_OCSP_CERTID_MAX];
		int			certid_len = 0;
		unsigned char idr[MI_OCSP_ISSUER_MAX];
		int			ilen = 0;
		uint64		key = 0;
		X509	   *issuer = NULL;
		OCSP_CERTID *id = NULL;
		const unsigned char *p;
		OcspAnswer a;
		int64		started;

		now = now_s();
		LWLockAcquire(ocsp_lock, LW_EXCLUSIVE);
		for (int i = 0; i < MI_OCSP_ENTRIES && pick < 0; i++)
		{
			MiOcspEntry *e = &ocsp->entries[i];

			if (ocsp->keys[i].key == 0 || e->live_until <= now || e->source < 0 ||
				e->issuer < 0 || (e->pending && e->pending_until > now) ||
				e->retry_after > now)
				continue;
			if (e->has_answer && e->expires - now > refresh_margin(e))
				continue;
			pick = i;
		}
		if (pick >= 0)
		{
			MiOcspEntry *e = &ocsp->entries[pick];

			e->pending = true;
			e->pending_until = now + mi_ocsp_timeout_ms / 1000 + 2;
			strlcpy(url, ocsp->sources[e->source].url, sizeof(url));
			strlcpy(serial, e->serial, sizeof(serial));
			certid_len = e->certid_len;
			memcpy(certid, e->certid, certid_len);
			ilen = ocsp->issuers[e->issuer].len;
			memcpy(idr, ocsp->issuers[e->issuer].der, ilen);
			key = ocsp->keys[pick].key;
		}
		LWLockRelease(ocsp_lock);
		if (pick < 0)
			break;
		done++;

		p = idr;
		issuer = d2i_X509(NULL, &p, ilen);
		p = certid;
		id = d2i_OCSP_CERTID(NULL, &p, certid_len);
		started = now_s();
		if (issuer == NULL || id == NULL)
		{
			memset(&a, 0, sizeof(a));
			snprintf(a.err, sizeof(a.err), "cannot decode the cached issuer or CertID");
		}
		else
			ocsp_query(url, issuer, id, mi_ocsp_timeout_ms, &a);
		X509_free(issuer);
		OCSP_CERTID_free(id);
		ERR_clear_error();

		record_answer(key, certid, certid_len, &a, started);

		if (!a.ok)
			ereport(WARNING,
					(errmsg("mtls_ident: OCSP refresh from \"%s\" for certificate serial %s failed: %s",
							url, serial, a.err),
					 errdetail("Live sessions are not ended for lack of an answer; the previous answer stays in force until it runs out.")));
		else if (a.status == V_OCSP_CERTSTATUS_REVOKED)
			ereport(LOG,
					(errmsg("mtls_ident: the OCSP responder \"%s\" now says certificate serial %s is revoked",
							url, serial)));
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---------------------------------------------------------------------
 * revocation_sources rows
 * ---------------------------------------------------------------------
 */

void
mi_rev_source_emit(const MiRevSourceRow *rows, int n,
				   MiRevocationEmit emit, void *arg)
{
	for (int i = 0; i < n; i++)
	{
		const MiRevSourceRow *r = &rows[i];
		MiRevocationRow row;

#define MI_TS(t) ((t) == 0 ? 0 : time_t_to_timestamptz((pg_time_t) (t)))
		memset(&row, 0, sizeof(row));
		row.source = r->source;
		row.location = r->location;
		row.issuer = r->issuer[0] ? r->issuer : NULL;
		row.last_attempt = MI_TS(r->last_attempt);
		row.last_success = MI_TS(r->last_success);
		row.this_update = MI_TS(r->this_update);
		row.next_update = MI_TS(r->next_update);
		row.entries = r->entries;
		row.queries = r->queries;
		row.failures = r->failures;
		row.error = r->error[0] ? r->error : NULL;
#undef MI_TS
		emit(&row, arg);
	}
}

void
mi_ocsp_report(MiRevocationEmit emit, void *arg)
{
	int			n = 0;
	int			max = MI_OCSP_SOURCES;
	int64		now = now_s();
	MiRevSourceRow *rows;

	if (ocsp == NULL)
		return;
	rows = palloc(sizeof(MiRevSourceRow) * max);
	LWLockAcquire(ocsp_lock, LW_SHARED);
	for (int i = 0; i < MI_OCSP_SOURCES && n < max; i++)
	{
		MiOcspSource *s = &ocsp->sources[i];
		MiRevSourceRow *r = &rows[n];

		if (!s->used)
			continue;
		memset(r, 0, sizeof(*r));
		r->source = "ocsp";
		strlcpy(r->location, s->url, sizeof(r->location));
		r->last_attempt = s->last_attempt;
		r->last_success = s->last_success;
		r->this_update = s->this_update;
		r->next_update = s->next_update;
		r->queries = s->queries;
		r->failures = s->failures;
		strlcpy(r->error, s->error, sizeof(r->error));
		for (int e = 0; e < MI_OCSP_ENTRIES; e++)
		{
			MiOcspEntry *en = &ocsp->entries[e];

			if (ocsp->keys[e].key == 0 || en->source != i)
				continue;
			if (en->has_answer && now < en->expires)
				r->entries++;
			if (en->issuer >= 0 && r->issuer[0] == '\0')
				strlcpy(r->issuer, ocsp->issuers[en->issuer].dn, sizeof(r->issuer));
		}
		n++;
	}
	LWLockRelease(ocsp_lock);
	mi_rev_source_emit(rows, n, emit, arg);
	pfree(rows);
}
