/*-------------------------------------------------------------------------
 *
 * shmem.h
 *		Shared memory of mtls_ident: one request, one startup, for all
 *		modules (session slots, auth_log ring, CRL set, enforcer state).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_SHMEM_H
#define MI_SHMEM_H

#include "postgres.h"

#include "storage/lwlock.h"

/* LWLocks of our named tranche "mtls_ident" */
#define MI_LWLOCK_AUTH_LOG	0		/* the auth_log ring and its cursor */
#define MI_LWLOCK_CRL		1		/* the published revoked set */
#define MI_LWLOCK_LABEL_CACHE	2	/* the shared label cache */
#define MI_NUM_LWLOCKS		3

extern void mi_shmem_install(void);

/* valid after shared memory startup */
extern LWLock *mi_lwlock(int which);

#endif							/* MI_SHMEM_H */
