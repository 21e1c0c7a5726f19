/*-------------------------------------------------------------------------
 *
 * label_cache.h
 *		The text of labels stored out of line, kept in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_LABEL_CACHE_H
#define MI_LABEL_CACHE_H

#include "postgres.h"

/*
 * What identifies one stored label value (all uint32: no padding, compared
 * with memcmp): the role, the TOAST pointer, the heap tuple's raw xmin and
 * item pointer.
 */
typedef struct MiLabelKey
{
	uint32		roleid;
	uint32		rawsize;		/* varatt_external.va_rawsize */
	uint32		extinfo;		/* va_extinfo: stored size, compression */
	uint32		valueid;		/* va_valueid */
	uint32		toastrelid;		/* va_toastrelid */
	uint32		xmin;			/* HeapTupleHeaderGetRawXmin */
	uint32		block;			/* t_self */
	uint32		offset;
} MiLabelKey;

extern Size mi_label_cache_shmem_size(void);
extern void mi_label_cache_shmem_request(void);
extern void mi_label_cache_shmem_init(void);

/* text bytes and entries cached now, and the size limit of the area */
extern void mi_label_cache_usage(int64 *bytes, int64 *entries, int64 *limit);

/* a palloc'd copy of the cached text, or NULL */
extern char *mi_label_cache_get(const MiLabelKey *key);

/* remember text (len bytes) under key */
extern void mi_label_cache_put(const MiLabelKey *key, const char *text,
							   size_t len);

#endif							/* MI_LABEL_CACHE_H */
