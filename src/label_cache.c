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
 * Entries live in a ring arena of mtls_ident.label_cache_size bytes (0
 * disables the cache); a new entry overwrites the oldest ones.  Readers
 * copy the text out under a shared lock; writers hold the lock
 * exclusively.  Only backends with a database selected (the deferred
 * login decision, the enforcer, check()) fill the cache; the login hook
 * reads it before a database is selected.
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

#include "label_cache.h"
#include "mtls_ident.h"
#include "shmem.h"

#define MI_LABEL_CACHE_SLOTS 1024

typedef struct MiLabelCacheEntry
{
	bool		valid;
	MiLabelKey	key;
	uint32		off;			/* into the arena */
	uint32		len;			/* bytes of text, without a final NUL */
	pg_crc32c	crc;
} MiLabelCacheEntry;

typedef struct MiLabelCacheShared
{
	uint32		size;			/* bytes in arena */
	uint32		head;			/* where the next entry goes */
	uint32		victim;			/* next slot to reuse when all are taken */
	MiLabelCacheEntry slots[MI_LABEL_CACHE_SLOTS];
	char		arena[FLEXIBLE_ARRAY_MEMBER];
} MiLabelCacheShared;

static MiLabelCacheShared *cache = NULL;

Size
mi_label_cache_shmem_size(void)
{
	return add_size(offsetof(MiLabelCacheShared, arena),
					(Size) mi_label_cache_size_kb * 1024);
}

void
mi_label_cache_shmem_init(void)
{
	bool		found;

	cache = ShmemInitStruct("mtls_ident label cache",
							mi_label_cache_shmem_size(), &found);
	if (!found)
	{
		memset(cache, 0, offsetof(MiLabelCacheShared, arena));
		cache->size = (uint32) mi_label_cache_size_kb * 1024;
	}
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

	if (cache == NULL || cache->size == 0)
		return NULL;

	LWLockAcquire(mi_lwlock(MI_LWLOCK_LABEL_CACHE), LW_SHARED);
	for (i = 0; i < MI_LABEL_CACHE_SLOTS; i++)
	{
		MiLabelCacheEntry *e = &cache->slots[i];

		if (!e->valid || !key_equal(&e->key, key))
			continue;
		if ((uint64) e->off + e->len > cache->size)
		{
			bad = true;
			break;
		}
		copy = palloc(e->len + 1);
		memcpy(copy, cache->arena + e->off, e->len);
		copy[e->len] = '\0';
		if (!EQ_CRC32C(text_crc(copy, e->len), e->crc))
		{
			pfree(copy);
			copy = NULL;
			bad = true;
		}
		break;
	}
	LWLockRelease(mi_lwlock(MI_LWLOCK_LABEL_CACHE));

	if (bad)
	{
		/* should not happen; forget the entry, read the catalog */
		LWLockAcquire(mi_lwlock(MI_LWLOCK_LABEL_CACHE), LW_EXCLUSIVE);
		if (cache->slots[i].valid && key_equal(&cache->slots[i].key, key))
			cache->slots[i].valid = false;
		LWLockRelease(mi_lwlock(MI_LWLOCK_LABEL_CACHE));
		ereport(LOG,
				(errmsg("mtls_ident: dropped a damaged entry from the shared label cache (role with OID %u)",
						key->roleid)));
	}
	return copy;
}

void
mi_label_cache_put(const MiLabelKey *key, const char *text, size_t len)
{
	uint32		off;
	int			slot = -1;

	/* an entry may take at most a quarter of the arena */
	if (cache == NULL || cache->size == 0 || len == 0 || len > cache->size / 4)
		return;

	LWLockAcquire(mi_lwlock(MI_LWLOCK_LABEL_CACHE), LW_EXCLUSIVE);

	/* already there (another backend was faster); older versions go */
	for (int i = 0; i < MI_LABEL_CACHE_SLOTS; i++)
	{
		MiLabelCacheEntry *e = &cache->slots[i];

		if (!e->valid || e->key.roleid != key->roleid)
			continue;
		if (key_equal(&e->key, key))
		{
			LWLockRelease(mi_lwlock(MI_LWLOCK_LABEL_CACHE));
			return;
		}
		e->valid = false;
	}

	/* room in the ring: wrap when the text does not fit before the end */
	off = cache->head;
	if ((uint64) off + len > cache->size)
		off = 0;
	cache->head = off + (uint32) len;

	/* every entry the new text overwrites is gone; pick a free slot */
	for (int i = 0; i < MI_LABEL_CACHE_SLOTS; i++)
	{
		MiLabelCacheEntry *e = &cache->slots[i];

		if (e->valid && e->off < off + len && off < e->off + e->len)
			e->valid = false;
		if (!e->valid && slot < 0)
			slot = i;
	}
	if (slot < 0)
	{
		slot = (int) (cache->victim++ % MI_LABEL_CACHE_SLOTS);
		cache->slots[slot].valid = false;
	}

	memcpy(cache->arena + off, text, len);
	cache->slots[slot].key = *key;
	cache->slots[slot].off = off;
	cache->slots[slot].len = (uint32) len;
	cache->slots[slot].crc = text_crc(text, (uint32) len);
	cache->slots[slot].valid = true;

	LWLockRelease(mi_lwlock(MI_LWLOCK_LABEL_CACHE));
}
