/*-------------------------------------------------------------------------
 *
 * sessions.c
 *		Per-backend session slots in shared memory: view sessions, and
 *		what the enforcer re-checks.
 *
 * One slot per backend (indexed like PgBackendStatus, by MyBackendId - 1;
 * MyProcNumber from PostgreSQL 17).  A slot is sized for an ordinary
 * certificate: the typed identity and the serialized certificate facts
 * (cert_serial.h) are kept in place when they fit in MI_SLOT_INLINE_BYTES.
 * What does not fit (hundreds of SANs, very long names; up to
 * MI_SLOT_IDENTITY_LEN + MI_SLOT_CERT_BYTES) is kept in one chunk of the
 * overflow area, a dynamic shared memory area (dsa) created in place in a
 * small piece of the main shared memory and grown with DSM segments, at
 * most MI_SLOT_OVERFLOW_SHARE bytes per slot on average.  The chunk lives
 * as long as the session: it is freed when the backend exits.  When the
 * area is full (or a segment cannot be had), the session keeps what fits
 * in its slot, with sans_truncated set, and logs in all the same.
 *
 * Only the owning backend writes its slot: once at login, after every
 * OpenSSL call is done, inside a change-count write section (the
 * PGSTAT_BEGIN/END_WRITE_ACTIVITY protocol of backend_status.h: the count
 * is odd while a write is in progress).  Readers copy the slot and retry
 * until they saw the same even count before and after.
 *
 * Locking rule for the overflow area (our own tranche "mtls_ident
 * sessions", one lock, which also names the dsa's internal locks):
 *	- a chunk is freed only after its slot stopped pointing at it, and the
 *	  slot is changed so only while holding the lock exclusively; the
 *	  chunk is freed after the lock is released;
 *	- a reader dereferences a slot's overflow pointer only while holding
 *	  the lock shared (and only at an even change count).
 * So a reader never follows a pointer to freed memory: any chunk it can
 * see was still referenced when it took the lock, and cannot be freed
 * until it lets go.  Slots without a chunk (the ordinary case) are read
 * without any lock.  The dsa is attached lazily, in each process that
 * meets a chunk, and stays mapped until the process exits.
 *
 * A before_shmem_exit callback clears the slot (and frees its chunk)
 * however the backend exits; a backend that dies without running it takes
 * the postmaster into a crash restart, which re-initialises shared memory
 * and removes every DSM segment (dsm_postmaster_shutdown): nothing leaks.
 * Readers also skip any slot whose backend is gone.
 *
 * The enforcer may set a slot's termination reason (an atomic, not part
 * of the change-count section) before it signals the backend, so that the
 * backend's FATAL message can say why.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
#include "utils/dsa.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "bindings.h"
#include "cert_serial.h"
#include "compat.h"
#include "decision.h"
#include "dsa_place.h"
#include "format.h"
#include "sessions.h"

MiCert	   *mi_session_cert = NULL;
char	   *mi_session_identity = NULL;

#define MI_SESSIONS_TRANCHE "mtls_ident sessions"

/* the part of the overflow area inside the main shared memory */
#define MI_SESSIONS_DSA_IN_PLACE (64 * 1024)

/* identity + certificate facts, the most a session keeps */
#define MI_SLOT_BLOB_MAX (MI_SLOT_IDENTITY_LEN - 1 + MI_SLOT_CERT_BYTES)

typedef struct MiSlot
{
	int			changecount;	/* odd while being written */
	int			pid;			/* 0: empty */
	Oid			roleid;
	bool		governed;
	bool		method_is_trust;
	int64		authenticated_at;
	char		role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	char		client_addr[MI_SLOT_ADDR_LEN];
	pg_atomic_uint32 term_reason;	/* 0, or MiReason + 1, set by enforcer */
	uint32		identlen;		/* identity bytes, then ... */
	uint32		certlen;		/* ... serialized certificate bytes */
	dsa_pointer overflow;		/* both, when they did not fit in data[] */
	char		data[MI_SLOT_INLINE_BYTES];
} MiSlot;

typedef struct MiSessionsShared
{
	int			nslots;
	int64		overflow_limit; /* bytes the overflow area may take */
	pg_atomic_uint64 overflow_bytes;	/* bytes in live chunks */
	pg_atomic_uint64 overflow_chunks;	/* live chunks */
	MiSlot		slots[FLEXIBLE_ARRAY_MEMBER];
} MiSessionsShared;

static MiSessionsShared *mi_sess = NULL;
static MiSlot *mi_slots = NULL;
static int	mi_nslots = 0;
static LWLock *overflow_lock = NULL;
static void *overflow_place = NULL;
static dsa_area *overflow_dsa = NULL;	/* this process's attachment */
static bool exit_callback_registered = false;

PG_FUNCTION_INFO_V1(mtls_ident_sessions);

static Size
in_place_size(void)
{
	return Max(MI_SESSIONS_DSA_IN_PLACE, dsa_minimum_size());
}

Size
mi_sessions_shmem_size(void)
{
	return add_size(add_size(offsetof(MiSessionsShared, slots),
							 mul_size(MaxBackends, sizeof(MiSlot))),
					in_place_size());
}

void
mi_sessions_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_SESSIONS_TRANCHE, 1);
}

void
mi_sessions_shmem_init(void)
{
	bool		found;
	bool		found_place;

	mi_nslots = MaxBackends;
	mi_sess = ShmemInitStruct("mtls_ident sessions",
							  add_size(offsetof(MiSessionsShared, slots),
									   mul_size(mi_nslots, sizeof(MiSlot))),
							  &found);
	mi_slots = mi_sess->slots;
	overflow_place = ShmemInitStruct("mtls_ident sessions overflow",
									 in_place_size(), &found_place);
	overflow_lock = &GetNamedLWLockTranche(MI_SESSIONS_TRANCHE)[0].lock;
	overflow_dsa = NULL;

	if (!found)
	{
		mi_sess->nslots = mi_nslots;
		pg_atomic_init_u64(&mi_sess->overflow_bytes, 0);
		pg_atomic_init_u64(&mi_sess->overflow_chunks, 0);
		for (int i = 0; i < mi_nslots; i++)
		{
			mi_slots[i].changecount = 0;
			mi_slots[i].pid = 0;
			mi_slots[i].identlen = 0;
			mi_slots[i].certlen = 0;
			mi_slots[i].overflow = InvalidDsaPointer;
			pg_atomic_init_u32(&mi_slots[i].term_reason, 0);
		}
	}
	if (!found_place)
	{
		/* pinned; backends attach on their own (dsa_place.c) */
		mi_sess->overflow_limit = Max((int64) in_place_size(),
									  (int64) mi_nslots * MI_SLOT_OVERFLOW_SHARE);
		mi_dsa_place_create(overflow_place, in_place_size(),
							overflow_lock->tranche,
							(size_t) mi_sess->overflow_limit);
	}
}

int
mi_sessions_nslots(void)
{
	return mi_nslots;
}

void
mi_sessions_overflow_usage(int64 *bytes, int64 *chunks, int64 *limit)
{
	*bytes = *chunks = *limit = 0;
	if (mi_sess == NULL)
		return;
	*bytes = (int64) pg_atomic_read_u64(&mi_sess->overflow_bytes);
	*chunks = (int64) pg_atomic_read_u64(&mi_sess->overflow_chunks);
	*limit = mi_sess->overflow_limit;
}

/* this process's attachment to the overflow area, made on first use */
static dsa_area *
overflow_area(void)
{
	return mi_dsa_place_attach(overflow_place, &overflow_dsa);
}

/*
 * A chunk of the overflow area, or InvalidDsaPointer when the area is full
 * or cannot grow.  Growing creates a DSM segment, which can fail with an
 * ERROR (no room in /dev/shm, no free segment slot): inside a transaction
 * (the login hook) that is caught in a subtransaction, so a login never
 * fails for want of overflow memory.
 */
static dsa_pointer
overflow_alloc(size_t size)
{
	dsa_area   *dsa = overflow_area();
	dsa_pointer p = InvalidDsaPointer;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	if (!IsTransactionState())
		return dsa_allocate_extended(dsa, size, DSA_ALLOC_NO_OOM);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		p = dsa_allocate_extended(dsa, size, DSA_ALLOC_NO_OOM);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ereport(LOG,
				(errmsg("mtls_ident: could not grow the overflow area of the session slots: %s",
						edata->message)));
		FreeErrorData(edata);
		p = InvalidDsaPointer;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return p;
}

static void
overflow_free(dsa_pointer p, size_t size)
{
	dsa_free(overflow_area(), p);
	pg_atomic_sub_fetch_u64(&mi_sess->overflow_bytes, size);
	pg_atomic_sub_fetch_u64(&mi_sess->overflow_chunks, 1);
}

static MiSlot *
my_slot(void)
{
	int			i = MI_MY_SLOT_INDEX();

	if (mi_slots == NULL || i < 0 || i >= mi_nslots)
		return NULL;
	return &mi_slots[i];
}

#define SLOT_BEGIN_WRITE(s) \
	do { (s)->changecount++; pg_write_barrier(); } while (0)
#define SLOT_END_WRITE(s) \
	do { pg_write_barrier(); (s)->changecount++; } while (0)

/*
 * Empty this backend's slot (or fill it with new contents when fill is
 * given, at login); a chunk it pointed at is freed, after readers can no
 * longer reach it (see the locking rule above).
 */
static void
write_my_slot(volatile MiSlot *s, void (*fill) (volatile MiSlot *, void *),
			  void *arg)
{
	dsa_pointer old = s->overflow;
	size_t		oldsize = (size_t) s->identlen + s->certlen;
	bool		had = DsaPointerIsValid(old);

	if (had)
		LWLockAcquire(overflow_lock, LW_EXCLUSIVE);
	SLOT_BEGIN_WRITE(s);
	s->pid = 0;
	s->identlen = 0;
	s->certlen = 0;
	s->overflow = InvalidDsaPointer;
	if (fill)
		fill(s, arg);
	SLOT_END_WRITE(s);
	if (had)
	{
		LWLockRelease(overflow_lock);
		overflow_free(old, oldsize);
	}
}

static void
clear_my_slot(int code, Datum arg)
{
	volatile MiSlot *s = my_slot();

	if (s == NULL)
		return;
	write_my_slot(s, NULL, NULL);
	pg_atomic_write_u32((pg_atomic_uint32 *) &s->term_reason, 0);
}

/* what mi_session_publish writes into the slot */
typedef struct SlotContents
{
	Oid			roleid;
	bool		governed;
	bool		method_is_trust;
	TimestampTz authenticated_at;
	const char *role;
	const char *database;
	const char *client_addr;
	const char *blob;			/* identity, then certificate facts */
	uint32		identlen;
	uint32		certlen;
	dsa_pointer chunk;			/* the blob's copy, or invalid: in place */
} SlotContents;

static void
fill_slot(volatile MiSlot *s, void *arg)
{
	SlotContents *c = (SlotContents *) arg;

	s->pid = MyProcPid;
	s->roleid = c->roleid;
	s->governed = c->governed;
	s->method_is_trust = c->method_is_trust;
	s->authenticated_at = c->authenticated_at;
	strlcpy((char *) s->role, c->role, NAMEDATALEN);
	strlcpy((char *) s->database, c->database ? c->database : "", NAMEDATALEN);
	strlcpy((char *) s->client_addr, c->client_addr ? c->client_addr : "",
			MI_SLOT_ADDR_LEN);
	s->identlen = c->identlen;
	s->certlen = c->certlen;
	s->overflow = c->chunk;
	if (!DsaPointerIsValid(c->chunk))
		memcpy((char *) s->data, c->blob, c->identlen + c->certlen);
}

void
mi_session_publish(const MiCert *cert, int matched_san, const char *identity,
				   bool governed, bool method_is_trust,
				   Oid roleid, const char *role,
				   const char *database, const char *client_addr)
{
	volatile MiSlot *s = my_slot();
	SlotContents c;
	char	   *buf;
	size_t		identlen;
	size_t		certlen;

	if (s == NULL)
		return;

	/* all the work first, outside the write section */
	identlen = identity ? strnlen(identity, MI_SLOT_IDENTITY_LEN - 1) : 0;
	buf = palloc(MI_SLOT_BLOB_MAX);
	if (identlen > 0)
		memcpy(buf, identity, identlen);
	certlen = mi_cert_serialize(cert, matched_san, buf + identlen,
								MI_SLOT_CERT_BYTES);
	c.chunk = InvalidDsaPointer;
	if (identlen + certlen > MI_SLOT_INLINE_BYTES)
	{
		c.chunk = overflow_alloc(identlen + certlen);
		if (DsaPointerIsValid(c.chunk))
		{
			memcpy(dsa_get_address(overflow_area(), c.chunk), buf,
				   identlen + certlen);
			pg_atomic_add_fetch_u64(&mi_sess->overflow_bytes,
									identlen + certlen);
			pg_atomic_add_fetch_u64(&mi_sess->overflow_chunks, 1);
		}
		else
		{
			/*
			 * No overflow memory: keep what fits in the slot, flagged as
			 * cut (the SAN that matched is kept; the enforcer does not end
			 * a cut session for no_match).
			 */
			MiCert		cut = *cert;

			cut.sans_truncated = true;
			identlen = Min(identlen, MI_SLOT_INLINE_BYTES - MI_SER_MIN_CAP);
			certlen = mi_cert_serialize(&cut, matched_san, buf + identlen,
										MI_SLOT_INLINE_BYTES - identlen);
			ereport(LOG,
					(errmsg("mtls_ident: no room in the overflow area of the session slots (%lld bytes): the certificate facts of this session are cut to %d bytes",
							(long long) mi_sess->overflow_limit,
							MI_SLOT_INLINE_BYTES),
					 errhint("sessions.sans_truncated is true for it; the whole certificate was judged at login.")));
		}
	}

	if (!exit_callback_registered)
	{
		before_shmem_exit(clear_my_slot, (Datum) 0);
		exit_callback_registered = true;
	}
	pg_atomic_write_u32((pg_atomic_uint32 *) &s->term_reason, 0);

	c.roleid = roleid;
	c.governed = governed;
	c.method_is_trust = method_is_trust;
	c.authenticated_at = GetCurrentTimestamp();
	c.role = role;
	c.database = database;
	c.client_addr = client_addr;
	c.blob = buf;
	c.identlen = (uint32) identlen;
	c.certlen = (uint32) certlen;
	write_my_slot(s, fill_slot, &c);

	pfree(buf);
}

bool
mi_session_read(int i, MiSessionInfo *out)
{
	volatile MiSlot *s;
	static char *blob = NULL;
	uint32		identlen = 0;
	uint32		certlen = 0;
	bool		locked = false;
	PGPROC	   *proc;

	if (mi_slots == NULL || i < 0 || i >= mi_nslots)
		return false;
	s = &mi_slots[i];

	/* an empty slot (or one being filled) costs one read */
	if (s->pid == 0)
		return false;

	if (blob == NULL)
		blob = MemoryContextAlloc(TopMemoryContext, MI_SLOT_BLOB_MAX);

	for (;;)
	{
		int			before = s->changecount;
		int			after;
		bool		need_lock = false;

		if (before & 1)
		{
			/* a write in progress: it is short */
			pg_spin_delay();
			continue;
		}
		pg_read_barrier();
		out->pid = s->pid;
		if (out->pid != 0)
		{
			dsa_pointer ovf = s->overflow;

			out->roleid = s->roleid;
			out->governed = s->governed;
			out->method_is_trust = s->method_is_trust;
			out->authenticated_at = s->authenticated_at;
			memcpy(out->role, (char *) s->role, NAMEDATALEN);
			memcpy(out->database, (char *) s->database, NAMEDATALEN);
			memcpy(out->client_addr, (char *) s->client_addr, MI_SLOT_ADDR_LEN);
			identlen = s->identlen;
			certlen = s->certlen;
			if (identlen > MI_SLOT_IDENTITY_LEN - 1 || certlen > MI_SLOT_CERT_BYTES)
				identlen = certlen = 0;
			if (!DsaPointerIsValid(ovf))
			{
				if (identlen + certlen > MI_SLOT_INLINE_BYTES)
					identlen = certlen = 0;
				memcpy(blob, (char *) s->data, identlen + certlen);
			}
			else if (!locked)
				need_lock = true;
			else
				memcpy(blob, dsa_get_address(overflow_area(), ovf),
					   identlen + certlen);
		}
		pg_read_barrier();
		after = s->changecount;
		if (before == after)
		{
			if (!need_lock)
				break;
			/* the chunk may only be followed under the lock */
			LWLockAcquire(overflow_lock, LW_SHARED);
			locked = true;
			continue;
		}
		if (!locked)
			CHECK_FOR_INTERRUPTS();
	}
	if (locked)
		LWLockRelease(overflow_lock);

	if (out->pid == 0)
		return false;
	/* never report a slot whose backend is gone */
	proc = MI_SLOT_PROC(i);
	if (proc == NULL || proc->pid != out->pid)
		return false;

	out->index = i;
	out->role[NAMEDATALEN - 1] = '\0';
	out->database[NAMEDATALEN - 1] = '\0';
	out->client_addr[MI_SLOT_ADDR_LEN - 1] = '\0';
	memcpy(out->identity, blob, identlen);
	out->identity[identlen] = '\0';
	if (!mi_cert_deserialize(blob + identlen, certlen, &out->cert))
		return false;
	return true;
}

bool
mi_session_terminate(int i, int pid, const char *why)
{
	MiSlot	   *s;
	uint32		code = MI_NUM_REASONS + 1;

	if (mi_slots == NULL || i < 0 || i >= mi_nslots)
		return false;
	s = &mi_slots[i];
	if (s->pid != pid || BackendPidGetProc(pid) == NULL)
		return false;
	for (int r = 0; r < MI_NUM_REASONS; r++)
		if (why != NULL && strcmp(why, mi_reason_name((MiReason) r)) == 0)
			code = (uint32) r + 1;
	pg_atomic_write_u32(&s->term_reason, code);
	return kill(pid, SIGTERM) == 0;
}

const char *
mi_session_my_termination_reason(void)
{
	MiSlot	   *s = my_slot();
	uint32		code;

	if (s == NULL || s->pid != MyProcPid)
		return NULL;
	code = pg_atomic_read_u32(&s->term_reason);
	if (code == 0)
		return NULL;
	if (code > MI_NUM_REASONS)
		return "ended by mtls_ident";
	return mi_reason_name((MiReason) (code - 1));
}

/*
 * mtls_ident._sessions(): the rows of view sessions.  Visibility as
 * pg_stat_activity: rows of roles whose privileges the caller has, or all
 * rows for members of pg_read_all_stats.
 */
Datum
mtls_ident_sessions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	MiSessionInfo *info = palloc(sizeof(MiSessionInfo));

	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i < mi_nslots; i++)
	{
		Datum		values[14];
		bool		nulls[14] = {0};

		if (!mi_session_read(i, info))
			continue;
		if (!all && !has_privs_of_role(GetUserId(), info->roleid))
		{
			mi_cert_free(&info->cert);
			continue;
		}
		values[0] = Int32GetDatum(info->pid);
		values[1] = CStringGetTextDatum(info->role);
		values[2] = CStringGetTextDatum(info->database);
		if (info->client_addr[0])
			values[3] = CStringGetTextDatum(info->client_addr);
		else
			nulls[3] = true;
		if (info->identity[0])
			values[4] = CStringGetTextDatum(info->identity);
		else
			nulls[4] = true;
		values[5] = CStringGetTextDatum(info->cert.subject_dn);
		values[6] = CStringGetTextDatum(info->cert.issuer_dn);
		values[7] = CStringGetTextDatum(info->cert.serial_hex);
		values[8] = CStringGetTextDatum(info->cert.fingerprint);
		values[9] = mi_cert_sans_array(&info->cert);
		values[10] = TimestampTzGetDatum(mi_unix_to_timestamptz(info->cert.not_before));
		values[11] = TimestampTzGetDatum(mi_unix_to_timestamptz(info->cert.not_after));
		values[12] = TimestampTzGetDatum(info->authenticated_at);
		values[13] = BoolGetDatum(info->cert.sans_truncated);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		mi_cert_free(&info->cert);
	}
	PG_RETURN_VOID();
}
