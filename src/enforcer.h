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

/*
 * Why the enforcer ends a session, for a reason name ("revoked", ...): a
 * phrase such as "the client certificate was revoked".
 */
extern const char *mi_ending_phrase(const char *reason);

/* _PG_init: install the statement-start expiry check and the log hook */
extern void mi_expiry_install(void);

/* at login, for an admitted certificate session: arm the notAfter timeout */
extern void mi_expiry_arm(const MiCert *cert);

#endif							/* MI_ENFORCER_H */
