/*-------------------------------------------------------------------------
 *
 * crl_files.h
 *		The CRL files PostgreSQL is configured with (ssl_crl_file,
 *		ssl_crl_dir): found, stat-ed, re-read when they change on disk and
 *		published as the "file" source of the revoked set.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CRL_FILES_H
#define MI_CRL_FILES_H

#include "postgres.h"

#include "revocation_report.h"

#define MI_CRL_MAX_FILES	10000	/* files read from ssl_crl_dir */
#define MI_CRL_FILE_ROWS	64		/* files with their own statistics */

extern Size mi_crl_files_shmem_size(void);
extern void mi_crl_files_shmem_request(void);
extern void mi_crl_files_shmem_init(void);

/*
 * Re-read the files when they (or ssl_ca_file, or the learnt CAs) changed
 * since the last attempt, or always when force; publish the new set when
 * every file loaded and verified.  Returns true when a set was published.
 */
extern bool mi_crl_files_load(bool force);

/* one revocation_sources row per CRL file */
extern void mi_crl_files_report(MiRevocationEmit emit, void *arg);

#endif							/* MI_CRL_FILES_H */
