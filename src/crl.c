/*-------------------------------------------------------------------------
 *
 * crl.c
 *		Revocation as the rest of mtls_ident sees it: shared memory of the
 *		revocation modules, the login's questions, the enforcer's refresh.
 *
 * The work is done below:
 *	  ca_store.c	the CA certificates a CRL is verified with
 *	  crl_verify.c	reading a CRL from bytes and verifying it
 *	  revoked_set.c	the shared revoked (issuer, serial) set
 *	  crl_files.c	ssl_crl_file / ssl_crl_dir, re-read on change
 *
 * The postmaster loads the CRL files when shared memory is created (so
 * the set is in force before the first login, also after a crash
 * restart); the enforcer calls mi_crl_refresh() on every wake-up.
 *
 * Locking: none here; each module's header block states its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "ca_store.h"
#include "crl.h"
#include "crl_files.h"
#include "revoked_set.h"

Size
mi_crl_shmem_size(void)
{
	return add_size(mi_ca_store_shmem_size(),
					add_size(mi_revoked_shmem_size(),
							 mi_crl_files_shmem_size()));
}

void
mi_crl_shmem_init(void)
{
	bool		fresh = !IsUnderPostmaster;

	mi_ca_store_shmem_init();
	mi_revoked_shmem_init();
	mi_crl_files_shmem_init();

	/*
	 * We run in the postmaster (or a single-user backend) before any
	 * session exists: load the CRLs now, so the set is in force for the
	 * very first login.
	 */
	if (fresh)
		(void) mi_crl_files_load(true);
}

bool
mi_crl_is_revoked(const MiCert *cert)
{
	const char *why;

	return mi_revoked_lookup(cert, &why);
}

void
mi_crl_note_chain(const void *chain)
{
	(void) mi_ca_store_note_chain(chain);
}

void
mi_crl_refresh(void)
{
	(void) mi_crl_files_load(false);
}
