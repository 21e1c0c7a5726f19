/*-------------------------------------------------------------------------
 *
 * sessions.h
 *		Per-backend session slots in shared memory (view sessions, and
 *		what the enforcer re-checks).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_SESSIONS_H
#define MI_SESSIONS_H

#include "postgres.h"

#include "cert.h"

/* bounds, documented in doc/views.md */
#define MI_SLOT_CERT_BYTES	32768	/* serialized certificate facts */
#define MI_SLOT_IDENTITY_LEN 4200	/* typed identity, NUL-terminated */
#define MI_SLOT_ADDR_LEN	64

/*
 * What a slot holds in place (identity + serialized certificate); a
 * session whose facts are larger keeps them in the overflow area, dynamic
 * shared memory of at most MI_SLOT_OVERFLOW_SHARE bytes per slot on
 * average.
 */
#define MI_SLOT_INLINE_BYTES 1536
#define MI_SLOT_OVERFLOW_SHARE 8192

/* a consistent copy of one slot, as readers get it */
typedef struct MiSessionInfo
{
	int			index;			/* slot index */
	int			pid;
	Oid			roleid;
	char		role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	char		client_addr[MI_SLOT_ADDR_LEN];	/* "" for a Unix socket */
	char		identity[MI_SLOT_IDENTITY_LEN]; /* "" when none matched */
	bool		governed;		/* a binding admitted it: enforced */
	bool		method_is_trust;	/* pg_hba method was trust */
	int64		authenticated_at;	/* TimestampTz */
	MiCert		cert;			/* rebuilt from the slot, in the caller's
								 * memory context; cert.sans_truncated says
								 * whether SANs were dropped */
} MiSessionInfo;

/* shared memory: size, request (its lock tranche), init */
/*
 * This backend's own certificate identity, set by the login hook when a verified client
 * certificate was presented (in TopMemoryContext).  mi_session_identity is
 * NULL unless a binding matched.
 */
extern MiCert *mi_session_cert;
extern char *mi_session_identity;

extern Size mi_sessions_shmem_size(void);
extern void mi_sessions_shmem_request(void);
extern void mi_sessions_shmem_init(void);

/* the overflow area: bytes and chunks in use, and its limit */
extern void mi_sessions_overflow_usage(int64 *bytes, int64 *chunks,
									   int64 *limit);

/* at login: publish this backend's certificate session; cleared at exit */
extern void mi_session_publish(const MiCert *cert, int matched_san,
							   const char *identity,
							   bool governed, bool method_is_trust,
							   Oid roleid, const char *role,
							   const char *database, const char *client_addr);

/* number of slots (MaxBackends) */
extern int	mi_sessions_nslots(void);

/*
 * Read slot i with the change-count protocol.  Returns false if the slot is
 * empty or its backend is gone.  Rebuilding the certificate allocates in
 * the current memory context.
 */
extern bool mi_session_read(int i, MiSessionInfo *out);

/*
 * Ask the backend in slot i to end (SIGTERM), recording why so that its
 * FATAL message can say so.  Only the enforcer calls this.  Returns false
 * if the slot no longer holds that pid.
 */
extern bool mi_session_terminate(int i, int pid, const char *why);

/* this backend's termination reason set by the enforcer, or NULL */
extern const char *mi_session_my_termination_reason(void);

#endif							/* MI_SESSIONS_H */
