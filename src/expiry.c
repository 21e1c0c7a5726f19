/*-------------------------------------------------------------------------
 *
 * expiry.c
 *		Per-backend expiry of a certificate session, and the message the
 *		client sees when its session is ended.
 *
 * At login, a session that a binding admitted arms a timeout one second
 * after its certificate's notAfter (mi_expiry_arm).  When it fires the
 * backend ends itself like a SIGTERM would (the handler runs in signal
 * context and only sets flags).  PostgreSQL cancels every timeout after
 * any ERROR, so the check is repeated when a statement starts (executor
 * and utility hooks), which also re-arms a cancelled timeout; a session
 * that stays idle after an ERROR is ended by the enforcer worker instead.
 * Both are no-ops unless mtls_ident.mode = enforce.
 *
 * An emit_log_hook turns PostgreSQL's "terminating connection due to
 * administrator command" into a message that says why, when the session
 * is being ended because its certificate expired or because the enforcer
 * asked (the reason it recorded in our session slot).  Both the client
 * and the server log see the rewritten message.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <time.h>

#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/timeout.h"

#include "expiry.h"
#include "format.h"
#include "sessions.h"
#include "settings.h"

/* seconds from 1970-01-01 to 2000-01-01, and microseconds per second */
#define MI_EPOCH_DIFF_S INT64CONST(946684800)
#define MI_USECS_PER_S INT64CONST(1000000)

static bool expiry_armed = false;
static int64_t expiry_not_after = 0;
static bool timeout_registered = false;
static TimeoutId expiry_timeout_id;
static volatile sig_atomic_t expiry_fired = false;

static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

/* signal context: set flags only, as die() does */
static void
expiry_timeout_handler(void)
{
	if (mi_mode != MI_MODE_ENFORCE)
		return;
	expiry_fired = true;
	ProcDiePending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

static void
enable_expiry_timeout(void)
{
	TimestampTz fin;

	/* notAfter is inclusive: the certificate is expired one second later */
	fin = (TimestampTz) ((expiry_not_after + 1 - MI_EPOCH_DIFF_S) * MI_USECS_PER_S);
	enable_timeout_at(expiry_timeout_id, fin);
}

void
mi_expiry_arm(const MiCert *cert)
{
	if (cert == NULL)
		return;
	expiry_not_after = cert->not_after;
	expiry_armed = true;
	if (!timeout_registered)
	{
		expiry_timeout_id = RegisterTimeout(USER_TIMEOUT, expiry_timeout_handler);
		timeout_registered = true;
	}
	enable_expiry_timeout();
}

/* when a statement starts: end an expired session, re-arm the timeout */
static void
check_expiry(void)
{
	if (!expiry_armed || mi_mode != MI_MODE_ENFORCE)
		return;
	if ((int64_t) time(NULL) > expiry_not_after)
	{
		expiry_fired = true;
		ereport(FATAL,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("terminating connection because the client certificate expired"),
				 errdetail("The certificate expired at %s.",
						   mi_format_unix_time(expiry_not_after)),
				 errhint("Reconnect with a renewed certificate.")));
	}
	/* an ERROR cancelled every timeout: arm it again */
	if (timeout_registered && !get_timeout_active(expiry_timeout_id))
		enable_expiry_timeout();
}

/* void in every supported major (18's bool hook was reverted before 18.0) */
static void
mi_executor_start(QueryDesc *queryDesc, int eflags)
{
	check_expiry();
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
mi_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	check_expiry();
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * Say why, when PostgreSQL's SIGTERM path ends a certificate session that
 * expired or that the enforcer ended.
 */
static void
mi_emit_log(ErrorData *edata)
{
	const char *why = NULL;

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);

	if (edata->elevel != FATAL || mi_session_cert == NULL ||
		edata->sqlerrcode != ERRCODE_ADMIN_SHUTDOWN ||
		edata->message_id == NULL ||
		strcmp(edata->message_id,
			   "terminating connection due to administrator command") != 0)
		return;

	if (expiry_fired)
		why = "the client certificate expired";
	else
	{
		const char *reason = mi_session_my_termination_reason();

		if (reason != NULL)
			why = mi_ending_phrase(reason);
	}
	if (why == NULL)
		return;

	{
		MemoryContext old = MemoryContextSwitchTo(ErrorContext);

		edata->message = psprintf("terminating connection because %s", why);
		MemoryContextSwitchTo(old);
	}
}

void
mi_expiry_install(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = mi_executor_start;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = mi_process_utility;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = mi_emit_log;
}
