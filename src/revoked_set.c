/*-------------------------------------------------------------------------
 *
 * revoked_set.c
 *		The revoked (issuer, serial) set in shared memory.
 *
 * Logins (auth_hook.c), check() and the enforcer ask mi_revoked_lookup
 * whether a certificate is revoked.  Revocation sources (crl_files.c for
 * ssl_crl_file / ssl_crl_dir; fetched CRLs later) build a set of their own
 * in local memory (MiRevokedBuild) from verified CRLs and publish it with
 * mi_revoked_publish, which replaces only that source's records: each
 * (issuer, source) pair has its own record and entries (the entry's issuer
 * field carries the source in its two low bits), so two sources with a
 * CRL of one issuer stand side by side, and a certificate revoked by any
 * of them is revoked.
 *
 * Issuers are keyed by mi_name_key (cert.h): a digest of the X.509 name in
 * OpenSSL's canonical form, so that two spellings X509_NAME_cmp holds equal
 * (case, string type, spacing) are one issuer, at load time and at lookup
 * alike.  An entry is the first 62 bits of that key (plus the source) and
 * a 64-bit hash of the serial; it is only looked for under an issuer
 * record whose whole key matches.  A serial
 * hash collision could only make a good certificate look revoked (fail
 * closed).  Key identifiers are not part of the key: a serial revoked by
 * a CA is refused under every key of that CA's name (fail closed across a
 * CA key rollover).
 *
 * Freshness: a revocation once in force is lifted only by a newer valid
 * CRL of the same issuer.  Publication refuses an issuer whose CRL is older
 * than the one in force from the same source (lower cRLNumber when both
 * have one, else earlier thisUpdate), and the whole set, with CRL numbers and times, is kept in the
 * revocation state file (revocation_state.c) across restarts.
 *
 * Until a set is in force (a publication, or a good state file, since
 * shared memory was created) every certificate counts as revoked: fail
 * closed.  crl_files.c publishes in the postmaster before the first login
 * whenever the CRL files load, so this only bites when they do not and no
 * state file holds a last good set.
 *
 * Capacity: MI_REVOKED_CAPACITY serials, MI_REVOKED_MAX_ISSUERS issuers
 * over all sources.  A CRL that does not fit makes its issuer "all
 * revoked" (see crl_verify.c).
 *
 * Locking: revoked_lock(), the single lock of the tranche "mtls_ident revoked
 * set" (never held while calling another module).  Lookups take it shared; publication merges and sorts under
 * the exclusive lock (a few milliseconds for a full set).  Import runs in
 * the postmaster before any other process exists.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "revoked_set.h"

#define MI_SEED_SERIAL	UINT64CONST(0x6d746c735f736572)
#define MI_REVOKED_EXPORT_MAGIC 0x6d695253u		/* "miRS" */

typedef struct MiRevokedShared
{
	bool		in_force;
	uint64		generation;
	int			nissuers;
	int			nentries;
	MiRevokedIssuer issuers[MI_REVOKED_MAX_ISSUERS];
	MiRevokedEntry entries[MI_REVOKED_CAPACITY];	/* sorted, unique */
} MiRevokedShared;

static MiRevokedShared *rset = NULL;

/* the one place that names this module's lock */
#define MI_TRANCHE_NAME "mtls_ident revoked set"

static LWLock *revoked_lock_ptr = NULL;

static LWLock *
revoked_lock(void)
{
	Assert(revoked_lock_ptr != NULL);
	return revoked_lock_ptr;
}

/* no lock exists (nor is needed) before other processes do */
static void
lock(LWLockMode mode)
{
	if (IsUnderPostmaster)
		LWLockAcquire(revoked_lock(), mode);
}

static void
unlock(void)
{
	if (IsUnderPostmaster)
		LWLockRelease(revoked_lock());
}

Size
mi_revoked_shmem_size(void)
{
	return sizeof(MiRevokedShared);
}

/* this module's lock: a tranche of its own */
void
mi_revoked_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_TRANCHE_NAME, 1);
}

void
mi_revoked_shmem_init(void)
{
	bool		found;

	revoked_lock_ptr = &(GetNamedLWLockTranche(MI_TRANCHE_NAME))[0].lock;
	rset = ShmemInitStruct("mtls_ident revoked set", sizeof(MiRevokedShared),
						   &found);
	if (!found)
		memset(rset, 0, offsetof(MiRevokedShared, entries));
}

uint64
mi_revoked_serial_hash(const char *hex)
{
	char		buf[256];
	bool		neg = false;
	int			n = 0;

	if (*hex == '-')
	{
		neg = true;
		hex++;
	}
	while (*hex == '0' && hex[1] != '\0')
		hex++;
	if (neg)
		buf[n++] = '-';
	for (; *hex && n < (int) sizeof(buf) - 1; hex++)
		buf[n++] = (*hex >= 'a' && *hex <= 'f') ? *hex - 'a' + 'A' : *hex;
	return hash_bytes_extended((const unsigned char *) buf, n, MI_SEED_SERIAL);
}

/*
 * An entry's issuer field: the first 64 bits of the issuer key with the
 * two low bits holding the source (builds use source 0 until published).
 */
#define SOURCE_BITS		UINT64CONST(3)

static uint64
key_prefix(const unsigned char *key)
{
	uint64		v;

	memcpy(&v, key, sizeof(v));
	return v & ~SOURCE_BITS;
}

static uint64
tagged(const unsigned char *key, int source)
{
	return key_prefix(key) | (uint64) source;
}

static int
entry_cmp(const void *a, const void *b)
{
	const MiRevokedEntry *x = a;
	const MiRevokedEntry *y = b;

	if (x->issuer != y->issuer)
		return x->issuer < y->issuer ? -1 : 1;
	if (x->serial != y->serial)
		return x->serial < y->serial ? -1 : 1;
	return 0;
}

/* the record of this issuer from this source (-1: any source, the first) */
static MiRevokedIssuer *
find_issuer(MiRevokedIssuer *issuers, int n, const unsigned char *key,
			int source)
{
	for (int i = 0; i < n; i++)
		if (memcmp(issuers[i].key, key, MI_NAME_KEY_LEN) == 0 &&
			(source < 0 || issuers[i].source == source))
			return &issuers[i];
	return NULL;
}

bool
mi_revoked_lookup(const MiCert *cert, const char **why)
{
	MiRevokedEntry key;
	MiRevokedIssuer *is;
	bool		revoked = false;

	*why = NULL;
	if (rset == NULL || cert == NULL)
		return false;
	if (!cert->has_issuer_key || cert->serial_hex == NULL)
	{
		*why = "the certificate's issuer could not be read";
		return true;
	}
	key.serial = mi_revoked_serial_hash(cert->serial_hex);

	lock(LW_SHARED);
	if (!rset->in_force)
	{
		revoked = true;
		*why = "no revocation set is in force yet";
	}
	else
	{
		/* revoked by any source that has a record of this issuer */
		for (int i = 0; i < rset->nissuers && !revoked; i++)
		{
			is = &rset->issuers[i];
			if (memcmp(is->key, cert->issuer_key, MI_NAME_KEY_LEN) != 0)
				continue;
			key.issuer = tagged(is->key, is->source);
			if (is->pending)
				*why = "no CRL of its issuer has verified yet";
			revoked = is->all_revoked ||
				bsearch(&key, rset->entries, rset->nentries,
						sizeof(MiRevokedEntry), entry_cmp) != NULL;
		}
		if (!revoked)
			*why = NULL;
	}
	unlock();
	return revoked;
}

bool
mi_revoked_in_force(void)
{
	bool		r;

	if (rset == NULL)
		return false;
	lock(LW_SHARED);
	r = rset->in_force;
	unlock();
	return r;
}

void
mi_revoked_counts(int *nentries, int *nissuers)
{
	lock(LW_SHARED);
	*nentries = rset->nentries;
	*nissuers = rset->nissuers;
	unlock();
}

uint64
mi_revoked_generation(void)
{
	uint64		g;

	if (rset == NULL)
		return 0;
	lock(LW_SHARED);
	g = rset->generation;
	unlock();
	return g;
}

/* ---------------------------------------------------------------------
 * Building
 * ---------------------------------------------------------------------
 */

MiRevokedBuild *
mi_revoked_build_new(void)
{
	MiRevokedBuild *b = palloc0(sizeof(MiRevokedBuild));

	b->capacity = MI_REVOKED_CAPACITY;
	b->entries = palloc(sizeof(MiRevokedEntry) * b->capacity);
	b->issuers = palloc0(sizeof(MiRevokedIssuer) * MI_REVOKED_MAX_ISSUERS);
	return b;
}

void
mi_revoked_build_free(MiRevokedBuild *b)
{
	pfree(b->entries);
	pfree(b->issuers);
	pfree(b);
}

MiRevokedIssuer *
mi_revoked_build_issuer(MiRevokedBuild *b, const unsigned char *key,
						const char *name)
{
	MiRevokedIssuer *is = find_issuer(b->issuers, b->nissuers, key, -1);

	if (is != NULL)
		return is;
	if (b->nissuers >= MI_REVOKED_MAX_ISSUERS)
		return NULL;
	is = &b->issuers[b->nissuers++];
	memset(is, 0, sizeof(*is));
	memcpy(is->key, key, MI_NAME_KEY_LEN);
	strlcpy(is->name, name, sizeof(is->name));
	return is;
}

bool
mi_revoked_build_add(MiRevokedBuild *b, const MiRevokedIssuer *is,
					 uint64 serial_hash)
{
	if (b->nentries >= b->capacity)
		return false;
	b->entries[b->nentries].issuer = key_prefix(is->key);
	b->entries[b->nentries].serial = serial_hash;
	b->nentries++;
	return true;
}

void
mi_revoked_build_all(MiRevokedBuild *b, MiRevokedIssuer *is)
{
	uint64		p = key_prefix(is->key);
	int			n = 0;

	if (!is->all_revoked)
		b->nall++;
	is->all_revoked = true;
	for (int i = 0; i < b->nentries; i++)
		if (b->entries[i].issuer != p)
			b->entries[n++] = b->entries[i];
	b->nentries = n;
}

bool
mi_revoked_build_pending(MiRevokedBuild *b, const unsigned char *key,
						 const char *name)
{
	MiRevokedIssuer *is = mi_revoked_build_issuer(b, key, name);

	if (is == NULL)
		return false;
	mi_revoked_build_all(b, is);
	is->pending = true;
	return true;
}

bool
mi_revoked_has_pending(void)
{
	bool		r = false;

	if (rset == NULL)
		return false;
	lock(LW_SHARED);
	for (int i = 0; i < rset->nissuers && !r; i++)
		r = rset->issuers[i].pending;
	unlock();
	return r;
}

/* sort and remove duplicates */
static int
sort_unique(MiRevokedEntry *e, int n)
{
	int			m = 0;

	if (n == 0)
		return 0;
	qsort(e, n, sizeof(MiRevokedEntry), entry_cmp);
	for (int i = 0; i < n; i++)
		if (m == 0 || entry_cmp(&e[m - 1], &e[i]) != 0)
			e[m++] = e[i];
	return m;
}

/* compare two CRL numbers in uppercase hex: <0, 0, >0 */
static int
number_cmp(const char *a, const char *b)
{
	size_t		la,
				lb;

	while (*a == '0' && a[1] != '\0')
		a++;
	while (*b == '0' && b[1] != '\0')
		b++;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* is the new CRL of an issuer older than the one in force? */
static bool
older(const MiRevokedIssuer *nw, const MiRevokedIssuer *old)
{
	if (nw->crl_number[0] != '\0' && old->crl_number[0] != '\0')
		return number_cmp(nw->crl_number, old->crl_number) < 0;
	return nw->this_update < old->this_update;
}

bool
mi_revoked_publish(MiRevocationSource source, MiRevokedBuild *b,
				   int *bad_issuer, char *err, size_t errlen)
{
	MiRevokedEntry *merged;
	MiRevokedIssuer *issuers;
	int			nmerged = 0;
	int			nissuers = 0;
	bool		ok = true;

	*bad_issuer = -1;

	Assert((int) source >= 0 && (uint64) source <= SOURCE_BITS);

	/* the build's entries are tagged with the source, sorted, deduplicated */
	for (int i = 0; i < b->nentries; i++)
		b->entries[i].issuer = (b->entries[i].issuer & ~SOURCE_BITS) | (uint64) source;
	b->nentries = sort_unique(b->entries, b->nentries);
	for (int i = 0; i < b->nissuers; i++)
		b->issuers[i].source = source;

	merged = palloc(sizeof(MiRevokedEntry) * MI_REVOKED_CAPACITY);
	issuers = palloc(sizeof(MiRevokedIssuer) * MI_REVOKED_MAX_ISSUERS);

	lock(LW_EXCLUSIVE);

	/*
	 * Freshness, against this source's record of each issuer (another
	 * source's record of the same issuer stays beside it: a certificate
	 * revoked by any source is revoked).
	 */
	for (int i = 0; i < b->nissuers && ok; i++)
	{
		MiRevokedIssuer *old = find_issuer(rset->issuers, rset->nissuers,
										   b->issuers[i].key, (int) source);

		if (old != NULL && !old->pending && older(&b->issuers[i], old))
		{
			snprintf(err, errlen,
					 "the CRL issued by \"%s\" (number %s, thisUpdate %lld) is older than the one in force (number %s, thisUpdate %lld)",
					 b->issuers[i].name,
					 b->issuers[i].crl_number[0] ? b->issuers[i].crl_number : "none",
					 (long long) b->issuers[i].this_update,
					 old->crl_number[0] ? old->crl_number : "none",
					 (long long) old->this_update);
			*bad_issuer = i;
			ok = false;
		}
	}

	/* other sources' issuers and entries stay */
	for (int i = 0; i < rset->nissuers && ok; i++)
	{
		MiRevokedIssuer *is = &rset->issuers[i];

		if (is->source == (int32) source)
			continue;
		issuers[nissuers++] = *is;
	}
	if (ok && nissuers + b->nissuers > MI_REVOKED_MAX_ISSUERS)
	{
		snprintf(err, errlen, "more than %d issuers", MI_REVOKED_MAX_ISSUERS);
		ok = false;
	}
	if (ok)
	{
		/* other sources' entries stay */
		for (int i = 0; i < rset->nentries; i++)
		{
			if ((rset->entries[i].issuer & SOURCE_BITS) == (uint64) source)
				continue;
			if (nmerged >= MI_REVOKED_CAPACITY)
			{
				ok = false;
				break;
			}
			merged[nmerged++] = rset->entries[i];
		}
		if (!ok || nmerged + b->nentries > MI_REVOKED_CAPACITY)
		{
			snprintf(err, errlen, "more than %d revoked certificates over all sources",
					 MI_REVOKED_CAPACITY);
			ok = false;
		}
	}
	if (ok)
	{
		memcpy(merged + nmerged, b->entries, sizeof(MiRevokedEntry) * b->nentries);
		nmerged = sort_unique(merged, nmerged + b->nentries);
		memcpy(issuers + nissuers, b->issuers, sizeof(MiRevokedIssuer) * b->nissuers);
		nissuers += b->nissuers;
		/* entry counts: merged is sorted by issuer prefix */
		for (int k = 0; k < nissuers; k++)
		{
			MiRevokedEntry lo = {tagged(issuers[k].key, issuers[k].source), 0};
			int			l = 0,
						h = nmerged;

			while (l < h)
			{
				int			m = (l + h) / 2;

				if (entry_cmp(&merged[m], &lo) < 0)
					l = m + 1;
				else
					h = m;
			}
			issuers[k].nentries = 0;
			while (l < nmerged && merged[l].issuer == lo.issuer)
				issuers[k].nentries++, l++;
		}
		memcpy(rset->entries, merged, sizeof(MiRevokedEntry) * nmerged);
		rset->nentries = nmerged;
		memcpy(rset->issuers, issuers, sizeof(MiRevokedIssuer) * nissuers);
		rset->nissuers = nissuers;
		rset->in_force = true;
		rset->generation++;
	}
	unlock();
	pfree(merged);
	pfree(issuers);
	return ok;
}

/* ---------------------------------------------------------------------
 * State file part: magic, nissuers, nentries, issuers, entries
 * ---------------------------------------------------------------------
 */

void
mi_revoked_export(StringInfo out)
{
	uint32		hdr[3];

	lock(LW_SHARED);
	hdr[0] = MI_REVOKED_EXPORT_MAGIC;
	hdr[1] = (uint32) rset->nissuers;
	hdr[2] = (uint32) rset->nentries;
	appendBinaryStringInfo(out, (const char *) hdr, sizeof(hdr));
	appendBinaryStringInfo(out, (const char *) rset->issuers,
						   sizeof(MiRevokedIssuer) * rset->nissuers);
	appendBinaryStringInfo(out, (const char *) rset->entries,
						   sizeof(MiRevokedEntry) * rset->nentries);
	unlock();
}

bool
mi_revoked_import(const char *data, size_t len)
{
	uint32		hdr[3];
	size_t		need;

	Assert(!IsUnderPostmaster);
	if (len < sizeof(hdr))
		return false;
	memcpy(hdr, data, sizeof(hdr));
	if (hdr[0] != MI_REVOKED_EXPORT_MAGIC || hdr[1] > MI_REVOKED_MAX_ISSUERS ||
		hdr[2] > MI_REVOKED_CAPACITY)
		return false;
	need = sizeof(hdr) + sizeof(MiRevokedIssuer) * hdr[1] +
		sizeof(MiRevokedEntry) * hdr[2];
	if (len != need)
		return false;
	memcpy(rset->issuers, data + sizeof(hdr), sizeof(MiRevokedIssuer) * hdr[1]);
	memcpy(rset->entries, data + sizeof(hdr) + sizeof(MiRevokedIssuer) * hdr[1],
		   sizeof(MiRevokedEntry) * hdr[2]);
	for (uint32 i = 0; i < hdr[1]; i++)
	{
		rset->issuers[i].name[MI_REVOKED_NAME_MAX - 1] = '\0';
		rset->issuers[i].crl_number[MI_REVOKED_NUMBER_MAX - 1] = '\0';
	}
	rset->nissuers = (int) hdr[1];
	rset->nentries = sort_unique(rset->entries, (int) hdr[2]);
	rset->in_force = true;
	rset->generation++;
	return true;
}
