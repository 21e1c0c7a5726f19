/*-------------------------------------------------------------------------
 *
 * dsa_place.h
 *		A dynamic shared memory area that starts inside the main shared
 *		memory: made once by the postmaster, attached by each process on
 *		first use.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTLS_IDENT_DSA_PLACE_H
#define MTLS_IDENT_DSA_PLACE_H

#include "utils/dsa.h"

extern void mi_dsa_place_create(void *place, size_t place_size, int tranche,
								size_t size_limit);
extern dsa_area *mi_dsa_place_attach(void *place, dsa_area **attached);

#endif							/* MTLS_IDENT_DSA_PLACE_H */
