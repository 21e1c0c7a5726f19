/*-------------------------------------------------------------------------
 *
 * auth_log.h
 *		The ring of authentication events in shared memory (view
 *		auth_log) and the counters by outcome and reason (view stats).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_AUTH_LOG_H
#define MI_AUTH_LOG_H

#include "postgres.h"

#include "cert.h"
#include "decision.h"

typedef enum MiOutcome
{
	MI_OUTCOME_ACCEPT,
	MI_OUTCOME_REJECT,
	MI_OUTCOME_WOULD_REJECT,
	MI_NUM_OUTCOMES
} MiOutcome;

/* bounds of one event, documented in doc/views.md */
#define MI_EVENT_CERT_BYTES	4096	/* serialized certificate facts */
#define MI_EVENT_IDENTITY_LEN 1024

extern const char *mi_outcome_name(MiOutcome outcome);

extern Size mi_auth_log_shmem_size(void);
extern void mi_auth_log_shmem_init(void);

/* record one decision (called before a refusal's FATAL) */
extern void mi_auth_log_record(MiOutcome outcome, MiReason reason,
							   const char *role, const char *database,
							   const char *client_addr, const char *identity,
							   const MiCert *cert);

#endif							/* MI_AUTH_LOG_H */
