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

#include "storage/lwlock.h"

/*
 * The tranche "mtls_ident" holds the lock of the CRL set alone (crl.c);
 * every other module has a tranche of its own.
 */
#define MI_LWLOCK_CRL		0		/* the published revoked set */
#define MI_NUM_LWLOCKS		1

extern void mi_shmem_install(void);

/* valid after shared memory startup */
extern LWLock *mi_lwlock(int which);

#endif							/* MI_SHMEM_H */
