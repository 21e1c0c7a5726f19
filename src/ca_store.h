/*-------------------------------------------------------------------------
 *
 * ca_store.h
 *		The CA certificates a CRL may be verified with: those of
 *		ssl_ca_file, plus intermediate CAs learnt from verified client
 *		chains (kept in shared memory and in the revocation state file).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CA_STORE_H
#define MI_CA_STORE_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* intermediate CA certificates learnt from verified client chains */
#define MI_CA_STORE_SLOTS	64
#define MI_CA_DER_MAX		8192

extern Size mi_ca_store_shmem_size(void);
extern void mi_ca_store_shmem_request(void);
extern void mi_ca_store_shmem_init(void);

/*
 * Remember the CA certificates of a verified client chain (a STACK_OF(X509)
 * *, leaf first).  Returns true when a certificate was new.
 */
extern bool mi_ca_store_note_chain(const void *chain);

/* bumped whenever a certificate is learnt (or imported) */
extern uint32 mi_ca_store_generation(void);

/*
 * Every trusted CA certificate: the learnt ones and those of ssl_ca_file,
 * as a STACK_OF(X509) * the caller frees with mi_ca_store_free.  NULL with
 * a message in err when ssl_ca_file cannot be read.
 */
extern void *mi_ca_store_load(char *err, size_t errlen);
extern void mi_ca_store_free(void *cas);

/*
 * The state file's part: the learnt certificates as a byte string, and
 * back.  Import runs in the postmaster before any other process exists.
 */
extern void mi_ca_store_export(StringInfo out);
extern bool mi_ca_store_import(const char *data, size_t len);

#endif							/* MI_CA_STORE_H */
