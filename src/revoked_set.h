/*-------------------------------------------------------------------------
 *
 * revoked_set.h
 *		The revoked (issuer, serial) set in shared memory that logins and
 *		the enforcer consult, fed by any number of revocation sources.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_REVOKED_SET_H
#define MI_REVOKED_SET_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "cert.h"

/* capacity (documented in doc/enforcement.md) */
#define MI_REVOKED_CAPACITY		100000	/* revoked serials, all sources */
#define MI_REVOKED_MAX_ISSUERS	256		/* issuers, all sources */
#define MI_REVOKED_NAME_MAX		256		/* issuer name kept for reports */
#define MI_REVOKED_NUMBER_MAX	44		/* CRL number, hex (20 octets max) */

/* who published an issuer's entries; each replaces only its own */
typedef enum MiRevocationSource
{
	MI_SOURCE_FILE = 0,			/* ssl_crl_file, ssl_crl_dir */
	MI_SOURCE_FETCH = 1,		/* CRLs fetched from distribution points */
	MI_NUM_SOURCES
} MiRevocationSource;

typedef struct MiRevokedEntry
{
	uint64		issuer;			/* first 62 bits of the issuer key, source in
								 * the 2 low bits */
	uint64		serial;			/* hash of the serial (mi_revoked_serial_hash) */
} MiRevokedEntry;

/* one issuer's revocations, from its newest verified CRL */
typedef struct MiRevokedIssuer
{
	unsigned char key[MI_NAME_KEY_LEN];	/* mi_name_key of the CRL issuer */
	char		name[MI_REVOKED_NAME_MAX];	/* RFC 2253, possibly cut */
	char		crl_number[MI_REVOKED_NUMBER_MAX];	/* uppercase hex, "" if none */
	int64		this_update;	/* Unix seconds */
	int64		next_update;	/* Unix seconds, 0 when absent */
	int32		source;			/* MiRevocationSource */
	bool		all_revoked;	/* its CRL did not fit, or pending */
	bool		pending;		/* no verified CRL yet (first start): every
								 * certificate refused until one verifies */
	int32		nentries;
} MiRevokedIssuer;

/* a set being built in local memory by one source */
typedef struct MiRevokedBuild
{
	MiRevokedEntry *entries;
	int			nentries;
	int			capacity;
	MiRevokedIssuer *issuers;
	int			nissuers;
	int			nall;			/* issuers with all_revoked */
} MiRevokedBuild;

extern Size mi_revoked_shmem_size(void);
extern void mi_revoked_shmem_request(void);
extern void mi_revoked_shmem_init(void);

/* hash of a serial in hex (leading zeros and case do not matter) */
extern uint64 mi_revoked_serial_hash(const char *hex);

/*
 * Is this certificate's (issuer, serial) revoked?  Also true, fail closed,
 * while no revocation set has been in force since shared memory was
 * created (see mi_revoked_in_force); *why then says so.
 */
extern bool mi_revoked_lookup(const MiCert *cert, const char **why);

/* was a complete set published or restored from the state file? */
extern bool mi_revoked_in_force(void);

/* building */
extern MiRevokedBuild *mi_revoked_build_new(void);
extern void mi_revoked_build_free(MiRevokedBuild *b);
/* the issuer record for this key, created when new; NULL when full */
extern MiRevokedIssuer *mi_revoked_build_issuer(MiRevokedBuild *b,
												const unsigned char *key,
												const char *name);
/* add one serial; false when the build is full */
extern bool mi_revoked_build_add(MiRevokedBuild *b, const MiRevokedIssuer *is,
								 uint64 serial_hash);
/* remove the issuer's entries added so far and mark it all revoked */
extern void mi_revoked_build_all(MiRevokedBuild *b, MiRevokedIssuer *is);

/*
 * An issuer whose CRL is configured but not verified yet, while no set is
 * in force: every certificate it issued counts as revoked (pending) until
 * a CRL of it verifies.  False when the build has no room.
 */
extern bool mi_revoked_build_pending(MiRevokedBuild *b, const unsigned char *key,
									 const char *name);

/* does the set in force hold a pending issuer? */
extern bool mi_revoked_has_pending(void);

/*
 * Replace every record the source published before by the build's issuers
 * (other sources' records, of the same issuers too, are untouched) and mark
 * the set in force.  Fails (nothing changes, message in err) when an
 * issuer's CRL is older than this source's record of it (lower CRL number,
 * or earlier thisUpdate; its index in b->issuers is then set in
 * *bad_issuer, else -1), or when the result does not fit.
 */
extern bool mi_revoked_publish(MiRevocationSource source, MiRevokedBuild *b,
							   int *bad_issuer, char *err, size_t errlen);

/* totals for log lines */
extern void mi_revoked_counts(int *nentries, int *nissuers);

/* generation: bumped by every publication and import */
extern uint64 mi_revoked_generation(void);

/* the state file's part; import only in the postmaster at start */
extern void mi_revoked_export(StringInfo out);
extern bool mi_revoked_import(const char *data, size_t len);

#endif							/* MI_REVOKED_SET_H */
