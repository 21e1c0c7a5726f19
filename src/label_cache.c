/*-------------------------------------------------------------------------
 *
 * label_cache.c
 *		The text of labels stored out of line, kept in shared memory.
 *
 * A role's label is moved to pg_shseclabel's TOAST table once its row
 * exceeds about 2 kB compressed.  Reading it then costs a login twice:
 * the TOAST table can only be opened with a database selected, so the
 * decision has to wait for the end of InitPostgres; and opening that table
 * and its index in a new backend and decompressing the value takes some
 * 200 us (doc/benchmarks.md).  Every login is a new process, so nothing
 * read by one backend helps the next -- except shared memory.
 *
 * This cache keeps the text of such labels, keyed by everything that
 * identifies the stored value: the role, the TOAST pointer (value OID,
 * TOAST table, raw and stored size, compression), and the heap tuple's raw
 * xmin and item pointer.  A label is never changed in place: SECURITY
 * LABEL writes a new tuple version (a new xmin, usually a new item
 * pointer) whose value gets a new OID, unused in the TOAST table at that
 * moment.  A stale entry would need all of these to repeat for the same
 * role; a missing or evicted entry only means reading the catalog again.
 * Each entry also carries a CRC-32C of its text, checked on every read:
 * an entry that does not check out is dropped and treated as a miss.
 *
 * Entries live in a dynamic shared memory area (dsa) that grows with use
 * up to mtls_ident.label_cache_size bytes (0 disables the cache): it
 * starts as a small piece of the main shared memory (dsa_create_in_place
 * at startup) and takes DSM segments as labels arrive, so an idle or
 * small cache costs next to nothing.  When the area is full, the oldest
 * entries go until the new text fits; one entry may take at most a
 * quarter of the size.  The table of entries (MI_LABEL_CACHE_SLOTS) is
 * fixed.
 *
 * Locking: the one lock of our tranche "mtls_ident label cache", which
 * also names the dsa's internal locks.  Readers copy the text out under
 * the lock held shared; writers hold it exclusively, and only they free
 * a text, after its entry is invalidated -- so a reader never follows a
 * pointer to freed memory.  Each process attaches to the area on first
 * use and stays attached.  Only backends with a database selected (the
 * deferred login decision, the enforcer, check()) fill the cache; the
 * login hook reads it before a database is selected.  A crash restart
 * re-initialises the cache empty (its DSM segments are removed by the
 * postmaster).
 *
 * Who can put what here: only the text of a pg_shseclabel tuple that the
 * caller has just read from the catalog, under its key.  No SQL function
 * reads or writes the cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_crc32c.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/dsa.h"
#include "utils/memutils.h"

#include "dsa_place.h"
#include "label_cache.h"
#include "settings.h"

#define MI_LABEL_CACHE_TRANCHE "mtls_ident label cache"
#define MI_LABEL_CACHE_SLOTS 1024
/* the part of the area inside the main shared memory, at most */
#define MI_LABEL_CACHE_IN_PLACE (64 * 1024)
/* below this size, texts take whole pages (see mi_label_cache_put) */
#define MI_LABEL_CACHE_PAGES_BELOW (1024 * 1024)

typedef struct MiLabelCacheEntry
{
	bool		valid;
	MiLabelKey	key;
	dsa_pointer text;			/* len bytes, no final NUL */
	uint32		len;
	pg_crc32c	crc;
	uint64		seq;			/* insertion order: the oldest goes first */
} MiLabelCacheEntry;

typedef struct MiLabelCacheShared
{
	int64		limit;			/* bytes the area may take */
	uint64		next_seq;
	int64		bytes;			/* text bytes in valid entries */
	int64		entries;		/* valid entries */
	MiLabelCacheEntry slots[MI_LABEL_CACHE_SLOTS];
} MiLabelCacheShared;

static MiLabelCacheShared *cache = NULL;
static LWLock *cache_lock = NULL;
static void *cache_place = NULL;
static dsa_area *cache_dsa = NULL;	/* this process's attachment */

static Size
cache_limit(void)
{
	return (Size) mi_label_cache_size_kb * 1024;
}

static Size
in_place_size(void)
{
	return Max(Min(MI_LABEL_CACHE_IN_PLACE, cache_limit()), dsa_minimum_size());
}

Size
mi_label_cache_shmem_size(void)
{
	if (cache_limit() == 0)
		return 0;
	return add_size(sizeof(MiLabelCacheShared), in_place_size());
}

void
mi_label_cache_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_LABEL_CACHE_TRANCHE, 1);
}

void
mi_label_cache_shmem_init(void)
{
	bool		found;
	bool		found_place;

	cache_lock = &GetNamedLWLockTranche(MI_LABEL_CACHE_TRANCHE)[0].lock;
	cache_dsa = NULL;
	if (cache_limit() == 0)
	{
		cache = NULL;
		return;
	}
	cache = ShmemInitStruct("mtls_ident label cache",
							sizeof(MiLabelCacheShared), &found);
	cache_place = ShmemInitStruct("mtls_ident label cache area",
								  in_place_size(), &found_place);
	if (!found)
	{
		memset(cache, 0, sizeof(MiLabelCacheShared));
		cache->limit = (int64) Max(cache_limit(), in_place_size());
	}
	if (!found_place)
	{
		/* created here, attached by each process on first use; pinned */
		mi_dsa_place_create(cache_place, in_place_size(), cache_lock->tranche,
							(size_t) cache->limit);
	}
}

void
mi_label_cache_usage(int64 *bytes, int64 *entries, int64 *limit)
{
	*bytes = *entries = *limit = 0;
	if (cache == NULL)
		return;
	LWLockAcquire(cache_lock, LW_SHARED);
	*bytes = cache->bytes;
	*entries = cache->entries;
	*limit = cache->limit;
	LWLockRelease(cache_lock);
}

static dsa_area *
cache_area(void)
{
	return mi_dsa_place_attach(cache_place, &cache_dsa);
}

/* forget entry e and free its text; the lock is held exclusively */
static void
drop_entry(MiLabelCacheEntry *e)
{
	if (!e->valid)
		return;
	e->valid = false;
	dsa_free(cache_area(), e->text);
	cache->bytes -= e->len;
	cache->entries--;
}

static bool
key_equal(const MiLabelKey *a, const MiLabelKey *b)
{
	return memcmp(a, b, sizeof(MiLabelKey)) == 0;
}

static pg_crc32c
text_crc(const char *text, uint32 len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, text, len);
	FIN_CRC32C(crc);
	return crc;
}

char *
mi_label_cache_get(const MiLabelKey *key)
{
	char	   *copy = NULL;
	bool		bad = false;
	int			i;

	if (cache == NULL)
		return NULL;

	LWLockAcquire(cache_lock, LW_SHARED);
	for (i = 0; i < MI_LABEL_CACHE_SLOTS; i++)
	{
		MiLabelCacheEntry *e = &cache->slots[i];

		if (!e->valid || !key_equal(&e->key, key))
			continue;
		copy = palloc(e->len + 1);
		memcpy(copy, dsa_get_address(cache_area(), e->text), e->len);
		copy[e->len] = '\0';
		if (!EQ_CRC32C(text_crc(copy, e->len), e->crc))
		{
			pfree(copy);
			copy = NULL;
			bad = true;
		}
		break;
	}
	LWLockRelease(cache_lock);

	if (bad)
	{
		/* should not happen; forget the entry, read the catalog */
		LWLockAcquire(cache_lock, LW_EXCLUSIVE);
		if (cache->slots[i].valid && key_equal(&cache->slots[i].key, key))
			drop_entry(&cache->slots[i]);
		LWLockRelease(cache_lock);
		ereport(LOG,
				(errmsg("mtls_ident: dropped a damaged entry from the shared label cache (role with OID %u)",
						key->roleid)));
	}
	return copy;
}

/* the valid entry inserted first, or NULL */
static MiLabelCacheEntry *
oldest_entry(void)
{
	MiLabelCacheEntry *oldest = NULL;

	for (int i = 0; i < MI_LABEL_CACHE_SLOTS; i++)
	{
		MiLabelCacheEntry *e = &cache->slots[i];

		if (e->valid && (oldest == NULL || e->seq < oldest->seq))
			oldest = e;
	}
	return oldest;
}

void
mi_label_cache_put(const MiLabelKey *key, const char *text, size_t len)
{
	MiLabelCacheEntry *slot = NULL;
	dsa_pointer p;
	size_t		alloc_len = len;

	/* an entry may take at most a quarter of the cache */
	if (cache == NULL || len == 0 || len > (size_t) cache->limit / 4)
		return;

	LWLockAcquire(cache_lock, LW_EXCLUSIVE);

	/* already there (another backend was faster); older versions go */
	for (int i = 0; i < MI_LABEL_CACHE_SLOTS; i++)
	{
		MiLabelCacheEntry *e = &cache->slots[i];

		if (!e->valid || e->key.roleid != key->roleid)
			continue;
		if (key_equal(&e->key, key))
		{
			LWLockRelease(cache_lock);
			return;
		}
		drop_entry(e);
	}

	/*
	 * room in the area: the oldest entries go until the text fits.  The
	 * dsa serves sizes up to 8 kB from 64 kB superblocks of one size
	 * class; in a small cache (under 1 MB) one such superblock would take
	 * a large share of it, so there every text is given whole 4 kB pages
	 * of its own instead (asking for more than 8 kB does that).
	 */
	if (cache->limit < MI_LABEL_CACHE_PAGES_BELOW && len <= 8192)
		alloc_len = 8192 + 1;
	for (;;)
	{
		MiLabelCacheEntry *victim;

		p = dsa_allocate_extended(cache_area(), alloc_len, DSA_ALLOC_NO_OOM);
		if (DsaPointerIsValid(p))
			break;
		victim = oldest_entry();
		if (victim == NULL)
		{
			LWLockRelease(cache_lock);
			return;
		}
		drop_entry(victim);
	}

	/* a free slot, else the oldest entry's */
	for (int i = 0; i < MI_LABEL_CACHE_SLOTS && slot == NULL; i++)
		if (!cache->slots[i].valid)
			slot = &cache->slots[i];
	if (slot == NULL)
	{
		slot = oldest_entry();
		drop_entry(slot);
	}

	memcpy(dsa_get_address(cache_area(), p), text, len);
	slot->key = *key;
	slot->text = p;
	slot->len = (uint32) len;
	slot->crc = text_crc(text, (uint32) len);
	slot->seq = cache->next_seq++;
	slot->valid = true;
	cache->bytes += len;
	cache->entries++;

	LWLockRelease(cache_lock);
}
