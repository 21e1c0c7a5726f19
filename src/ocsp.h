/*-------------------------------------------------------------------------
 *
 * ocsp.h
 *		OCSP (SPEC section 8): the client certificate's status at login,
 *		a shared answer cache, and the worker's refresh of live sessions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_OCSP_H
#define MI_OCSP_H

#include "postgres.h"

#include "cert.h"
#include "decision.h"
#include "revocation_report.h"
#include "settings.h"

extern Size mi_ocsp_shmem_size(void);
extern void mi_ocsp_shmem_request(void);
extern void mi_ocsp_shmem_init(void);

/*
 * Login: the OCSP verdict for a certificate that passed every other rule
 * (leaf is the X509 *, chain the verified STACK_OF(X509) *, leaf first).
 * Returns MI_REASON_OK, MI_REASON_REVOKED, MI_REASON_OCSP_UNKNOWN or
 * MI_REASON_OCSP_UNAVAILABLE as mtls_ident.ocsp says; logs what it did.
 */
extern MiReason mi_ocsp_login_check(const void *leaf, const void *chain,
									const MiCert *cert);

/* a cached, still current, valid "revoked" answer for this certificate? */
extern bool mi_ocsp_is_revoked(const MiCert *cert);

/* enforcer only: refresh the answers live sessions depend on */
extern void mi_ocsp_refresh_live(void);

/*
 * A row of revocation_sources copied out of shared memory under a lock,
 * emitted after the lock is released (ocsp.c and crl_fetch.c).
 */
typedef struct MiRevSourceRow
{
	const char *source;			/* "fetch" or "ocsp" */
	char		location[512];
	char		issuer[512];	/* "" = NULL */
	int64		last_attempt;	/* Unix seconds, 0 = NULL */
	int64		last_success;
	int64		this_update;
	int64		next_update;
	int64		entries;
	int64		queries;
	int64		failures;
	char		error[256];		/* "" = NULL */
} MiRevSourceRow;

/* emit rows (Unix seconds 0 and "" are NULL) through the view's callback */
extern void mi_rev_source_emit(const MiRevSourceRow *rows, int n,
							   MiRevocationEmit emit, void *arg);

/* the ocsp rows of revocation_sources: one per responder URL */
extern void mi_ocsp_report(MiRevocationEmit emit, void *arg);

#endif							/* MI_OCSP_H */
