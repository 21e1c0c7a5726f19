/*-------------------------------------------------------------------------
 *
 * enforcer.h
 *		The enforcer background worker, and the per-backend expiry checks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_ENFORCER_H
#define MI_ENFORCER_H

#include "postgres.h"

#include "cert.h"

/* _PG_init: register the worker */
extern void mi_enforcer_register(void);

/* the worker's state across its restarts (which database it uses) */
extern Size mi_enforcer_shmem_size(void);
extern void mi_enforcer_shmem_init(void);

/* bgworker entry point */
extern PGDLLEXPORT void mi_enforcer_main(Datum arg);

#endif							/* MI_ENFORCER_H */
