/*-------------------------------------------------------------------------
 *
 * crl_verify.h
 *		Reading CRLs from DER or PEM bytes and verifying them against the
 *		trusted CAs, into a revoked-set build.  Every source of CRLs (files,
 *		fetched CRLs) uses this one path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CRL_VERIFY_H
#define MI_CRL_VERIFY_H

#include "postgres.h"

#include "revoked_set.h"

#define MI_CRL_PENDING_MAX	4
#define MI_CRL_PENDING_NAME	128

/* what one call read, for reports (revocation_sources) */
typedef struct MiCrlReadInfo
{
	char		issuer[MI_REVOKED_NAME_MAX];	/* every CRL's issuer, "; "
												 * between, cut; "" if none */
	int			ncrls;
	int64		this_update;	/* oldest thisUpdate, Unix seconds; 0 if none */
	int64		next_update;	/* earliest nextUpdate, 0 if none */
	int64		entries;		/* revoked serials listed (all CRLs) */

	/*
	 * On failure: when every problem was a CRL that parsed but did not
	 * verify, other_failure is false and the issuers of those CRLs (as they
	 * claim) are listed here; the caller may then refuse their certificates
	 * until the CRLs verify (crl_files.c, first start).
	 */
	bool		other_failure;
	int			npending;
	unsigned char pending_key[MI_CRL_PENDING_MAX][MI_NAME_KEY_LEN];
	char		pending_name[MI_CRL_PENDING_MAX][MI_CRL_PENDING_NAME];
} MiCrlReadInfo;

/*
 * Read every CRL in data (one DER CRL, or PEM with one or more CRLs),
 * verify each against cas (a STACK_OF(X509) * from mi_ca_store_load), and
 * add its revoked serials to b under its issuer.  label (a path or URL)
 * names the location in messages.  Returns false with a message in err
 * when anything is wrong; b may then hold part of the data and must be
 * discarded.  The bytes are untrusted: any content gets an error, never a
 * crash.
 */
extern bool mi_crl_read(MiRevokedBuild *b, const void *cas,
						const char *data, size_t len, const char *label,
						MiCrlReadInfo *info, char *err, size_t errlen);

#endif							/* MI_CRL_VERIFY_H */
