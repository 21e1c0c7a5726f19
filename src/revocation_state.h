/*-------------------------------------------------------------------------
 *
 * revocation_state.h
 *		The revocation state file: the revoked set in force (with each
 *		issuer's CRL number and dates) and the learnt CA certificates,
 *		kept under $PGDATA/pg_mtls_ident/ across restarts and crash
 *		restarts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_REVOCATION_STATE_H
#define MI_REVOCATION_STATE_H

#include "postgres.h"

#define MI_STATE_DIR	"pg_mtls_ident"
#define MI_STATE_FILE	MI_STATE_DIR "/revocation.state"

typedef enum MiStateRead
{
	MI_STATE_ABSENT,			/* no file: first start */
	MI_STATE_LOADED,			/* imported: the set is in force */
	MI_STATE_DAMAGED			/* reported, moved aside, nothing imported */
} MiStateRead;

/* postmaster only, before other processes exist */
extern MiStateRead mi_revocation_state_read(void);

/*
 * Write the current state atomically (temporary file, fsync, durable
 * rename).  Returns false, after a WARNING, when it cannot.
 */
extern bool mi_revocation_state_write(void);

#endif							/* MI_REVOCATION_STATE_H */
