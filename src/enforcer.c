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
 * line (TOAST) cannot be read without a database selected.
 * It also runs on hot standbys (the catalogs replicate).  An ERROR while
 * checking one session (say, a corrupt label) is logged and the sweep goes
 * on with the next session; if the worker dies anyway, the postmaster
 * starts it again after one second.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "auth_hook.h"
#include "bindings.h"
#include "crl.h"
#include "crl_fetch.h"
#include "ocsp.h"
#include "decision.h"
#include "enforcer.h"
#include "mtls_ident.h"
#include "sessions.h"

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

/* why a session ends, by reason: the client's FATAL and our log say it */
static const char *
reason_phrase(MiReason r)
{
	switch (r)
	{
		case MI_REASON_EXPIRED:
			/* a live session's certificate was valid at login */
			return "the client certificate expired";
		case MI_REASON_REVOKED:
			return "the client certificate was revoked";
		case MI_REASON_ISSUED_BEFORE_CUTOFF:
			return "the client certificate was issued before the role's revocation cutoff";
		case MI_REASON_NO_BINDING:
		case MI_REASON_NO_MATCH:
		case MI_REASON_ISSUER_MISMATCH:
			return "the client certificate no longer matches the role's bindings";
		case MI_REASON_NOT_CLIENT_AUTH:
			return "the client certificate is not valid for client authentication";
		case MI_REASON_LIFETIME_TOO_LONG:
			return "the client certificate's validity period is longer than mtls_ident.max_certificate_lifetime";
		default:
			return "the client certificate no longer satisfies mtls_ident";
	}
}

const char *
mi_ending_phrase(const char *reason)
{
	for (int r = 0; r < MI_NUM_REASONS; r++)
		if (reason != NULL && strcmp(reason, mi_reason_name((MiReason) r)) == 0)
			return reason_phrase((MiReason) r);
	return reason_phrase(MI_NUM_REASONS);
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

	mi_decide(&in, &d);

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
						mi_reason_name(d.reason), reason_phrase(d.reason)),
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
						mi_reason_name(d.reason), reason_phrase(d.reason)),
				 errdetail_log("%s", detail.data)));
		keep_reported(info->pid);
	}
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
	TimestampTz next_sweep = 0;
	int			nslots;
	int			last_mode = mi_mode;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: only shared catalogs are read */
	/*
	 * Bindings are in shared catalogs, but a label stored out of line
	 * (TOAST) can only be read with a database selected (the TOAST table
	 * is opened through the relation cache, which needs pg_class): so the
	 * worker connects to mtls_ident.database.
	 */
	BackgroundWorkerInitializeConnection(mi_database, NULL, 0);

	nslots = mi_sessions_nslots();
	reported = MemoryContextAllocZero(TopMemoryContext,
									  sizeof(int) * Max(nslots, 1));
	reported_next = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(int) * Max(nslots, 1));
	sweep_cxt = AllocSetContextCreate(TopMemoryContext,
									  "mtls_ident enforcer",
									  ALLOCSET_DEFAULT_SIZES);

	ereport(LOG,
			(errmsg("mtls_ident enforcer started"),
			 errdetail("Sessions are checked every %d ms%s.",
					   mi_enforce_interval_ms,
					   mi_enforce_interval_ms == 0 ? " (the sweep is disabled)" : "")));

	for (;;)
	{
		TimestampTz now;
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

		now = GetCurrentTimestamp();
		if (mi_enforce_interval_ms > 0 && mi_mode != MI_MODE_OFF &&
			now >= next_sweep)
		{
			sweep(sweep_cxt);
			MemoryContextReset(sweep_cxt);
			next_sweep = TimestampTzPlusMilliseconds(now, mi_enforce_interval_ms);
		}
		else if (mi_enforce_interval_ms == 0 || mi_mode == MI_MODE_OFF)
			nreported = 0;

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
