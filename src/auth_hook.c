/*-------------------------------------------------------------------------
 *
 * auth_hook.c
 *		The login decision: mtls_ident's ClientAuthentication_hook.
 *
 * PostgreSQL calls the hook after the pg_hba method has run.  We act only
 * when that method succeeded (STATUS_OK): read the verified peer
 * certificate straight from the TLS connection (port->peer and the verified
 * chain; never port->peer_cn, which is NULL for the empty subjects usual
 * with SPIFFE), collect the role's applicable bindings from the catalog,
 * and let mi_decide() apply the rules of SPEC section 4.
 *
 * A refusal is a FATAL with SQLSTATE 28000 and a message that names the
 * role and nothing else; the reason code and the certificate go to the
 * server log only (errdetail_log).  Every decision is logged.  Anything
 * that goes wrong here raises an ERROR, which during authentication is a
 * FATAL: we fail closed.
 *
 * The expiry WARNING cannot be sent from the hook itself: the client is
 * still waiting for AuthenticationOk and libpq drops a connection that
 * gets a notice at that point, and elog.c sends nothing below ERROR to the
 * client while ClientAuthInProgress.  So the hook registers a transaction
 * callback that sends it when InitPostgres commits its start-up
 * transaction, after authentication.
 *
 * Also here: a certificate presented for a role that does not exist is
 * recorded and refused (no_role, decide_no_role); a decision deferred
 * until a database is selected is logged with the server's logging
 * settings, not those the client's startup options set, and an attempt
 * whose backend exits before its deferred decision is recorded on the way
 * out (deferred_decision, deferred_exit); in mode off, certificate
 * sessions are published unjudged for the enforcer (publish_unjudged).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "libpq/auth.h"
#include "libpq/hba.h"
#include "common/ip.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "auth_hook.h"
#include "auth_log.h"
#include "bindings.h"
#include "compat.h"
#include "crl.h"
#include "crl_fetch.h"
#include "enforcer.h"
#include "expiry.h"
#include "format.h"
#include "ocsp.h"
#include "sessions.h"
#include "settings.h"

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;

/* pending expiry warning, sent after authentication */
static bool expiry_warning_pending = false;
static int64_t expiry_warning_not_after = 0;

bool
mi_read_peer_certificate(Port *port, MiCert *out, char *err, size_t errlen)
{
	STACK_OF(X509) *chain;

	chain = SSL_get0_verified_chain(port->ssl);
	return mi_cert_from_x509(port->peer, chain, out, err, errlen);
}




static void
send_expiry_warning(XactEvent event, void *arg)
{
	int64_t		left;

	if (!expiry_warning_pending || event != XACT_EVENT_PRE_COMMIT)
		return;
	/* once only; the callback stays registered but does nothing more */
	expiry_warning_pending = false;

	left = expiry_warning_not_after - (int64_t) time(NULL);
	ereport(WARNING,
			(errmsg("your client certificate expires in %lld seconds, at %s",
					(long long) (left > 0 ? left : 0),
					mi_format_unix_time(expiry_warning_not_after)),
			 errhint("Renew the certificate before it expires; the session ends when it does.")));
}

static void
arm_expiry_warning(const MiCert *cert, int64_t now)
{
	if (mi_expiry_warning_s <= 0 ||
		cert->not_after - now >= (int64_t) mi_expiry_warning_s)
		return;
	expiry_warning_pending = true;
	expiry_warning_not_after = cert->not_after;
	RegisterXactCallback(send_expiry_warning, NULL);
}

/* numeric client address, "" for a Unix socket */
static void
client_addr_text(Port *port, char *buf, size_t len)
{
	buf[0] = '\0';
	if (MI_IS_UNIX_SOCKET(port->raddr.addr.ss_family))
		return;
	if (pg_getnameinfo_all(&port->raddr.addr, port->raddr.salen,
						   buf, len, NULL, 0, NI_NUMERICHOST) != 0)
		buf[0] = '\0';
}

static MiOutcome
outcome_of(const MiDecision *d)
{
	if (d->reason == MI_REASON_OK)
		return MI_OUTCOME_ACCEPT;
	return mi_mode == MI_MODE_AUDIT ? MI_OUTCOME_WOULD_REJECT : MI_OUTCOME_REJECT;
}

/*
 * The server log's detail of a decision: outcome, reason, role, database,
 * client, identity and the certificate.
 */
static void
describe_decision(StringInfo detail, Port *port, const MiCert *cert,
				  const MiDecision *d, MiOutcome outcome,
				  const char *unreadable, const char *client_addr)
{
	appendStringInfo(detail, "mtls_ident: outcome=%s reason=%s role=\"%s\" database=\"%s\" client=%s identity=%s",
					 mi_outcome_name(outcome), mi_reason_name(d->reason),
					 mi_log_quote(port->user_name),
					 mi_log_quote(port->database_name),
					 client_addr[0] ? client_addr : "local",
					 d->identity ? d->identity : "none");
	if (cert != NULL)
	{
		appendStringInfoChar(detail, ' ');
		mi_describe_cert(detail, cert);
	}
	else if (unreadable != NULL)
		appendStringInfo(detail, " certificate unreadable: %s", unreadable);
	else
		appendStringInfoString(detail, " no client certificate");
}

/*
 * Log the decision and, for a refusal in enforce mode, end the connection.
 */
static void
report_decision(Port *port, const MiCert *cert, const MiDecision *d,
				const char *unreadable, const char *client_addr)
{
	MiOutcome	outcome = outcome_of(d);
	bool		allowed = outcome == MI_OUTCOME_ACCEPT;
	bool		audit = outcome == MI_OUTCOME_WOULD_REJECT;
	StringInfoData detail;

	/* the event is in the ring before any FATAL */
	mi_auth_log_record(outcome, d->reason, port->user_name,
					   port->database_name, client_addr, d->identity, cert);

	initStringInfo(&detail);
	describe_decision(&detail, port, cert, d, outcome, unreadable, client_addr);

	if (allowed || audit)
	{
		ereport(LOG,
				(errmsg("mtls_ident: %s login of role \"%s\"",
						allowed ? "accepted" : "would have refused (audit mode)",
						port->user_name),
				 errdetail_log("%s", detail.data)));
		return;
	}

	ereport(FATAL,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("certificate authentication failed for user \"%s\"",
					port->user_name),
			 errdetail_log("%s", detail.data)));
}

/*
 * Refuse a login whose bindings cannot be read: the usual generic message
 * to the client, the cause in the server log, the event in auth_log.
 */
static void
refuse_unreadable_bindings(Port *port, const MiCert *cert,
						   const char *client_addr, const char *why)
{
	mi_auth_log_record(MI_OUTCOME_REJECT, MI_REASON_NO_MATCH, port->user_name,
					   port->database_name, client_addr, NULL, cert);
	ereport(FATAL,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("certificate authentication failed for user \"%s\"",
					port->user_name),
			 errdetail_log("mtls_ident: outcome=reject reason=no_match role=\"%s\" database=\"%s\" client=%s: the role's bindings cannot be read: %s",
						   mi_log_quote(port->user_name),
						   mi_log_quote(port->database_name),
						   client_addr[0] ? client_addr : "local", why)));
}

/*
 * The role's bindings; if they cannot be read (a label damaged by hand,
 * say), refuse with the same generic message as any refusal (in every
 * mode: we cannot tell what the bindings would have allowed) and put the
 * error in the server log only.  The error is raised after the catalog
 * scan has finished and released what it held, and we end the connection
 * right away, so catching it here is safe.
 */
static MiRuleSet *
collect_rules_or_refuse(Port *port, Oid roleid, const MiCert *cert,
						const char *client_addr)
{
	MemoryContext cxt = CurrentMemoryContext;
	MiRuleSet  *rules = NULL;
	ErrorData  *edata = NULL;

	PG_TRY();
	{
		rules = mi_collect_rules(roleid, port->user_name, cert);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();

	if (edata == NULL)
		return rules;

	refuse_unreadable_bindings(port, cert, client_addr,
							   psprintf("%s%s%s", edata->message,
										edata->detail ? ": " : "",
										edata->detail ? edata->detail : ""));
	return NULL;				/* not reached */
}

static void decide_login(Port *port, Oid roleid, MiCert *cert,
						 const char *unreadable, bool deferred);

/*
 * The client's certificate, read once per login (in TopMemoryContext: it
 * lives as long as the session): NULL without one, or when it cannot be
 * read, with the reason in *unreadable then.
 */
static MiCert *
read_client_cert(Port *port, const char **unreadable)
{
	MiCert	   *cert;
	char		err[256];
	MemoryContext oldcxt;

	*unreadable = NULL;
	if (!port->ssl_in_use || port->peer == NULL || !port->peer_cert_valid)
		return NULL;
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	cert = palloc0(sizeof(MiCert));
	err[0] = '\0';
	if (!mi_read_peer_certificate(port, cert, err, sizeof(err)))
	{
		pfree(cert);
		cert = NULL;
		*unreadable = pstrdup(err);
	}
	MemoryContextSwitchTo(oldcxt);
	mi_crl_note_chain(SSL_get0_verified_chain(port->ssl));
	return cert;
}

/* a decision put off until a database is selected (see decide_login) */
static bool deferred_pending = false;
static Port *deferred_port = NULL;
static Oid	deferred_roleid = InvalidOid;
static MiCert *deferred_cert = NULL;
static const char *deferred_unreadable = NULL;

/*
 * What reaches the server log must not depend on what the client asks for
 * (SPEC 4, rule 4).  A deferred decision runs after PostgreSQL applied the
 * client's startup options (-c log_min_messages=panic,
 * log_error_verbosity=terse, lc_messages, for a superuser) and the role's
 * and database's ALTER ... SET settings.  These are the settings that
 * decide whether and how our lines are written: their values as the server
 * had them in the hook, before any of that, are kept and put back while
 * the decision is reported.  (log_line_prefix, log_destination and the
 * like cannot be set by a client; application_name, which a client sets,
 * only shows in a prefix and is cleaned to printable ASCII by PostgreSQL.)
 */
static const char *const log_setting_names[] = {
	"log_min_messages", "log_error_verbosity", "lc_messages"
};
#define MI_NUM_LOG_SETTINGS lengthof(log_setting_names)
static char *log_setting_values[MI_NUM_LOG_SETTINGS];

static void
capture_log_settings(void)
{
	for (int i = 0; i < MI_NUM_LOG_SETTINGS; i++)
	{
		const char *v = GetConfigOption(log_setting_names[i], true, false);

		log_setting_values[i] = v ? MemoryContextStrdup(TopMemoryContext, v) : NULL;
	}
}

/*
 * Put the server's logging settings back.  With a nest level (from
 * NewGUCNestLevel) the client's choice comes back at AtEOXact_GUC; with
 * GUC_ACTION_SET it does not (the process is about to exit).
 */
static void
force_log_settings(GucAction action)
{
	for (int i = 0; i < MI_NUM_LOG_SETTINGS; i++)
		if (log_setting_values[i] != NULL)
			(void) set_config_option(log_setting_names[i], log_setting_values[i],
									 PGC_SUSET, PGC_S_SESSION, action, true,
									 WARNING, false);
}

static void
deferred_decision(XactEvent event, void *arg)
{
	int			nest;

	if (!deferred_pending || event != XACT_EVENT_PRE_COMMIT)
		return;
	deferred_pending = false;
	nest = NewGUCNestLevel();
	force_log_settings(GUC_ACTION_SAVE);
	decide_login(deferred_port, deferred_roleid, deferred_cert,
				 deferred_unreadable, true);
	/* admitted: the session's own settings, as the client asked */
	AtEOXact_GUC(true, nest);
}

/*
 * The backend exits before its deferred decision was made: PostgreSQL
 * refused the connection after the hook (a startup option the role may
 * not set, a database that does not exist, no CONNECT privilege, ...).
 * The attempt presented a certificate, so it is recorded all the same
 * (SPEC 4, rule 4): as a refusal for no_match -- the role's bindings were
 * never read, as when they cannot be read (refuse_unreadable_bindings) --
 * with the server's own logging settings.
 */
static void
deferred_exit(int code, Datum arg)
{
	Port	   *port = deferred_port;
	char		client_addr[MI_SLOT_ADDR_LEN];
	MiDecision	d;
	MiOutcome	outcome;
	StringInfoData detail;

	if (!deferred_pending)
		return;
	deferred_pending = false;
	/* without a certificate, PostgreSQL's refusal is all there is to say */
	if (deferred_cert == NULL && deferred_unreadable == NULL)
		return;
	force_log_settings(GUC_ACTION_SET);

	client_addr_text(port, client_addr, sizeof(client_addr));
	memset(&d, 0, sizeof(d));
	d.matched_san = -1;
	d.governed = true;
	d.reason = MI_REASON_NO_MATCH;
	outcome = outcome_of(&d);
	mi_auth_log_record(outcome, d.reason, port->user_name,
					   port->database_name, client_addr, NULL, deferred_cert);
	initStringInfo(&detail);
	describe_decision(&detail, port, deferred_cert, &d, outcome,
					  deferred_unreadable, client_addr);
	appendStringInfoString(&detail, ": the connection ended before the role's bindings (stored out of line) could be read");
	ereport(LOG,
			(errmsg("mtls_ident: refused login of role \"%s\" (the connection ended before its deferred decision)",
					port->user_name),
			 errdetail_log("%s", detail.data)));
}

/*
 * A certificate presented for a role that does not exist (SPEC 4, rule 4):
 * recorded as no_role, with the certificate, whatever the pg_hba method.
 * When the method succeeded (trust, or cert with a matching CN),
 * PostgreSQL would refuse the role only later ("role does not exist"): we
 * refuse here, in enforce mode, with the usual generic message, which
 * does not say whether the role exists.  When the method already failed
 * (a password method: PostgreSQL fails a missing role the same way as a
 * wrong password; cert with a CN that is not the role), PostgreSQL sends
 * its own refusal right after this hook: we only record and log.  In
 * audit mode the outcome is would_reject and PostgreSQL refuses anyway.
 */
static void
decide_no_role(Port *port, int status)
{
	MiCert	   *cert;
	const char *unreadable;
	char		client_addr[MI_SLOT_ADDR_LEN];
	MiDecision	d;

	cert = read_client_cert(port, &unreadable);
	if (cert == NULL && unreadable == NULL)
		return;					/* no certificate: PostgreSQL's business */

	client_addr_text(port, client_addr, sizeof(client_addr));
	memset(&d, 0, sizeof(d));
	d.matched_san = -1;
	d.governed = true;
	d.reason = MI_REASON_NO_ROLE;
	if (status == STATUS_OK)
	{
		report_decision(port, cert, &d, unreadable, client_addr);
		return;
	}
	else
	{
		MiOutcome	outcome = outcome_of(&d);
		StringInfoData detail;

		mi_auth_log_record(outcome, d.reason, port->user_name,
						   port->database_name, client_addr, NULL, cert);
		initStringInfo(&detail);
		describe_decision(&detail, port, cert, &d, outcome, unreadable,
						  client_addr);
		ereport(LOG,
				(errmsg("mtls_ident: refused login of role \"%s\" (the pg_hba method failed too)",
						port->user_name),
				 errdetail_log("%s", detail.data)));
	}
}

/*
 * mode = off: nothing is decided, recorded or refused, but a certificate
 * session is still published, unjudged (no identity), so that the
 * enforcer applies the rules to it once the mode is switched to audit or
 * enforce, as to any session: with the role's bindings as they are then
 * (doc/enforcement.md, "Switching modes").  The certificate and the role's
 * OID are all that is read; no label, so a broken label cannot refuse a
 * login in off mode.
 * A certificate that cannot be read is not published (nothing to judge).
 */
static void
publish_unjudged(Port *port)
{
	const char *unreadable;
	MiCert	   *cert;
	char		client_addr[MI_SLOT_ADDR_LEN];
	Oid			roleid;

	cert = read_client_cert(port, &unreadable);
	if (cert == NULL)
		return;
	roleid = get_role_oid(port->user_name, true);
	if (!OidIsValid(roleid))
		return;					/* PostgreSQL refuses it */
	client_addr_text(port, client_addr, sizeof(client_addr));
	mi_session_cert = cert;
	mi_session_publish(cert, -1, NULL, true,
					   port->hba->auth_method == uaTrust, roleid,
					   port->user_name, port->database_name, client_addr);
}

static void
mi_client_auth(Port *port, int status)
{
	Oid			roleid;
	MiCert	   *cert;
	const char *unreadable;

	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);

	if (mi_mode == MI_MODE_OFF)
	{
		if (status == STATUS_OK)
			publish_unjudged(port);
		return;
	}

	/*
	 * A role that does not exist: PostgreSQL refuses it later, but the
	 * attempt is ours to record (STATUS_EOF: the client went away during a
	 * password exchange, nothing was attempted).
	 */
	if (status != STATUS_OK && status != STATUS_ERROR)
		return;
	roleid = get_role_oid(port->user_name, true);
	if (!OidIsValid(roleid))
	{
		decide_no_role(port, status);
		return;
	}
	if (status != STATUS_OK)
		return;

	cert = read_client_cert(port, &unreadable);
	decide_login(port, roleid, cert, unreadable, false);
}

/*
 * The decision.  Normally made in the hook itself.  When a label that
 * applies is stored out of line (TOAST), it cannot be read before a
 * database is selected: the decision is then made when InitPostgres
 * commits its start-up transaction -- after the database is chosen, before
 * the client can send any query -- and a refusal reaches the client just
 * after AuthenticationOk instead of before it.
 */
static void
decide_login(Port *port, Oid roleid, MiCert *cert, const char *unreadable,
			 bool deferred)
{
	MiRuleSet  *rules;
	MiDecisionInput in;
	MiDecision	d;
	int64_t		now = (int64_t) time(NULL);
	char		client_addr[MI_SLOT_ADDR_LEN];

	client_addr_text(port, client_addr, sizeof(client_addr));
	rules = collect_rules_or_refuse(port, roleid, cert, client_addr);
	if (rules == NULL)
	{
		if (!deferred)
		{
			/* the certificate already read is kept for later */
			deferred_pending = true;
			deferred_port = port;
			deferred_roleid = roleid;
			deferred_cert = cert;
			deferred_unreadable = unreadable;
			capture_log_settings();
			RegisterXactCallback(deferred_decision, NULL);
			before_shmem_exit(deferred_exit, (Datum) 0);
			return;
		}
		/* cannot happen once a database is selected; fail closed anyway */
		refuse_unreadable_bindings(port, cert, client_addr,
								   "stored out of line even with a database selected");
	}

	if (unreadable != NULL)
	{
		/*
		 * A certificate was presented and verified but we cannot read it
		 * (e.g. two subjectAltName extensions).  Fail closed: it matches no
		 * binding.
		 */
		memset(&d, 0, sizeof(d));
		d.matched_san = -1;
		d.governed = mi_ruleset_bound(rules) || port->hba->auth_method == uaTrust;
		d.reason = mi_ruleset_bound(rules) ? MI_REASON_NO_MATCH : MI_REASON_NO_BINDING;
		if (!d.governed)
			return;
		report_decision(port, NULL, &d, unreadable, client_addr);
		return;
	}

	memset(&in, 0, sizeof(in));
	in.cert = cert;
	in.role = port->user_name;
	in.rules = rules;
	in.method_is_trust = port->hba->auth_method == uaTrust;
	in.local_socket = MI_IS_UNIX_SOCKET(port->raddr.addr.ss_family);
	in.exempt_local = mi_exempt_local;
	in.require_client_auth_eku = mi_require_client_auth_eku;
	in.max_lifetime = mi_max_certificate_lifetime_s;
	in.revoked = cert != NULL && mi_crl_is_revoked(cert);
	in.now = now;
	in.regex_fn = mi_pg_regex;
	in.regex_arg = NULL;

	mi_decide(&in, &d);

	/*
	 * Revocation sources of SPEC section 8 (ocsp.c, crl_fetch.c): OCSP is
	 * the last of rule 3's checks, asked only for a certificate that passed
	 * all the others (a binding matched, so mtls_ident governs the login).
	 */
	if (cert != NULL)
	{
		mi_crl_fetch_note(port->peer);
		if (d.governed && d.reason == MI_REASON_OK && d.matched_rule != NULL)
			d.reason = mi_ocsp_login_check(port->peer,
										   SSL_get0_verified_chain(port->ssl),
										   cert);
	}

	if (d.governed)
		report_decision(port, cert, &d, NULL, client_addr);
	else if (cert != NULL)
	{
		/* PostgreSQL's decision stands; still an attempt with a certificate */
		mi_auth_log_record(MI_OUTCOME_ACCEPT, MI_REASON_OK, port->user_name,
						   port->database_name, client_addr, NULL, cert);
	}

	/* admitted (or audited): remember and publish this session's identity */
	if (cert != NULL)
	{
		mi_session_cert = cert;
		/* only an accepted identity: row-level security trusts it */
		if (d.identity != NULL && d.reason == MI_REASON_OK)
			mi_session_identity = MemoryContextStrdup(TopMemoryContext,
													  d.identity);
		mi_session_publish(cert, d.matched_san, d.identity, d.governed,
						   in.method_is_trust, roleid, port->user_name,
						   port->database_name, client_addr);
		if (d.governed)
			mi_expiry_arm(cert);
		arm_expiry_warning(cert, now);
	}
}

void
mi_auth_hook_install(void)
{
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = mi_client_auth;
}
