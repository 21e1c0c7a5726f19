/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		Shared memory of mtls_ident: one request and one startup for all
 *		modules.
 *
 * Each module says how much it needs (mi_*_shmem_size) and allocates its
 * own struct with ShmemInitStruct in mi_*_shmem_init, which runs under
 * AddinShmemInitLock and initialises only when the struct is new.  Locking
 * rules are in each module's file header.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "auth_log.h"
#include "crl.h"
#include "crl_fetch.h"
#include "ocsp.h"
#include "label_cache.h"
#include "sessions.h"
#include "shmem.h"

#define MI_TRANCHE "mtls_ident"

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static LWLockPadded *mi_locks = NULL;

LWLock *
mi_lwlock(int which)
{
	Assert(mi_locks != NULL && which >= 0 && which < MI_NUM_LWLOCKS);
	return &mi_locks[which].lock;
}

static void
mi_shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(add_size(mi_sessions_shmem_size(),
									add_size(mi_auth_log_shmem_size(),
											 add_size(mi_crl_shmem_size(),
													  mi_label_cache_shmem_size()))));
	RequestNamedLWLockTranche(MI_TRANCHE, MI_NUM_LWLOCKS);
	mi_ocsp_shmem_request();
	mi_crl_fetch_shmem_request();
}

static void
mi_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mi_locks = GetNamedLWLockTranche(MI_TRANCHE);
	mi_sessions_shmem_init();
	mi_auth_log_shmem_init();
	mi_crl_shmem_init();
	mi_label_cache_shmem_init();
	mi_ocsp_shmem_init();
	mi_crl_fetch_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

void
mi_shmem_install(void)
{
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mi_shmem_request;
#else
	mi_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mi_shmem_startup;
}
