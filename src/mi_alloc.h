/*-------------------------------------------------------------------------
 *
 * mi_alloc.h
 *		Allocation and base types for the pure modules (pattern, label,
 *		cert, decision).
 *
 * The pure modules have no backend dependencies beyond allocation, so they
 * can be built stand-alone for unit tests and libFuzzer targets.  Built into
 * the extension (the default), allocation is palloc in the current memory
 * context; built with -DMTLS_IDENT_STANDALONE it is malloc.  Either way
 * allocation never returns NULL (palloc throws; the stand-alone build
 * aborts), so callers do not check.
 *
 * Include this header first in a pure module: in the backend build it pulls
 * in postgres.h, which must come first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_ALLOC_H
#define MI_ALLOC_H

#ifdef MTLS_IDENT_STANDALONE

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void *
mi_alloc0(size_t n)
{
	void	   *p = calloc(1, n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

static inline void *
mi_realloc(void *p, size_t n)
{
	void	   *q = realloc(p, n ? n : 1);

	if (q == NULL)
		abort();
	return q;
}

#define mi_free(p) free(p)

#else							/* backend build */

#include "postgres.h"

#include <stdint.h>

#define mi_alloc0(n) palloc0(n)
#define mi_realloc(p, n) repalloc((p), (n))
#define mi_free(p) do { if ((p) != NULL) pfree(p); } while (0)

#endif

/* copy len bytes and NUL-terminate */
static inline char *
mi_strndup(const char *s, size_t len)
{
	char	   *d = (char *) mi_alloc0(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static inline char *
mi_strdup(const char *s)
{
	return mi_strndup(s, strlen(s));
}

#endif							/* MI_ALLOC_H */
