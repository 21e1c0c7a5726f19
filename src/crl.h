/*-------------------------------------------------------------------------
 *
 * crl.h
 *		Revocation: the CRLs PostgreSQL is configured with, re-read when
 *		they change on disk, published in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CRL_H
#define MI_CRL_H

#include "postgres.h"

#include "cert.h"

extern Size mi_crl_shmem_size(void);
extern void mi_crl_shmem_init(void);

/* is (issuer, serial) of this certificate in the published revoked set? */
extern bool mi_crl_is_revoked(const MiCert *cert);

/*
 * Login hook: remember the CA certificates of this verified client chain (a
 * STACK_OF(X509) *, leaf first, as SSL_get0_verified_chain returns), so
 * that CRLs of intermediate CAs absent from ssl_ca_file can be verified.
 */
extern void mi_crl_note_chain(const void *chain);

/*
 * Enforcer only: re-read ssl_crl_file / ssl_crl_dir if they changed on disk,
 * verify every CRL against the CAs of ssl_ca_file, and publish the new set.
 * A CRL that fails to load or verify is logged; the last good set stays.
 */
extern void mi_crl_refresh(void);

#endif							/* MI_CRL_H */

/*
 * Fetched CRLs (crl_fetch.c): is this CRL (an X509_CRL *) signed by a CA
 * certificate of ssl_ca_file (or a CA learnt from a verified client chain)
 * whose subject is its issuer -- the very check a CRL file gets?
 */
extern bool mi_crl_verify_signature(const void *crl);
