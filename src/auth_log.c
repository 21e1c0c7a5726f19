/*-------------------------------------------------------------------------
 *
 * auth_log.c
 *		The ring of authentication events in shared memory (view
 *		auth_log) and the counters by outcome and reason (view stats).
 *
 * The ring holds the last mtls_ident.auth_log_size events, each of a
 * fixed, ordinary size (about 1.5 kB: MI_EVENT_CERT_BYTES of certificate
 * facts, an identity of up to MI_EVENT_IDENTITY_LEN bytes, cut with a
 * final "..."; see auth_log.h).  Writers (the login hook) serialize the
 * certificate into local memory first, then take the ring's lock (the one
 * lock of our tranche "mtls_ident auth_log") exclusively for one memcpy
 * into the next entry; readers take it shared and copy the ring out.  The counters
 * are atomics, outside the lock.  A refused login records its event before
 * its FATAL.  The server log, where every decision is also written, is the
 * durable audit trail; the ring is the recent window.
 *
 * Access: the SQL functions behind auth_log, stats and reset_stats are
 * revoked from PUBLIC in the install script.  Whoever is granted them sees
 * the events of their own role, or all events with pg_read_all_stats.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "auth_log.h"
#include "bindings.h"
#include "cert_serial.h"
#include "format.h"
#include "sessions.h"
#include "settings.h"

typedef struct MiEvent
{
	TimestampTz at;
	int			pid;
	uint8		outcome;
	uint8		reason;
	bool		has_cert;
	char		role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	char		client_addr[MI_SLOT_ADDR_LEN];
	char		identity[MI_EVENT_IDENTITY_LEN];
	uint32		certlen;
	char		cert[MI_EVENT_CERT_BYTES];
} MiEvent;

typedef struct MiAuthLog
{
	uint64		written;		/* events ever written; under the lock */
	int			size;			/* entries in the ring */
	pg_atomic_uint64 counters[MI_NUM_OUTCOMES][MI_NUM_REASONS];
	MiEvent		events[FLEXIBLE_ARRAY_MEMBER];
} MiAuthLog;

#define MI_AUTH_LOG_TRANCHE "mtls_ident auth_log"

static MiAuthLog *mi_log = NULL;
static LWLock *mi_log_lock = NULL;

static const char *const outcome_names[MI_NUM_OUTCOMES] = {
	"accept", "reject", "would_reject"
};

PG_FUNCTION_INFO_V1(mtls_ident_auth_log);
PG_FUNCTION_INFO_V1(mtls_ident_stats);
PG_FUNCTION_INFO_V1(mtls_ident_reset_stats);

const char *
mi_outcome_name(MiOutcome outcome)
{
	if ((int) outcome < 0 || outcome >= MI_NUM_OUTCOMES)
		return "unknown";
	return outcome_names[outcome];
}

Size
mi_auth_log_shmem_size(void)
{
	return add_size(offsetof(MiAuthLog, events),
					mul_size(mi_auth_log_size, sizeof(MiEvent)));
}

void
mi_auth_log_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_AUTH_LOG_TRANCHE, 1);
}

void
mi_auth_log_shmem_init(void)
{
	bool		found;

	mi_log_lock = &GetNamedLWLockTranche(MI_AUTH_LOG_TRANCHE)[0].lock;

	mi_log = ShmemInitStruct("mtls_ident auth_log", mi_auth_log_shmem_size(),
							 &found);
	if (!found)
	{
		mi_log->written = 0;
		mi_log->size = mi_auth_log_size;
		for (int o = 0; o < MI_NUM_OUTCOMES; o++)
			for (int r = 0; r < MI_NUM_REASONS; r++)
				pg_atomic_init_u64(&mi_log->counters[o][r], 0);
	}
}

void
mi_auth_log_record(MiOutcome outcome, MiReason reason,
				   const char *role, const char *database,
				   const char *client_addr, const char *identity,
				   const MiCert *cert)
{
	MiEvent    *ev;
	MiEvent    *slot;
	size_t		used;

	if (mi_log == NULL)
		return;

	pg_atomic_fetch_add_u64(&mi_log->counters[outcome][reason], 1);

	/* build the entry in local memory; then one copy under the lock */
	ev = palloc0(sizeof(MiEvent));
	ev->at = GetCurrentTimestamp();
	ev->pid = MyProcPid;
	ev->outcome = (uint8) outcome;
	ev->reason = (uint8) reason;
	strlcpy(ev->role, role ? role : "", NAMEDATALEN);
	strlcpy(ev->database, database ? database : "", NAMEDATALEN);
	strlcpy(ev->client_addr, client_addr ? client_addr : "", MI_SLOT_ADDR_LEN);
	if (identity != NULL && strlen(identity) >= MI_EVENT_IDENTITY_LEN)
	{
		/* cut, and say so */
		memcpy(ev->identity, identity, MI_EVENT_IDENTITY_LEN - 4);
		strcpy(ev->identity + MI_EVENT_IDENTITY_LEN - 4, "...");
	}
	else
		strlcpy(ev->identity, identity ? identity : "", MI_EVENT_IDENTITY_LEN);
	if (cert != NULL)
	{
		ev->has_cert = true;
		ev->certlen = (uint32) mi_cert_serialize(cert, -1, ev->cert,
												 MI_EVENT_CERT_BYTES);
	}
	used = offsetof(MiEvent, cert) + ev->certlen;

	LWLockAcquire(mi_log_lock, LW_EXCLUSIVE);
	slot = &mi_log->events[mi_log->written % mi_log->size];
	memcpy(slot, ev, used);
	mi_log->written++;
	LWLockRelease(mi_log_lock);

	pfree(ev);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL || s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/* mtls_ident._auth_log(): the rows of view auth_log, oldest first */
Datum
mtls_ident_auth_log(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	char	   *me = GetUserNameFromId(GetUserId(), false);
	MiEvent    *copy;
	uint64		written;
	uint64		first;
	int			size;

	InitMaterializedSRF(fcinfo, 0);
	if (mi_log == NULL)
		PG_RETURN_VOID();

	size = mi_log->size;
	copy = palloc_extended(mul_size(size, sizeof(MiEvent)), MCXT_ALLOC_HUGE);
	LWLockAcquire(mi_log_lock, LW_SHARED);
	written = mi_log->written;
	memcpy(copy, mi_log->events, mul_size(size, sizeof(MiEvent)));
	LWLockRelease(mi_log_lock);

	first = written > (uint64) size ? written - size : 0;
	for (uint64 n = first; n < written; n++)
	{
		MiEvent    *ev = &copy[n % size];
		Datum		values[14];
		bool		nulls[14] = {0};
		MiCert		cert;
		bool		have_cert;

		ev->role[NAMEDATALEN - 1] = '\0';
		ev->database[NAMEDATALEN - 1] = '\0';
		ev->client_addr[MI_SLOT_ADDR_LEN - 1] = '\0';
		ev->identity[MI_EVENT_IDENTITY_LEN - 1] = '\0';
		if (!all && strcmp(ev->role, me) != 0)
			continue;

		have_cert = ev->has_cert && ev->certlen <= MI_EVENT_CERT_BYTES &&
			mi_cert_deserialize(ev->cert, ev->certlen, &cert);

		values[0] = TimestampTzGetDatum(ev->at);
		values[1] = Int32GetDatum(ev->pid);
		values[2] = text_or_null(ev->client_addr, &nulls[2]);
		values[3] = CStringGetTextDatum(mi_sql_name(ev->role));
		values[4] = CStringGetTextDatum(mi_sql_name(ev->database));
		values[5] = CStringGetTextDatum(mi_outcome_name((MiOutcome) ev->outcome));
		values[6] = CStringGetTextDatum(mi_reason_name((MiReason) ev->reason));
		values[7] = text_or_null(ev->identity, &nulls[7]);
		if (have_cert)
		{
			values[8] = CStringGetTextDatum(cert.subject_dn);
			values[9] = CStringGetTextDatum(cert.issuer_dn);
			values[10] = CStringGetTextDatum(cert.serial_hex);
			values[11] = CStringGetTextDatum(cert.fingerprint);
			values[12] = mi_cert_sans_array(&cert);
			values[13] = TimestampTzGetDatum(mi_unix_to_timestamptz(cert.not_after));
			mi_cert_free(&cert);
		}
		else
			nulls[8] = nulls[9] = nulls[10] = nulls[11] = nulls[12] = nulls[13] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(copy);
	PG_RETURN_VOID();
}

/* mtls_ident._stats(): every possible (outcome, reason), zeros included */
Datum
mtls_ident_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (mi_log == NULL)
		PG_RETURN_VOID();

	for (int o = 0; o < MI_NUM_OUTCOMES; o++)
		for (int r = 0; r < MI_NUM_REASONS; r++)
		{
			Datum		values[3];
			bool		nulls[3] = {0};

			/* accept goes with ok only; refusals never with ok */
			if ((o == MI_OUTCOME_ACCEPT) != (r == MI_REASON_OK))
				continue;
			values[0] = CStringGetTextDatum(mi_outcome_name((MiOutcome) o));
			values[1] = CStringGetTextDatum(mi_reason_name((MiReason) r));
			values[2] = Int64GetDatum((int64) pg_atomic_read_u64(&mi_log->counters[o][r]));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	PG_RETURN_VOID();
}

Datum
mtls_ident_reset_stats(PG_FUNCTION_ARGS)
{
	if (mi_log != NULL)
		for (int o = 0; o < MI_NUM_OUTCOMES; o++)
			for (int r = 0; r < MI_NUM_REASONS; r++)
				pg_atomic_write_u64(&mi_log->counters[o][r], 0);
	PG_RETURN_VOID();
}
