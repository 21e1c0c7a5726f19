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

/*
 * Bounds of one event, documented in doc/views.md: about 1.5 kB an event.
 * A longer identity is cut and ends in "..."; so are names longer than
 * the serializer's share of MI_EVENT_CERT_BYTES (cert_serial.h); SANs are
 * kept in certificate order while they fit.
 */
#define MI_EVENT_CERT_BYTES	1024	/* serialized certificate facts */
#define MI_EVENT_IDENTITY_LEN 256	/* with the final NUL */

extern const char *mi_outcome_name(MiOutcome outcome);

extern Size mi_auth_log_shmem_size(void);
extern void mi_auth_log_shmem_request(void);
extern void mi_auth_log_shmem_init(void);

/* record one decision (called before a refusal's FATAL) */
extern void mi_auth_log_record(MiOutcome outcome, MiReason reason,
							   const char *role, const char *database,
							   const char *client_addr, const char *identity,
							   const MiCert *cert);

#endif							/* MI_AUTH_LOG_H */
