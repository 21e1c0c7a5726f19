/*-------------------------------------------------------------------------
 *
 * crl_fetch.c
 *		Fetched CRLs (SPEC section 8): the http:// CRL distribution points
 *		of the client certificates seen at login, fetched by the worker,
 *		verified as CRL files are, and published as a revoked set.
 *
 * With mtls_ident.crl_fetch on, the login hook notes each http:// URI of
 * the certificate's cRLDistributionPoints (up to MI_FETCH_LOCATIONS
 * locations; more are logged and ignored).  The enforcer calls
 * mi_crl_fetch_refresh() on every wake-up: each location is fetched (GET,
 * http.c, at most MI_FETCH_MAX_BYTES in MI_FETCH_TIMEOUT_MS) when it is
 * due -- never fetched yet, its nextUpdate reached, or crl_fetch_interval
 * elapsed -- and the CRL must parse (DER, or PEM) and pass the very
 * signature check of a CRL file (mi_crl_verify_signature in crl.c: signed
 * by a CA of ssl_ca_file, or one learnt from a verified client chain, whose
 * subject is the CRL's issuer).  A CRL from another issuer than the one
 * last in force at that location, or older than it, is refused too.  On
 * any failure the location's last good CRL stays in force, the failure is
 * logged with the URL and counted, and the fetch is tried again after
 * min(crl_fetch_interval, 30 s).
 *
 * The revoked set: (issuer DN hash, serial hash, location) triples, sorted,
 * at most MI_FETCH_CAPACITY; a CRL whose entries do not fit is refused
 * (the last good one stays).  Turning crl_fetch off stops the fetching but
 * not the revocations already in force.
 *
 * Locking: our own tranche "mtls_ident crl fetch" (one LWLock).  Lookups
 * take it shared; the worker builds the new set in local memory and copies
 * it in under the exclusive lock; logins add locations under it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "crl.h"
#include "crl_fetch.h"
#include "http.h"

bool		mi_crl_fetch = false;
int			mi_crl_fetch_interval_s = 3600;

#define MI_FETCH_LOCATIONS	64
#define MI_FETCH_CAPACITY	32768
#define MI_FETCH_URL_MAX	512
#define MI_FETCH_MAX_BYTES	(8 * 1024 * 1024)
#define MI_FETCH_TIMEOUT_MS 10000
#define MI_FETCH_RETRY_S	30
#define MI_FETCH_PER_WAKE	4

#define MI_FETCH_TRANCHE "mtls_ident crl fetch"
#define MI_SEED_FETCH	UINT64CONST(0x6d746c735f666574)

typedef struct MiFetchLoc
{
	bool		used;
	char		url[MI_FETCH_URL_MAX];
	char		issuer[256];	/* of the CRL in force, "" */
	uint64		issuer_key;
	int64		last_attempt;
	int64		last_success;
	int64		this_update;
	int64		next_update;
	int64		next_fetch;
	int64		queries;
	int64		failures;
	int64		entries;
	char		error[256];
} MiFetchLoc;

typedef struct MiFetchEntry
{
	uint64		issuer;
	uint64		serial;
	int			loc;
} MiFetchEntry;

typedef struct MiFetchShared
{
	int			nentries;
	bool		overflow_logged;
	MiFetchLoc	locs[MI_FETCH_LOCATIONS];
	MiFetchEntry entries[MI_FETCH_CAPACITY];
} MiFetchShared;

static MiFetchShared *fetch = NULL;
static LWLock *fetch_lock = NULL;

void
mi_crl_fetch_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(MiFetchShared)));
	RequestNamedLWLockTranche(MI_FETCH_TRANCHE, 1);
}

void
mi_crl_fetch_shmem_init(void)
{
	bool		found;

	fetch = ShmemInitStruct("mtls_ident crl fetch", sizeof(MiFetchShared), &found);
	fetch_lock = &(GetNamedLWLockTranche(MI_FETCH_TRANCHE))[0].lock;
	if (!found)
		memset(fetch, 0, offsetof(MiFetchShared, entries));
}

static int64
now_s(void)
{
	return (int64) time(NULL);
}

static uint64
dn_key(const char *dn)
{
	return hash_bytes_extended((const unsigned char *) dn, (int) strlen(dn),
							   MI_SEED_FETCH);
}

/* uppercase hex, leading zeros and sign kept apart */
static uint64
serial_key(const char *hex)
{
	char		buf[256];
	int			n = 0;

	if (*hex == '-')
		buf[n++] = *hex++;
	while (*hex == '0' && hex[1] != '\0')
		hex++;
	for (; *hex && n < (int) sizeof(buf) - 1; hex++)
		buf[n++] = (*hex >= 'a' && *hex <= 'f') ? *hex - 'a' + 'A' : *hex;
	return hash_bytes_extended((const unsigned char *) buf, n, MI_SEED_FETCH + 1);
}

static int
entry_cmp(const void *a, const void *b)
{
	const MiFetchEntry *x = a;
	const MiFetchEntry *y = b;

	if (x->issuer != y->issuer)
		return x->issuer < y->issuer ? -1 : 1;
	if (x->serial != y->serial)
		return x->serial < y->serial ? -1 : 1;
	return 0;
}

bool
mi_crl_fetch_is_revoked(const MiCert *cert)
{
	MiFetchEntry key;
	bool		revoked;

	if (fetch == NULL || cert == NULL || cert->issuer_dn == NULL ||
		cert->serial_hex == NULL)
		return false;
	key.issuer = dn_key(cert->issuer_dn);
	key.serial = serial_key(cert->serial_hex);
	LWLockAcquire(fetch_lock, LW_SHARED);
	revoked = fetch->nentries > 0 &&
		bsearch(&key, fetch->entries, fetch->nentries, sizeof(MiFetchEntry),
				entry_cmp) != NULL;
	LWLockRelease(fetch_lock);
	return revoked;
}

/* ---------------------------------------------------------------------
 * Login: note the distribution points
 * ---------------------------------------------------------------------
 */

static void
note_url(const char *url)
{
	bool		known = false;
	int			free_i = -1;

	LWLockAcquire(fetch_lock, LW_SHARED);
	for (int i = 0; i < MI_FETCH_LOCATIONS && !known; i++)
		known = fetch->locs[i].used && strcmp(fetch->locs[i].url, url) == 0;
	LWLockRelease(fetch_lock);
	if (known)
		return;

	LWLockAcquire(fetch_lock, LW_EXCLUSIVE);
	for (int i = 0; i < MI_FETCH_LOCATIONS && !known; i++)
	{
		known = fetch->locs[i].used && strcmp(fetch->locs[i].url, url) == 0;
		if (!fetch->locs[i].used && free_i < 0)
			free_i = i;
	}
	if (!known && free_i >= 0)
	{
		MiFetchLoc *l = &fetch->locs[free_i];

		memset(l, 0, sizeof(*l));
		strlcpy(l->url, url, sizeof(l->url));
		l->used = true;			/* next_fetch 0: due now */
	}
	LWLockRelease(fetch_lock);
	if (!known && free_i < 0)
		ereport(LOG,
				(errmsg("mtls_ident: CRL distribution point \"%s\" not fetched: already %d locations",
						url, MI_FETCH_LOCATIONS)));
}

void
mi_crl_fetch_note(const void *leaf_arg)
{
	X509	   *leaf = (X509 *) leaf_arg;
	STACK_OF(DIST_POINT) *dps;

	if (!mi_crl_fetch || fetch == NULL || leaf == NULL)
		return;
	dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps); i++)
	{
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++)
		{
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			const unsigned char *d;
			int			len;
			char		url[MI_FETCH_URL_MAX];

			if (gn->type != GEN_URI)
				continue;
			d = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			/* an ASN.1 string is not a C string: length and NULs checked */
			if (len <= 0 || len >= MI_FETCH_URL_MAX || memchr(d, '\0', len) != NULL)
				continue;
			memcpy(url, d, len);
			url[len] = '\0';
			if (mi_http_url_ok(url))
				note_url(url);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
}

/* ---------------------------------------------------------------------
 * The worker: fetch, verify, publish
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

/* RFC 2253 text of a name, palloc'd (as cert.c and crl.c print DNs) */
static char *
name_text(const X509_NAME *name)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data;
	long		len;
	char	   *out = NULL;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, (X509_NAME *) name, 0, XN_FLAG_RFC2253) >= 0)
	{
		len = BIO_get_mem_data(bio, &data);
		out = palloc(len + 1);
		memcpy(out, data, len);
		out[len] = '\0';
	}
	BIO_free(bio);
	return out;
}

/* what one fetch produced */
typedef struct FetchResult
{
	bool		ok;
	char		err[256];
	char	   *issuer;
	int64		this_update;
	int64		next_update;
	MiFetchEntry *entries;
	int			nentries;
} FetchResult;

static void
parse_crl(const unsigned char *data, size_t len, uint64 prev_issuer,
		  int64 prev_this_update, int loc, FetchResult *r)
{
	const unsigned char *p = data;
	X509_CRL   *crl;
	STACK_OF(X509_REVOKED) *revoked;
	uint64		ik;
	int			n;

	crl = d2i_X509_CRL(NULL, &p, (long) len);
	if (crl != NULL && p != data + len)
	{
		X509_CRL_free(crl);
		crl = NULL;
	}
	if (crl == NULL)
	{
		BIO		   *bio = BIO_new_mem_buf(data, (int) len);

		crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	}
	if (crl == NULL)
	{
		snprintf(r->err, sizeof(r->err), "not a DER or PEM CRL");
		return;
	}
	r->issuer = name_text(X509_CRL_get_issuer(crl));
	if (r->issuer == NULL)
	{
		snprintf(r->err, sizeof(r->err), "cannot print the CRL issuer");
		goto done;
	}
	if (!mi_crl_verify_signature(crl))
	{
		snprintf(r->err, sizeof(r->err),
				 "the CRL issued by \"%.120s\" is not signed by a CA certificate of ssl_ca_file with that subject",
				 r->issuer);
		goto done;
	}
	ik = dn_key(r->issuer);
	if (!asn1_time_unix(X509_CRL_get0_lastUpdate(crl), &r->this_update) ||
		(X509_CRL_get0_nextUpdate(crl) != NULL &&
		 !asn1_time_unix(X509_CRL_get0_nextUpdate(crl), &r->next_update)))
	{
		snprintf(r->err, sizeof(r->err), "unreadable thisUpdate or nextUpdate");
		goto done;
	}
	/* a revocation in force is lifted only by a newer CRL of the same issuer */
	if (prev_issuer != 0 && ik != prev_issuer)
	{
		snprintf(r->err, sizeof(r->err), "the CRL at this location was issued by another CA before; refused");
		goto done;
	}
	if (prev_issuer != 0 && r->this_update < prev_this_update)
	{
		snprintf(r->err, sizeof(r->err), "the CRL is older than the one in force");
		goto done;
	}
	if (r->next_update != 0 && r->next_update < now_s())
		ereport(WARNING,
				(errmsg("mtls_ident: the CRL fetched from a distribution point, issued by \"%s\", is past its nextUpdate time",
						r->issuer),
				 errdetail("Its revoked certificates are still refused.")));

	revoked = X509_CRL_get_REVOKED(crl);
	n = revoked != NULL ? sk_X509_REVOKED_num(revoked) : 0;
	if (n > MI_FETCH_CAPACITY)
	{
		snprintf(r->err, sizeof(r->err), "the CRL lists %d certificates, more than %d",
				 n, MI_FETCH_CAPACITY);
		goto done;
	}
	r->entries = palloc(sizeof(MiFetchEntry) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		X509_REVOKED *rv = sk_X509_REVOKED_value(revoked, i);
		ASN1_ENUMERATED *reason;
		BIGNUM	   *bn;
		char	   *hex;

		/* removeFromCRL (delta CRLs) un-revokes: skip it, as crl.c does */
		reason = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
		if (reason != NULL)
		{
			long		code = ASN1_ENUMERATED_get(reason);

			ASN1_ENUMERATED_free(reason);
			if (code == CRL_REASON_REMOVE_FROM_CRL)
				continue;
		}
		bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(rv), NULL);
		hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		BN_free(bn);
		if (hex == NULL)
		{
			snprintf(r->err, sizeof(r->err), "cannot read a revoked serial number");
			goto done;
		}
		r->entries[r->nentries].issuer = ik;
		r->entries[r->nentries].serial = serial_key(hex);
		r->entries[r->nentries].loc = loc;
		r->nentries++;
		OPENSSL_free(hex);
	}
	r->ok = true;
done:
	X509_CRL_free(crl);
	ERR_clear_error();
}

/* exclusive lock held: replace location loc's entries with r's */
static bool
publish(int loc, const FetchResult *r)
{
	int			keep = 0;
	MiFetchEntry *tmp;

	for (int i = 0; i < fetch->nentries; i++)
		if (fetch->entries[i].loc != loc)
			keep++;
	if (keep + r->nentries > MI_FETCH_CAPACITY)
		return false;
	tmp = palloc(sizeof(MiFetchEntry) * Max(keep + r->nentries, 1));
	keep = 0;
	for (int i = 0; i < fetch->nentries; i++)
		if (fetch->entries[i].loc != loc)
			tmp[keep++] = fetch->entries[i];
	memcpy(tmp + keep, r->entries, sizeof(MiFetchEntry) * r->nentries);
	keep += r->nentries;
	qsort(tmp, keep, sizeof(MiFetchEntry), entry_cmp);
	memcpy(fetch->entries, tmp, sizeof(MiFetchEntry) * keep);
	fetch->nentries = keep;
	pfree(tmp);
	return true;
}

void
mi_crl_fetch_refresh(void)
{
	if (fetch == NULL || !mi_crl_fetch)
		return;

	for (int round = 0; round < MI_FETCH_PER_WAKE; round++)
	{
		int64		now = now_s();
		int			loc = -1;
		char		url[MI_FETCH_URL_MAX];
		uint64		prev_issuer = 0;
		int64		prev_this = 0;
		unsigned char *body;
		size_t		len = 0;
		FetchResult r;

		LWLockAcquire(fetch_lock, LW_SHARED);
		for (int i = 0; i < MI_FETCH_LOCATIONS && loc < 0; i++)
			if (fetch->locs[i].used && fetch->locs[i].next_fetch <= now)
			{
				loc = i;
				strlcpy(url, fetch->locs[i].url, sizeof(url));
				prev_issuer = fetch->locs[i].issuer_key;
				prev_this = fetch->locs[i].this_update;
			}
		LWLockRelease(fetch_lock);
		if (loc < 0)
			return;

		memset(&r, 0, sizeof(r));
		body = mi_http_fetch(url, NULL, NULL, NULL, MI_FETCH_MAX_BYTES,
							 MI_FETCH_TIMEOUT_MS, &len, r.err, sizeof(r.err));
		if (body != NULL)
		{
			parse_crl(body, len, prev_issuer, prev_this, loc, &r);
			pfree(body);
		}

		LWLockAcquire(fetch_lock, LW_EXCLUSIVE);
		{
			MiFetchLoc *l = &fetch->locs[loc];
			int64		interval = mi_crl_fetch_interval_s;

			l->queries++;
			l->last_attempt = now;
			if (r.ok && !publish(loc, &r))
			{
				r.ok = false;
				snprintf(r.err, sizeof(r.err), "the fetched CRLs list more than %d revoked certificates",
						 MI_FETCH_CAPACITY);
			}
			if (r.ok)
			{
				l->last_success = now_s();
				l->this_update = r.this_update;
				l->next_update = r.next_update;
				l->issuer_key = dn_key(r.issuer);
				strlcpy(l->issuer, r.issuer, sizeof(l->issuer));
				l->entries = r.nentries;
				l->error[0] = '\0';
				l->next_fetch = now + interval;
				/* before nextUpdate, when that is sooner */
				if (r.next_update > now && r.next_update < l->next_fetch)
					l->next_fetch = Max(now + 1, r.next_update - Min(60, (r.next_update - now) / 10));
			}
			else
			{
				l->failures++;
				strlcpy(l->error, r.err, sizeof(l->error));
				l->next_fetch = now + Min(interval, MI_FETCH_RETRY_S);
			}
		}
		LWLockRelease(fetch_lock);

		if (r.ok)
			ereport(LOG,
					(errmsg("mtls_ident: CRL fetched from \"%s\": %d revoked certificates, issued by \"%s\"",
							url, r.nentries, r.issuer)));
		else
			ereport(WARNING,
					(errmsg("mtls_ident: could not use the CRL fetched from \"%s\": %s",
							url, r.err),
					 errdetail("The last good CRL from this location stays in force.")));
		if (r.entries != NULL)
			pfree(r.entries);
		if (r.issuer != NULL)
			pfree(r.issuer);
		CHECK_FOR_INTERRUPTS();
	}
}

int
mi_crl_fetch_source_rows(MiRevSourceRow *rows, int max)
{
	int			n = 0;

	if (fetch == NULL)
		return 0;
	LWLockAcquire(fetch_lock, LW_SHARED);
	for (int i = 0; i < MI_FETCH_LOCATIONS && n < max; i++)
	{
		MiFetchLoc *l = &fetch->locs[i];
		MiRevSourceRow *r = &rows[n];

		if (!l->used)
			continue;
		memset(r, 0, sizeof(*r));
		r->source = "fetch";
		strlcpy(r->location, l->url, sizeof(r->location));
		strlcpy(r->issuer, l->issuer, sizeof(r->issuer));
		r->last_attempt = l->last_attempt;
		r->last_success = l->last_success;
		r->this_update = l->this_update;
		r->next_update = l->next_update;
		r->entries = l->entries;
		r->queries = l->queries;
		r->failures = l->failures;
		strlcpy(r->error, l->error, sizeof(r->error));
		n++;
	}
	LWLockRelease(fetch_lock);
	return n;
}

void
mi_revocation_sources_refresh(void)
{
	mi_crl_fetch_refresh();
	mi_ocsp_refresh_live();
}
