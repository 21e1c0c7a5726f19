/*-------------------------------------------------------------------------
 *
 * crl_fetch.h
 *		Fetched CRLs (SPEC section 8): the http:// CRL distribution points
 *		of client certificates, fetched by the worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CRL_FETCH_H
#define MI_CRL_FETCH_H

#include "postgres.h"

#include "cert.h"
#include "ocsp.h"

extern Size mi_crl_fetch_shmem_size(void);
extern void mi_crl_fetch_shmem_request(void);
extern void mi_crl_fetch_shmem_init(void);

/* login: note the certificate's http:// CRL distribution points (X509 *) */
extern void mi_crl_fetch_note(const void *leaf);

/* enforcer only: fetch the CRLs that are due, publish what verified */
extern void mi_crl_fetch_refresh(void);

/* enforcer, every wake-up: mi_crl_fetch_refresh() then mi_ocsp_refresh_live() */
extern void mi_revocation_sources_refresh(void);

/* the fetch rows of revocation_sources: one per CRL URL */
extern void mi_crl_fetch_report(MiRevocationEmit emit, void *arg);

#endif							/* MI_CRL_FETCH_H */
