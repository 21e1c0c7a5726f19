/*-------------------------------------------------------------------------
 *
 * dsa_place.c
 *		A dynamic shared memory area that starts inside the main shared
 *		memory (dsa_create_in_place), used by the label cache
 *		(label_cache.c) and the sessions' overflow area (sessions.c).
 *
 * The postmaster (or a single-user backend) creates the area in a piece
 * of main shared memory it reserved, pins it -- it lives until shared
 * memory is re-initialised, whoever is attached -- caps its size, and
 * lets go of it.  Each process attaches on first use and keeps the
 * mapping for its life.  The area's locks belong to the caller's tranche.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "dsa_place.h"

void
mi_dsa_place_create(void *place, size_t place_size, int tranche,
					size_t size_limit)
{
	dsa_area   *dsa = dsa_create_in_place(place, place_size, tranche, NULL);

	dsa_pin(dsa);
	dsa_set_size_limit(dsa, size_limit);
	dsa_detach(dsa);
}

/* this process's attachment, made on first use and kept in *attached */
dsa_area *
mi_dsa_place_attach(void *place, dsa_area **attached)
{
	if (*attached == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		*attached = dsa_attach_in_place(place, NULL);
		dsa_pin_mapping(*attached);
		MemoryContextSwitchTo(old);
	}
	return *attached;
}
