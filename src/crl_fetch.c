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
 * elapsed.  The bytes go through mi_crl_read (crl_verify.c), the very code
 * that reads and verifies a CRL file, against the same CAs (ca_store.c).
 *
 * The worker keeps the last good CRL of each location (its bytes, in its
 * own memory and in a file under $PGDATA/mtls_ident_crl_fetch/, so that a
 * restarted worker or server has them again), and publishes them all
 * together as the MI_SOURCE_FETCH part of the revoked set (revoked_set.c):
 * a new CRL replaces its location's old one only when the whole
 * publication succeeds -- which refuses a CRL older than the one in force
 * for its issuer -- and only when it comes from the same issuer as the one
 * in force from that location.  On any failure the location's last good
 * CRL stays in force, the failure is logged with the URL and counted, and
 * the fetch is tried again after min(crl_fetch_interval, 30 s).  Turning
 * crl_fetch off stops the fetching, not the revocations in force.
 *
 * Locking: our own tranche "mtls_ident crl fetch" (one LWLock) guards the
 * locations table (URLs and the counters of revocation_sources).  Logins
 * add locations; only the worker fetches and publishes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "ca_store.h"
#include "crl_fetch.h"
#include "crl_verify.h"
#include "http.h"
#include "revoked_set.h"

#define MI_FETCH_LOCATIONS	64
#define MI_FETCH_URL_MAX	512
#define MI_FETCH_MAX_BYTES	(8 * 1024 * 1024)
#define MI_FETCH_TIMEOUT_MS 5000
#define MI_FETCH_RETRY_S	30
#define MI_FETCH_PER_WAKE	4

#define MI_FETCH_TRANCHE "mtls_ident crl fetch"

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

typedef struct MiFetchShared
{
	MiFetchLoc	locs[MI_FETCH_LOCATIONS];
} MiFetchShared;

/* the worker's last good CRL of each location (index as in locs) */
typedef struct FetchGood
{
	char		url[MI_FETCH_URL_MAX];
	char	   *data;			/* TopMemoryContext; NULL = none */
	size_t		len;
} FetchGood;

static FetchGood *good = NULL;
static bool republish_pending = false;	/* kept CRLs not yet in force */
static bool republish_warned = false;
static int	nkept = 0;

#define MI_FETCH_DIR "mtls_ident_crl_fetch"

static MiFetchShared *fetch = NULL;
static LWLock *fetch_lock = NULL;

Size
mi_crl_fetch_shmem_size(void)
{
	return MAXALIGN(sizeof(MiFetchShared));
}

void
mi_crl_fetch_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_FETCH_TRANCHE, 1);
}

void
mi_crl_fetch_shmem_init(void)
{
	bool		found;

	fetch = ShmemInitStruct("mtls_ident crl fetch", sizeof(MiFetchShared), &found);
	fetch_lock = &(GetNamedLWLockTranche(MI_FETCH_TRANCHE))[0].lock;
	if (!found)
		memset(fetch, 0, sizeof(MiFetchShared));
}

static int64
now_s(void)
{
	return (int64) time(NULL);
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
 * The worker: fetch, verify, keep the last good CRLs, publish
 * ---------------------------------------------------------------------
 */

/* $PGDATA/mtls_ident_crl_fetch/<hash of the URL>.crl: "URL\n" then the CRL */
static void
good_file(const char *url, char *path, size_t len)
{
	snprintf(path, len, "%s/%016llx.crl", MI_FETCH_DIR,
			 (unsigned long long) hash_bytes_extended((const unsigned char *) url,
													  (int) strlen(url), 0));
}

static void
save_good(int i)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH + 8];
	FILE	   *f;
	bool		ok;

	if (mkdir(MI_FETCH_DIR, S_IRWXU) != 0 && errno != EEXIST)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("mtls_ident: could not create directory \"%s\": %m", MI_FETCH_DIR)));
		return;
	}
	good_file(good[i].url, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	ok = f != NULL &&
		fprintf(f, "%s\n", good[i].url) > 0 &&
		fwrite(good[i].data, 1, good[i].len, f) == good[i].len;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("mtls_ident: could not write \"%s\": %m", path),
				 errdetail("The CRL fetched from \"%s\" is in force, but is not kept across a restart.",
						   good[i].url)));
		unlink(tmp);
	}
}

/* the location's index, added to the table when new; -1 if full */
static int
location_index(const char *url)
{
	int			idx = -1;

	note_url(url);
	LWLockAcquire(fetch_lock, LW_SHARED);
	for (int i = 0; i < MI_FETCH_LOCATIONS && idx < 0; i++)
		if (fetch->locs[i].used && strcmp(fetch->locs[i].url, url) == 0)
			idx = i;
	LWLockRelease(fetch_lock);
	return idx;
}

/* read every CRL kept in force and publish them as the fetch source */
static bool
publish_all(char *err, size_t errlen)
{
	void	   *cas = mi_ca_store_load(err, errlen);
	MiRevokedBuild *b;
	bool		ok = true;

	if (cas == NULL)
		return false;
	b = mi_revoked_build_new();
	for (int i = 0; i < MI_FETCH_LOCATIONS && ok; i++)
	{
		MiCrlReadInfo info;

		if (good[i].data != NULL)
			ok = mi_crl_read(b, cas, good[i].data, good[i].len, good[i].url,
							 &info, err, errlen);
	}
	if (ok)
	{
		int			bad = -1;

		ok = mi_revoked_publish(MI_SOURCE_FETCH, b, &bad, err, errlen);
	}
	mi_revoked_build_free(b);
	mi_ca_store_free(cas);
	return ok;
}

/* once per worker: the CRLs kept on disk by an earlier worker */
static void
load_kept(void)
{
	DIR		   *d;
	struct dirent *de;
	int			n = 0;

	good = MemoryContextAllocZero(TopMemoryContext,
								  sizeof(FetchGood) * MI_FETCH_LOCATIONS);
	d = opendir(MI_FETCH_DIR);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char		path[MAXPGPATH];
		FILE	   *f;
		StringInfoData buf;
		char		chunk[8192];
		size_t		r;
		char	   *nl;
		int			i;

		if (strlen(de->d_name) < 5 ||
			strcmp(de->d_name + strlen(de->d_name) - 4, ".crl") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", MI_FETCH_DIR, de->d_name);
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		initStringInfo(&buf);
		while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
			   buf.len < MI_FETCH_MAX_BYTES + MI_FETCH_URL_MAX)
			appendBinaryStringInfo(&buf, chunk, (int) r);
		fclose(f);
		nl = memchr(buf.data, '\n', Min(buf.len, MI_FETCH_URL_MAX));
		if (nl == NULL)
			continue;
		*nl = '\0';
		if (!mi_http_url_ok(buf.data) || (i = location_index(buf.data)) < 0)
			continue;
		strlcpy(good[i].url, buf.data, sizeof(good[i].url));
		good[i].len = buf.len - (nl + 1 - buf.data);
		good[i].data = MemoryContextAlloc(TopMemoryContext, Max(good[i].len, 1));
		memcpy(good[i].data, nl + 1, good[i].len);
		pfree(buf.data);
		n++;
	}
	closedir(d);
	nkept = n;
	republish_pending = n > 0;
}

/*
 * Put the kept CRLs in force; tried on every wake-up until it works (their
 * CA may be an intermediate that a client chain has yet to present).
 */
static void
republish_kept(void)
{
	char		err[512];

	if (publish_all(err, sizeof(err)))
	{
		republish_pending = false;
		ereport(LOG,
				(errmsg("mtls_ident: %d fetched CRLs kept from before are in force again", nkept)));
	}
	else if (!republish_warned)
	{
		republish_warned = true;
		ereport(WARNING,
				(errmsg("mtls_ident: could not yet put the %d kept fetched CRLs back in force: %s", nkept, err),
				 errhint("Put every CA that issues CRLs in ssl_ca_file; until then this is tried again on every wake-up.")));
	}
}

void
mi_crl_fetch_refresh(void)
{
	TimestampTz wake;

	if (fetch == NULL || !mi_crl_fetch)
		return;
	if (good == NULL)
		load_kept();
	if (republish_pending)
		republish_kept();
	wake = GetCurrentTimestamp();

	for (int round = 0; round < MI_FETCH_PER_WAKE; round++)
	{
		int64		now = now_s();
		int			loc = -1;
		char		url[MI_FETCH_URL_MAX];
		char		prev_issuer[256];
		unsigned char *body;
		size_t		len = 0;
		char		err[512];
		MiCrlReadInfo info;
		bool		ok = false;

		/* the sweep waits meanwhile: no new download after a second */
		if (round > 0 && TimestampDifferenceExceeds(wake, GetCurrentTimestamp(), 1000))
			break;
		memset(&info, 0, sizeof(info));
		err[0] = '\0';
		LWLockAcquire(fetch_lock, LW_SHARED);
		for (int i = 0; i < MI_FETCH_LOCATIONS && loc < 0; i++)
			if (fetch->locs[i].used && fetch->locs[i].next_fetch <= now)
			{
				loc = i;
				strlcpy(url, fetch->locs[i].url, sizeof(url));
				strlcpy(prev_issuer, fetch->locs[i].issuer, sizeof(prev_issuer));
			}
		LWLockRelease(fetch_lock);
		if (loc < 0)
			return;

		body = mi_http_fetch(url, NULL, NULL, NULL, MI_FETCH_MAX_BYTES,
							 MI_FETCH_TIMEOUT_MS, &len, err, sizeof(err));
		if (body != NULL)
		{
			void	   *cas = mi_ca_store_load(err, sizeof(err));

			/* the CRL alone first, read and verified as a CRL file is */
			if (cas != NULL)
			{
				MiRevokedBuild *b = mi_revoked_build_new();

				ok = mi_crl_read(b, cas, (const char *) body, len, url,
								 &info, err, sizeof(err));
				mi_revoked_build_free(b);
				mi_ca_store_free(cas);
			}
			/* a revocation in force is lifted only by its own issuer */
			if (ok && prev_issuer[0] != '\0' && strcmp(info.issuer, prev_issuer) != 0)
			{
				ok = false;
				snprintf(err, sizeof(err),
						 "the CRL is issued by \"%s\", but the one in force from this location by \"%s\"",
						 info.issuer, prev_issuer);
			}
			/* then in force with the others, or not at all */
			if (ok)
			{
				FetchGood	old = good[loc];

				strlcpy(good[loc].url, url, sizeof(good[loc].url));
				good[loc].data = MemoryContextAlloc(TopMemoryContext, Max(len, 1));
				memcpy(good[loc].data, body, len);
				good[loc].len = len;
				ok = publish_all(err, sizeof(err));
				if (ok)
				{
					if (old.data != NULL)
						pfree(old.data);
					save_good(loc);
				}
				else
				{
					pfree(good[loc].data);
					good[loc] = old;
				}
			}
			pfree(body);
		}

		LWLockAcquire(fetch_lock, LW_EXCLUSIVE);
		{
			MiFetchLoc *l = &fetch->locs[loc];
			int64		interval = mi_crl_fetch_interval_s;

			l->queries++;
			l->last_attempt = now;
			if (ok)
			{
				l->last_success = now_s();
				l->this_update = info.this_update;
				l->next_update = info.next_update;
				strlcpy(l->issuer, info.issuer, sizeof(l->issuer));
				l->entries = info.entries;
				l->error[0] = '\0';
				l->next_fetch = now + interval;
				/* before nextUpdate, when that is sooner */
				if (info.next_update > now && info.next_update < l->next_fetch)
					l->next_fetch = Max(now + 1, info.next_update - Min(60, (info.next_update - now) / 10));
			}
			else
			{
				l->failures++;
				strlcpy(l->error, err, sizeof(l->error));
				l->next_fetch = now + Min(interval, MI_FETCH_RETRY_S);
			}
		}
		LWLockRelease(fetch_lock);

		if (ok)
			ereport(LOG,
					(errmsg("mtls_ident: CRL fetched from \"%s\": %lld revoked certificates, issued by \"%s\"",
							url, (long long) info.entries, info.issuer)));
		else
			ereport(WARNING,
					(errmsg("mtls_ident: could not use the CRL fetched from \"%s\": %s",
							url, err),
					 errdetail("The last good CRL from this location stays in force.")));
		CHECK_FOR_INTERRUPTS();
	}
}

void
mi_crl_fetch_report(MiRevocationEmit emit, void *arg)
{
	int			n = 0;
	int			max = MI_FETCH_LOCATIONS;
	MiRevSourceRow *rows;

	if (fetch == NULL)
		return;
	rows = palloc(sizeof(MiRevSourceRow) * max);
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
	mi_rev_source_emit(rows, n, emit, arg);
	pfree(rows);
}

void
mi_revocation_sources_refresh(void)
{
	mi_crl_fetch_refresh();
	mi_ocsp_refresh_live();
}
