/*-------------------------------------------------------------------------
 *
 * shmem.h
 *		Shared memory of mtls_ident: the request and startup hooks, which
 *		add up what each module needs and call each module's init.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_SHMEM_H
#define MI_SHMEM_H

#include "postgres.h"

extern void mi_shmem_install(void);

#endif							/* MI_SHMEM_H */
