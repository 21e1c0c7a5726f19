/*-------------------------------------------------------------------------
 *
 * sessions.c
 *		Per-backend session slots in shared memory: view sessions, and
 *		what the enforcer re-checks.
 *
 * One slot per backend (indexed like PgBackendStatus, by MyBackendId - 1;
 * MyProcNumber from PostgreSQL 17).  Only the owning backend writes its
 * slot: once at login, after every OpenSSL call is done, inside a
 * change-count write section (the PGSTAT_BEGIN/END_WRITE_ACTIVITY protocol
 * of backend_status.h: the count is odd while a write is in progress).
 * Readers copy the slot and retry until they saw the same even count
 * before and after; they take no lock.  A before_shmem_exit callback
 * clears the slot however the backend exits; a backend that dies without
 * running it takes the postmaster into a crash restart, which
 * re-initialises shared memory.  Readers also skip any slot whose pid is
 * no longer a live backend.
 *
 * The enforcer may set a slot's termination reason (an atomic, not part
 * of the change-count section) before it signals the backend, so that the
 * backend's FATAL message can say why.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "bindings.h"
#include "cert_serial.h"
#include "compat.h"
#include "decision.h"
#include "sessions.h"
#include "sql_cert.h"

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
	char		identity[MI_SLOT_IDENTITY_LEN];
	pg_atomic_uint32 term_reason;	/* 0, or MiReason + 1, set by enforcer */
	uint32		certlen;
	char		cert[MI_SLOT_CERT_BYTES];
} MiSlot;

static MiSlot *mi_slots = NULL;
static int	mi_nslots = 0;
static bool exit_callback_registered = false;

PG_FUNCTION_INFO_V1(mtls_ident_sessions);

Size
mi_sessions_shmem_size(void)
{
	return mul_size(MaxBackends, sizeof(MiSlot));
}

void
mi_sessions_shmem_init(void)
{
	bool		found;

	mi_nslots = MaxBackends;
	mi_slots = ShmemInitStruct("mtls_ident sessions",
							   mi_sessions_shmem_size(), &found);
	if (!found)
	{
		for (int i = 0; i < mi_nslots; i++)
		{
			mi_slots[i].changecount = 0;
			mi_slots[i].pid = 0;
			mi_slots[i].certlen = 0;
			pg_atomic_init_u32(&mi_slots[i].term_reason, 0);
		}
	}
}

int
mi_sessions_nslots(void)
{
	return mi_nslots;
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

static void
clear_my_slot(int code, Datum arg)
{
	volatile MiSlot *s = my_slot();

	if (s == NULL)
		return;
	SLOT_BEGIN_WRITE(s);
	s->pid = 0;
	s->certlen = 0;
	SLOT_END_WRITE(s);
	pg_atomic_write_u32((pg_atomic_uint32 *) &s->term_reason, 0);
}

void
mi_session_publish(const MiCert *cert, int matched_san, const char *identity,
				   bool governed, bool method_is_trust,
				   Oid roleid, const char *role,
				   const char *database, const char *client_addr)
{
	volatile MiSlot *s = my_slot();
	char	   *buf;
	size_t		len;
	TimestampTz now = GetCurrentTimestamp();

	if (s == NULL)
		return;

	/* all the work first, outside the write section */
	buf = palloc(MI_SLOT_CERT_BYTES);
	len = mi_cert_serialize(cert, matched_san, buf, MI_SLOT_CERT_BYTES);

	if (!exit_callback_registered)
	{
		before_shmem_exit(clear_my_slot, (Datum) 0);
		exit_callback_registered = true;
	}
	pg_atomic_write_u32((pg_atomic_uint32 *) &s->term_reason, 0);

	SLOT_BEGIN_WRITE(s);
	s->pid = MyProcPid;
	s->roleid = roleid;
	s->governed = governed;
	s->method_is_trust = method_is_trust;
	s->authenticated_at = now;
	strlcpy((char *) s->role, role, NAMEDATALEN);
	strlcpy((char *) s->database, database ? database : "", NAMEDATALEN);
	strlcpy((char *) s->client_addr, client_addr ? client_addr : "", MI_SLOT_ADDR_LEN);
	strlcpy((char *) s->identity, identity ? identity : "", MI_SLOT_IDENTITY_LEN);
	memcpy((char *) s->cert, buf, len);
	s->certlen = (uint32) len;
	SLOT_END_WRITE(s);

	pfree(buf);
}

bool
mi_session_read(int i, MiSessionInfo *out)
{
	volatile MiSlot *s;
	static char certbuf[MI_SLOT_CERT_BYTES];
	uint32		certlen = 0;

	if (mi_slots == NULL || i < 0 || i >= mi_nslots)
		return false;
	s = &mi_slots[i];

	for (;;)
	{
		int			before = s->changecount;
		int			after;

		pg_read_barrier();
		out->pid = s->pid;
		if (out->pid != 0)
		{
			out->roleid = s->roleid;
			out->governed = s->governed;
			out->method_is_trust = s->method_is_trust;
			out->authenticated_at = s->authenticated_at;
			memcpy(out->role, (char *) s->role, NAMEDATALEN);
			memcpy(out->database, (char *) s->database, NAMEDATALEN);
			memcpy(out->client_addr, (char *) s->client_addr, MI_SLOT_ADDR_LEN);
			memcpy(out->identity, (char *) s->identity, MI_SLOT_IDENTITY_LEN);
			certlen = s->certlen;
			if (certlen > MI_SLOT_CERT_BYTES)
				certlen = 0;
			memcpy(certbuf, (char *) s->cert, certlen);
		}
		pg_read_barrier();
		after = s->changecount;
		if (before == after && (before & 1) == 0)
			break;
		CHECK_FOR_INTERRUPTS();
	}

	if (out->pid == 0)
		return false;
	/* never report a slot whose backend is gone */
	if (BackendPidGetProc(out->pid) == NULL)
		return false;

	out->index = i;
	out->role[NAMEDATALEN - 1] = '\0';
	out->database[NAMEDATALEN - 1] = '\0';
	out->client_addr[MI_SLOT_ADDR_LEN - 1] = '\0';
	out->identity[MI_SLOT_IDENTITY_LEN - 1] = '\0';
	if (!mi_cert_deserialize(certbuf, certlen, &out->cert))
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
