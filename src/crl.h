/*-------------------------------------------------------------------------
 *
 * crl.h
 *		Revocation, as the rest of mtls_ident sees it: is a certificate
 *		revoked, learn CAs from client chains, refresh the sources.
 *
 * The parts live in their own modules: crl_files.c (the CRL files),
 * crl_verify.c (reading and verifying a CRL), ca_store.c (the CAs a CRL
 * is verified with), revoked_set.c (the shared revoked set).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CRL_H
#define MI_CRL_H

#include "postgres.h"

#include "cert.h"

extern Size mi_crl_shmem_size(void);
extern void mi_crl_shmem_request(void);
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
