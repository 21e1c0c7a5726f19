/*-------------------------------------------------------------------------
 *
 * crl.c
 *		Revocation as the rest of mtls_ident sees it: shared memory of the
 *		revocation modules, the login's questions, the enforcer's refresh.
 *
 * The work is done below:
 *	  ca_store.c		the CA certificates a CRL is verified with
 *	  crl_verify.c		reading a CRL from bytes and verifying it
 *	  revoked_set.c		the shared revoked (issuer, serial) set
 *	  crl_files.c		ssl_crl_file / ssl_crl_dir, re-read on change
 *	  revocation_state.c	the set and the learnt CAs, kept on disk
 *
 * When shared memory is created (start, restart, crash restart) the
 * postmaster restores the last set in force from the state file, then
 * loads the CRL files over it (an older CRL never replaces a newer one),
 * and writes the state back: the set is in force before the first login.
 * The enforcer calls mi_crl_refresh() on every wake-up, which re-reads the
 * files when they changed and saves the state when the set or the learnt
 * CAs changed.
 *
 * Fail closed: while no set is in force (first start with CRL files that
 * do not load, e.g. a CRL of an intermediate CA no client has shown yet,
 * or a damaged state file and such files), every certificate counts as
 * revoked.  A login that brings a new intermediate CA, or that finds no set
 * in force, loads the files itself at once, so the CRL its chain makes
 * verifiable decides that very login.
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
#include "revocation_state.h"
#include "revoked_set.h"

/* what the state file last received from this process */
static uint64 saved_set_generation = 0;
static uint32 saved_ca_generation = 0;
static bool saved_once = false;

Size
mi_crl_shmem_size(void)
{
	return add_size(mi_ca_store_shmem_size(),
					add_size(mi_revoked_shmem_size(),
							 mi_crl_files_shmem_size()));
}

/* write the state file when the set or the learnt CAs changed */
static void
save_state(void)
{
	uint64		g = mi_revoked_generation();
	uint32		cg = mi_ca_store_generation();

	if (saved_once && g == saved_set_generation && cg == saved_ca_generation)
		return;
	if (!mi_revoked_in_force())
		return;					/* nothing worth keeping yet */

	/*
	 * Tried once per change: a failure (WARNING already logged) is tried
	 * again at the next change, not every second.
	 */
	saved_once = true;
	saved_set_generation = g;
	saved_ca_generation = cg;
	if (mi_revocation_state_write())
	{
		int			nentries;
		int			nissuers;

		mi_revoked_counts(&nentries, &nissuers);
		ereport(LOG,
				(errmsg("mtls_ident: revocation state saved: %d revoked certificates of %d issuers",
						nentries, nissuers)));
	}
}

void
mi_crl_shmem_request(void)
{
	mi_ca_store_shmem_request();
	mi_revoked_shmem_request();
	mi_crl_files_shmem_request();
}

void
mi_crl_shmem_init(void)
{
	bool		fresh = !IsUnderPostmaster;
	MiStateRead st;

	mi_ca_store_shmem_init();
	mi_revoked_shmem_init();
	mi_crl_files_shmem_init();
	if (!fresh)
		return;

	/*
	 * We run in the postmaster (or a single-user backend) before any
	 * session exists: restore the last set in force, load the CRL files
	 * over it, and save the result, so the set is in force for the very
	 * first login.
	 */
	st = mi_revocation_state_read();
	(void) mi_crl_files_load(true);
	if (mi_revoked_in_force())
	{
		int			nentries;
		int			nissuers;

		mi_revoked_counts(&nentries, &nissuers);
		if (st == MI_STATE_LOADED)
			ereport(LOG,
					(errmsg("mtls_ident: revocation set in force: %d revoked certificates of %d issuers",
							nentries, nissuers),
					 errdetail("Restored from \"%s\" and brought up to date from the CRL files.",
							   MI_STATE_FILE)));
		save_state();
	}
	else
		ereport(WARNING,
				(errmsg("mtls_ident: no revocation set is in force"),
				 errdetail("The CRL files did not load and \"%s\" holds no earlier set.",
						   MI_STATE_FILE),
				 errhint("Every certificate login is refused as revoked until the CRL files load.")));
	/* the enforcer starts with its own bookkeeping */
	saved_once = false;
}

bool
mi_crl_is_revoked(const MiCert *cert)
{
	const char *why;
	bool		revoked = mi_revoked_lookup(cert, &why);

	if (revoked && why != NULL)
		ereport(LOG,
				(errmsg("mtls_ident: certificate serial %s of \"%s\" is treated as revoked: %s",
						cert->serial_hex ? cert->serial_hex : "?",
						cert->issuer_dn ? cert->issuer_dn : "?", why)));
	return revoked;
}

void
mi_crl_note_chain(const void *chain)
{
	bool		learnt = mi_ca_store_note_chain(chain);

	/*
	 * While no set is in force, or while an issuer is pending (its CRL has
	 * not verified yet) and this chain taught us a CA, the login loads the
	 * files itself, now: the CRL that only this chain's CA makes verifiable
	 * must decide this very login (mi_revoked_lookup refuses otherwise).
	 * When nothing changed since the last attempt this is a few stat()
	 * calls.
	 */
	if (!mi_revoked_in_force() || (learnt && mi_revoked_has_pending()))
		(void) mi_crl_files_load(false);
}

void
mi_crl_refresh(void)
{
	(void) mi_crl_files_load(false);
	save_state();
}
