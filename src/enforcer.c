/*-------------------------------------------------------------------------
 *
 * enforcer.c
 *		The enforcer background worker: certificates hold for the whole
 *		session.
 *
 * PostgreSQL checks a client certificate once, at the handshake.  The
 * "mtls_ident enforcer" worker re-checks every live session that a binding
 * admitted (the session slots of sessions.c) every
 * mtls_ident.enforce_interval, with the same rules as a login (mi_decide,
 * with the role's bindings as they stand now, the published revocation set
 * and the clock), and ends every session that would not be admitted any
 * more: expired, revoked, issued before the role's cutoff, or no longer
 * matching the role's bindings.  Each ending is logged with pid, role,
 * identity and reason; the backend's own FATAL message says why (see
 * expiry.c).  In audit mode the worker logs, once per session, what it
 * would have done; in off mode it does nothing.
 *
 * Every wake-up (and at least once a second, even while the sweep is
 * disabled with enforce_interval = 0) it also calls mi_crl_refresh(), so a
 * CRL written on disk takes effect without a reload.
 *
 * Bindings are security labels in the shared catalog pg_shseclabel, and
 * roles and memberships are shared too; still the worker connects to
 * mtls_ident.database (default postgres), because a label stored out of
 * line (TOAST) cannot be read without a database selected.  If that
 * database is dropped, renamed or closed to connections, enforcement does
 * not stop: the worker runs without a database (everything but uncached
 * out-of-line labels is enforced), picks another database from
 * pg_database, says so with a WARNING and restarts connected to it; it
 * goes back once mtls_ident.database is usable again (connect_database,
 * check_database).
 * It also runs on hot standbys (the catalogs replicate).  An ERROR while
 * checking one session (say, a corrupt label) is logged and the sweep goes
 * on with the next session; if the worker dies anyway, the postmaster
 * starts it again after one second.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "utils/builtins.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "bindings.h"
#include "crl.h"
#include "crl_fetch.h"
#include "decision.h"
#include "enforcer.h"
#include "format.h"
#include "ocsp.h"
#include "sessions.h"
#include "settings.h"

/* the CRL files are looked at this often, whatever the interval */
#define MI_CRL_REFRESH_MS 1000

/*
 * pids already reported (ended, or "would end" in audit mode), so that each
 * session is logged once even though it is signalled again on every sweep
 * until it is gone.  Rebuilt on every sweep from the pids still present.
 */
static int *reported = NULL;
static int	nreported = 0;
static int *reported_next = NULL;
static int	nreported_next = 0;

/*
 * Which database the worker uses, kept across its restarts (it can only
 * choose before it connects, and a process cannot change its database).
 * Only the enforcer, one process at a time, reads or writes it: no lock.
 */
typedef struct MiEnforcerShared
{
	bool		connecting;		/* a start is connecting; still set at the
								 * next start: that attempt died (FATAL) */
	Oid			fallback;		/* InvalidOid: mtls_ident.database, by name */
	char		fallback_name[NAMEDATALEN];
} MiEnforcerShared;

static MiEnforcerShared *enforcer_shared = NULL;

/* this process runs without a database (shared catalogs only) */
static bool no_database = false;
static bool warned_no_database = false;

/* pg_database.datconnlimit of a database half dropped (15.4+ marks it) */
#ifdef DATCONNLIMIT_INVALID_DB
#define MI_DATCONNLIMIT_INVALID_DB DATCONNLIMIT_INVALID_DB
#else
#define MI_DATCONNLIMIT_INVALID_DB (-2)
#endif

Size
mi_enforcer_shmem_size(void)
{
	return MAXALIGN(sizeof(MiEnforcerShared));
}

void
mi_enforcer_shmem_init(void)
{
	bool		found;

	enforcer_shared = ShmemInitStruct("mtls_ident enforcer",
									  mi_enforcer_shmem_size(), &found);
	if (!found)
		memset(enforcer_shared, 0, mi_enforcer_shmem_size());
}

void
mi_enforcer_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* also on hot standbys: their sessions need enforcing too */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "mtls_ident");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "mi_enforcer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "mtls_ident enforcer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "mtls_ident enforcer");
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

static bool
was_reported(int pid)
{
	for (int i = 0; i < nreported; i++)
		if (reported[i] == pid)
			return true;
	return false;
}

static void
keep_reported(int pid)
{
	for (int i = 0; i < nreported_next; i++)
		if (reported_next[i] == pid)
			return;
	if (nreported_next < mi_sessions_nslots())
		reported_next[nreported_next++] = pid;
}



/* re-check one live session; end it (or say we would) when it fails */
static void
check_session(int i, MiSessionInfo *info, int64_t now)
{
	char	   *rolename;
	MiRuleSet  *rules;
	MiDecisionInput in;
	MiDecision	d;
	StringInfoData detail;

	if (!mi_session_read(i, info) || !info->governed)
		return;

	/*
	 * The role's current name ({role} patterns); a dropped role has no
	 * bindings left, so its sessions are judged as having none.
	 */
	rolename = GetUserNameFromId(info->roleid, true);
	if (rolename == NULL)
		rolename = info->role;
	rules = mi_collect_rules(info->roleid, rolename, &info->cert);

	memset(&in, 0, sizeof(in));
	in.cert = &info->cert;
	in.role = rolename;
	in.rules = rules;
	in.method_is_trust = info->method_is_trust;
	in.local_socket = false;	/* a certificate session is never local */
	in.exempt_local = mi_exempt_local;
	in.require_client_auth_eku = mi_require_client_auth_eku;
	in.max_lifetime = mi_max_certificate_lifetime_s;
	in.revoked = mi_crl_is_revoked(&info->cert) || mi_ocsp_is_revoked(&info->cert);
	in.now = now;
	in.regex_fn = mi_pg_regex;
	in.regex_arg = NULL;

	if (rules != NULL)
		mi_decide(&in, &d);
	else
	{
		/*
		 * A label that applies is stored out of line, and the worker has no
		 * database to read it with (see connect_database) nor its text in
		 * the shared label cache: what needs no binding is still checked
		 * (revocation, expiry, the certificate rules); whether it still
		 * matches, and the cutoffs, wait until a database is found.
		 */
		memset(&d, 0, sizeof(d));
		d.governed = true;
		d.reason = mi_decide_certificate(&in);
		if (d.reason == MI_REASON_OK)
		{
			if (!was_reported(-info->pid))
				ereport(LOG,
						(errmsg("mtls_ident: cannot re-check session pid=%d role=\"%s\" against its bindings: they are stored out of line and the enforcer has no database to read them; only expiry and revocation are checked",
								info->pid, mi_log_quote(info->role))));
			keep_reported(-info->pid);
			return;
		}
	}

	/*
	 * Not governed any more: with a method other than trust, a role left
	 * without bindings is PostgreSQL's business, as at login.
	 */
	if (d.reason == MI_REASON_OK || !d.governed)
		return;

	/*
	 * The slot keeps at most MI_SLOT_CERT_BYTES of certificate facts.  When
	 * some were cut (thousands of SANs, huge names), a SAN or name that
	 * still matches a binding may be among what was cut: "no longer
	 * matches" cannot be decided from the slot, so such a session is not
	 * ended for no_match or issuer_mismatch (every other reason is decided
	 * on facts that are never cut).  Logged once; doc/enforcement.md.
	 */
	if (info->cert.sans_truncated &&
		(d.reason == MI_REASON_NO_MATCH || d.reason == MI_REASON_ISSUER_MISMATCH))
	{
		/* remembered as -pid: apart from the sessions being ended */
		if (!was_reported(-info->pid))
			ereport(LOG,
					(errmsg("mtls_ident: cannot re-check session pid=%d role=\"%s\" against changed bindings: its certificate facts were cut in shared memory; the session is left",
							info->pid, mi_log_quote(info->role))));
		keep_reported(-info->pid);
		return;
	}

	if (was_reported(info->pid))
	{
		keep_reported(info->pid);
		/* signal again (enforce mode) until it is gone; log once */
		if (mi_mode == MI_MODE_ENFORCE)
			(void) mi_session_terminate(i, info->pid, mi_reason_name(d.reason));
		return;
	}

	initStringInfo(&detail);
	appendStringInfo(&detail, "database=\"%s\" client=%s ",
					 mi_log_quote(info->database),
					 info->client_addr[0] ? info->client_addr : "local");
	mi_describe_cert(&detail, &info->cert);

	if (mi_mode == MI_MODE_ENFORCE)
	{
		ereport(LOG,
				(errmsg("mtls_ident: ending session pid=%d role=\"%s\" identity=%s: reason=%s (%s)",
						info->pid, mi_log_quote(info->role),
						info->identity[0] ? info->identity : "none",
						mi_reason_name(d.reason), mi_reason_phrase(d.reason)),
				 errdetail_log("%s", detail.data)));
		if (mi_session_terminate(i, info->pid, mi_reason_name(d.reason)))
			keep_reported(info->pid);
	}
	else
	{
		ereport(LOG,
				(errmsg("mtls_ident: would end session pid=%d role=\"%s\" identity=%s (audit mode): reason=%s (%s)",
						info->pid, mi_log_quote(info->role),
						info->identity[0] ? info->identity : "none",
						mi_reason_name(d.reason), mi_reason_phrase(d.reason)),
				 errdetail_log("%s", detail.data)));
		keep_reported(info->pid);
	}
}

/*
 * Connect to mtls_ident.database, or to the fallback chosen before, or --
 * when the previous start died connecting (the database was dropped,
 * renamed or closed to connections: a FATAL nothing can catch) -- to no
 * database: shared catalogs (roles, memberships, labels stored inline,
 * pg_database) are readable without one; labels stored out of line only
 * through the shared label cache.  check_database() then finds a database
 * to read them with.
 */
static void
connect_database(void)
{
	MiEnforcerShared *es = enforcer_shared;

	if (es->connecting)
	{
		es->connecting = false;
		no_database = true;
		ereport(WARNING,
				(errmsg("mtls_ident enforcer: could not connect to database \"%s\"; checking sessions without a database",
						OidIsValid(es->fallback) ? es->fallback_name : mi_database),
				 errdetail("Expiry, revocation and bindings stored inline are enforced; labels stored out of line are read from the shared label cache only, until a database to read them with is found.")));
		BackgroundWorkerInitializeConnection(NULL, NULL, 0);
		return;
	}
	es->connecting = true;
	if (OidIsValid(es->fallback))
		BackgroundWorkerInitializeConnectionByOid(es->fallback, InvalidOid, 0);
	else
		BackgroundWorkerInitializeConnection(mi_database, NULL, 0);
	es->connecting = false;
}

/*
 * Without a database, or on a fallback: look in pg_database (a shared
 * catalog) for a better one.  mtls_ident.database when it exists and
 * accepts connections again; else, without a database, another one that
 * accepts connections (postgres first, then the oldest; never a template,
 * whose connections would block CREATE DATABASE).  To use it, the worker
 * exits and the postmaster starts it again, connected there, one second
 * later.  Connected to mtls_ident.database, there is nothing to look for.
 */
static void
check_database(void)
{
	MiEnforcerShared *es = enforcer_shared;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		configured_exists = false;
	bool		configured_ok = false;
	Oid			best = InvalidOid;
	NameData	bestname;

	if (!no_database && !OidIsValid(es->fallback))
		return;

	memset(&bestname, 0, sizeof(bestname));
	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		bool		usable = db->datallowconn &&
			db->datconnlimit != MI_DATCONNLIMIT_INVALID_DB;

		if (strcmp(NameStr(db->datname), mi_database) == 0)
		{
			configured_exists = true;
			configured_ok = usable;
		}
		if (!usable || db->datistemplate)
			continue;
		if (!OidIsValid(best) ||
			strcmp(NameStr(db->datname), "postgres") == 0 ||
			(strcmp(NameStr(bestname), "postgres") != 0 && db->oid < best))
		{
			best = db->oid;
			namestrcpy(&bestname, NameStr(db->datname));
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	if (configured_ok)
	{
		ereport(LOG,
				(errmsg("mtls_ident enforcer: database \"%s\" (mtls_ident.database) accepts connections again; reconnecting to it",
						mi_database)));
		es->fallback = InvalidOid;
		proc_exit(1);
	}
	if (!no_database)
		return;					/* on a fallback; mtls_ident.database still
								 * unusable */
	if (OidIsValid(best))
	{
		ereport(WARNING,
				(errmsg("mtls_ident enforcer: database \"%s\" (mtls_ident.database) %s; reading labels stored out of line in database \"%s\" instead",
						mi_database,
						configured_exists ? "does not accept connections" : "does not exist",
						NameStr(bestname)),
				 errdetail("The worker restarts connected to database \"%s\"; it goes back to \"%s\" once that database exists and accepts connections.",
						   NameStr(bestname), mi_database),
				 errhint("Point mtls_ident.database at a database that exists and accepts connections.")));
		es->fallback = best;
		strlcpy(es->fallback_name, NameStr(bestname), NAMEDATALEN);
		proc_exit(1);
	}
	if (!warned_no_database)
		ereport(WARNING,
				(errmsg("mtls_ident enforcer: database \"%s\" (mtls_ident.database) %s and no other database accepts connections; checking sessions without a database",
						mi_database,
						configured_exists ? "does not accept connections" : "does not exist"),
				 errdetail("Expiry, revocation and bindings stored inline are enforced; a session whose role's label is stored out of line and not in the shared label cache is checked for expiry and revocation only.")));
	warned_no_database = true;
}

/*
 * One pass over the session slots, in one transaction (catalog reads).  An
 * ERROR for one session is reported and the pass goes on.
 */
static void
sweep(MemoryContext sweep_cxt)
{
	int			nslots = mi_sessions_nslots();
	int64_t		now = (int64_t) time(NULL);
	MiSessionInfo *info;
	int		   *tmp;

	nreported_next = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(sweep_cxt);
	pgstat_report_activity(STATE_RUNNING, "mtls_ident: checking sessions");
	info = palloc(sizeof(MiSessionInfo));
	/* each role's label is parsed once a sweep, not once a session */
	mi_sweep_labels_begin(sweep_cxt);

	for (int i = 0; i < nslots; i++)
	{
		PG_TRY();
		{
			check_session(i, info, now);
		}
		PG_CATCH();
		{
			HOLD_INTERRUPTS();
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			RESUME_INTERRUPTS();
			StartTransactionCommand();
			MemoryContextSwitchTo(sweep_cxt);
		}
		PG_END_TRY();
		CHECK_FOR_INTERRUPTS();
	}

	mi_sweep_labels_end();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(TopMemoryContext);

	/* swap the reported lists */
	tmp = reported;
	reported = reported_next;
	nreported = nreported_next;
	reported_next = tmp;
	nreported_next = 0;
}

void
mi_enforcer_main(Datum arg)
{
	MemoryContext sweep_cxt;
	TimestampTz last_sweep = 0;
	int			nslots;
	int			last_mode = mi_mode;
	char	   *dbname = NULL;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * Bindings are in shared catalogs, but a label stored out of line
	 * (TOAST) can only be read with a database selected (the TOAST table
	 * is opened through the relation cache, which needs pg_class): so the
	 * worker connects to mtls_ident.database, or to what stands in for it.
	 */
	connect_database();

	nslots = mi_sessions_nslots();
	reported = MemoryContextAllocZero(TopMemoryContext,
									  sizeof(int) * Max(nslots, 1));
	reported_next = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(int) * Max(nslots, 1));
	sweep_cxt = AllocSetContextCreate(TopMemoryContext,
									  "mtls_ident enforcer",
									  ALLOCSET_DEFAULT_SIZES);

	if (!no_database)
	{
		char	   *n;

		StartTransactionCommand();
		n = get_database_name(MyDatabaseId);
		dbname = MemoryContextStrdup(TopMemoryContext, n ? n : "?");
		CommitTransactionCommand();
	}
	ereport(LOG,
			(errmsg("mtls_ident enforcer started"),
			 errdetail("Sessions are checked every %d ms%s; %s%s%s%s.",
					   mi_enforce_interval_ms,
					   mi_enforce_interval_ms == 0 ? " (the sweep is disabled)" : "",
					   no_database ? "without a database" :
					   "labels stored out of line are read in database \"",
					   no_database ? "" : dbname,
					   no_database ? "" : "\"",
					   OidIsValid(enforcer_shared->fallback) && !no_database ?
					   psprintf(", instead of \"%s\" (mtls_ident.database)", mi_database) : "")));

	for (;;)
	{
		TimestampTz now;
		TimestampTz next_sweep;
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* what was reported in one mode is reported again in another */
		if (mi_mode != last_mode)
		{
			nreported = 0;
			last_mode = mi_mode;
		}

		MemoryContextSwitchTo(sweep_cxt);
		mi_crl_refresh();
		mi_revocation_sources_refresh();	/* fetched CRLs, OCSP (SPEC 8) */
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(sweep_cxt);

		/*
		 * The next sweep is due one interval after the last one, computed
		 * from the interval as it is now: a reload (SIGHUP sets our latch)
		 * that shortens the interval, or enables the sweep again, takes
		 * effect at once instead of after the old, longer wait.
		 */
		now = GetCurrentTimestamp();
		next_sweep = TimestampTzPlusMilliseconds(last_sweep, mi_enforce_interval_ms);
		if (mi_enforce_interval_ms > 0 && mi_mode != MI_MODE_OFF &&
			now >= next_sweep)
		{
			sweep(sweep_cxt);
			MemoryContextReset(sweep_cxt);
			last_sweep = now;
			next_sweep = TimestampTzPlusMilliseconds(now, mi_enforce_interval_ms);
		}
		else if (mi_enforce_interval_ms == 0 || mi_mode == MI_MODE_OFF)
			nreported = 0;

		/* without mtls_ident.database: a way to read the rest? */
		check_database();

		/* wake for the next sweep, or the next CRL look, whichever first */
		wait_ms = MI_CRL_REFRESH_MS;
		if (mi_enforce_interval_ms > 0 && mi_mode != MI_MODE_OFF)
		{
			/* rounded up: a sleep cut short by truncation wakes twice */
			long		to_sweep = (long) ((next_sweep - GetCurrentTimestamp() + 999) / 1000);

			wait_ms = Min(wait_ms, Max(to_sweep, 1));
		}

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
