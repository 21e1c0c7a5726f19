/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		Shared memory of mtls_ident: the request and startup hooks.
 *
 * Each module owns its shared memory and its lock: it says how much it
 * needs (mi_*_shmem_size), requests its own named LWLock tranche
 * (mi_*_shmem_request) and allocates and initialises its structs with
 * ShmemInitStruct (mi_*_shmem_init, run under AddinShmemInitLock; a
 * struct is initialised only when new).  Its locking rules are in its own
 * file header.  This file only adds the sizes up and calls the modules, in
 * the order of the table below, and shows the result in view
 * mtls_ident.memory.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "auth_log.h"
#include "crl.h"
#include "crl_fetch.h"
#include "enforcer.h"
#include "ocsp.h"
#include "label_cache.h"
#include "sessions.h"
#include "shmem.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;


typedef struct MiShmemModule
{
	const char *name;			/* as in view memory */
	Size		(*size) (void);
	void		(*request) (void);
	void		(*init) (void);
} MiShmemModule;

static const MiShmemModule modules[] = {
	{"sessions", mi_sessions_shmem_size, mi_sessions_shmem_request, mi_sessions_shmem_init},
	{"auth_log", mi_auth_log_shmem_size, mi_auth_log_shmem_request, mi_auth_log_shmem_init},
	{"label_cache", mi_label_cache_shmem_size, mi_label_cache_shmem_request, mi_label_cache_shmem_init},
	{"crl", mi_crl_shmem_size, mi_crl_shmem_request, mi_crl_shmem_init},
	{"enforcer", mi_enforcer_shmem_size, NULL, mi_enforcer_shmem_init},
	{"ocsp", mi_ocsp_shmem_size, mi_ocsp_shmem_request, mi_ocsp_shmem_init},
	{"crl_fetch", mi_crl_fetch_shmem_size, mi_crl_fetch_shmem_request, mi_crl_fetch_shmem_init},
};

static void
mi_shmem_request(void)
{
	Size		total = 0;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	for (int i = 0; i < lengthof(modules); i++)
	{
		total = add_size(total, modules[i].size());
		if (modules[i].request)
			modules[i].request();
	}
	RequestAddinShmemSpace(total);
}

static void
mi_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	for (int i = 0; i < lengthof(modules); i++)
		modules[i].init();
	LWLockRelease(AddinShmemInitLock);
}

void
mi_shmem_install(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mi_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mi_shmem_startup;
}

PG_FUNCTION_INFO_V1(mtls_ident_memory);

/*
 * mtls_ident._memory(): the rows of view memory, one per module: its
 * fixed shared memory (as pg_shmem_allocations counts it), and for the
 * modules with a dynamic area, the bytes and chunks in use there and the
 * area's limit.  Numbers only: readable by pg_read_all_stats (granted in
 * the install script).
 */
Datum
mtls_ident_memory(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < lengthof(modules); i++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};
		int64		bytes = 0;
		int64		chunks = 0;
		int64		limit = 0;
		bool		dynamic = true;

		if (strcmp(modules[i].name, "sessions") == 0)
			mi_sessions_overflow_usage(&bytes, &chunks, &limit);
		else if (strcmp(modules[i].name, "label_cache") == 0)
			mi_label_cache_usage(&bytes, &chunks, &limit);
		else
			dynamic = false;

		values[0] = CStringGetTextDatum(modules[i].name);
		values[1] = Int64GetDatum((int64) modules[i].size());
		values[2] = Int64GetDatum(bytes);
		values[3] = Int64GetDatum(chunks);
		values[4] = Int64GetDatum(limit);
		if (!dynamic)
			nulls[2] = nulls[3] = nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
