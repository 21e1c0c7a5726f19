/*-------------------------------------------------------------------------
 *
 * settings.c
 *		The settings of mtls_ident (GUC variables, their definitions and
 *		check hooks), SPEC section 6.
 *
 * Every other module reads the variables declared in settings.h; only
 * _PG_init (mtls_ident.c) calls mi_define_settings(), once, in the
 * postmaster.  Settings of context sighup are re-read by PostgreSQL on
 * reload in every process; no module copies one into a static at start-up
 * (the enforcer recomputes its sleep from mi_enforce_interval_ms on every
 * wake-up).  The prefix "mtls_ident" is reserved, so a misspelt setting is
 * an error, not a silent placeholder.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "http.h"
#include "settings.h"

int			mi_mode = MI_MODE_ENFORCE;
int			mi_enforce_interval_ms = 1000;
bool		mi_exempt_local = true;
bool		mi_require_client_auth_eku = true;
int			mi_expiry_warning_s = 7 * 24 * 3600;
int			mi_max_certificate_lifetime_s = 0;
int			mi_auth_log_size = 1024;
char	   *mi_database = NULL;
int			mi_label_cache_size_kb = 8192;
int			mi_ocsp_mode = MI_OCSP_OFF;
char	   *mi_ocsp_responder = NULL;
int			mi_ocsp_timeout_ms = 2000;
bool		mi_crl_fetch = false;
int			mi_crl_fetch_interval_s = 3600;

static const struct config_enum_entry mode_options[] = {
	{"enforce", MI_MODE_ENFORCE, false},
	{"audit", MI_MODE_AUDIT, false},
	{"off", MI_MODE_OFF, false},
	{NULL, 0, false}
};

static const struct config_enum_entry ocsp_options[] = {
	{"off", MI_OCSP_OFF, false},
	{"soft", MI_OCSP_SOFT, false},
	{"hard", MI_OCSP_HARD, false},
	{NULL, 0, false}
};


/* mtls_ident.ocsp_responder: empty, or an http:// URL (SPEC section 8) */
static bool
check_ocsp_responder(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (strlen(*newval) >= 512 || !mi_http_url_ok(*newval))
	{
		GUC_check_errdetail("The responder URL must be an http:// URL (no https, no user name), shorter than 512 bytes.");
		return false;
	}
	return true;
}

void
mi_define_settings(void)
{
	DefineCustomEnumVariable("mtls_ident.mode",
							 "Whether mtls_ident enforces, only audits, or ignores certificate bindings.",
							 "enforce refuses logins that break a rule; audit applies every rule but lets "
							 "the connection in, recording outcome would_reject; off does nothing.",
							 &mi_mode, MI_MODE_ENFORCE, mode_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("mtls_ident.enforce_interval",
							"Longest time a live session outlives its certificate's validity, "
							"revocation or unbinding.",
							"The enforcer background worker sweeps the sessions this often; 0 disables the sweep.",
							&mi_enforce_interval_ms, 1000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomBoolVariable("mtls_ident.exempt_local",
							 "Lets Unix-socket connections reach bound roles without a certificate.",
							 NULL,
							 &mi_exempt_local, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomBoolVariable("mtls_ident.require_client_auth_eku",
							 "Refuses certificates whose extendedKeyUsage lacks clientAuth.",
							 "Certificates without an extendedKeyUsage extension are not affected.",
							 &mi_require_client_auth_eku, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("mtls_ident.expiry_warning",
							"Warns the client at login when its certificate expires sooner than this.",
							"0 disables the warning.",
							&mi_expiry_warning_s, 7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("mtls_ident.max_certificate_lifetime",
							"Refuses certificates whose validity period is longer than this.",
							"0 means no limit.",
							&mi_max_certificate_lifetime_s, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("mtls_ident.auth_log_size",
							"Number of authentication events kept in the auth_log ring.",
							NULL,
							&mi_auth_log_size, 1024, 16, 65536,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("mtls_ident.database",
							   "Database the enforcer worker connects to.",
							   "It reads only shared catalogs, but a large label (stored out of line) "
							   "can only be read with a database selected.  If this database is dropped, "
							   "renamed or closed to connections, the worker uses another one and says so.",
							   &mi_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("mtls_ident.label_cache_size",
							"Shared memory that keeps the text of labels stored out of line.",
							"Lets logins to roles with large labels skip the TOAST table; 0 disables it.",
							&mi_label_cache_size_kb, 8192, 0, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);

	/* revocation sources: OCSP and fetched CRLs (ocsp.c, crl_fetch.c) */
	DefineCustomEnumVariable("mtls_ident.ocsp",
							 "Whether logins ask the certificate's OCSP responder.",
							 "soft refuses only a valid revoked answer; hard admits only a valid good answer.",
							 &mi_ocsp_mode, MI_OCSP_OFF, ocsp_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("mtls_ident.ocsp_responder",
							   "OCSP responder URL used for every certificate.",
							   "Empty: the certificate's Authority Information Access OCSP URL (http:// only).",
							   &mi_ocsp_responder, "",
							   PGC_SIGHUP, 0, check_ocsp_responder, NULL, NULL);

	DefineCustomIntVariable("mtls_ident.ocsp_timeout",
							"Longest time a login waits for an OCSP answer.",
							NULL,
							&mi_ocsp_timeout_ms, 2000, 100, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomBoolVariable("mtls_ident.crl_fetch",
							 "Fetches CRLs from the http:// distribution points of client certificates.",
							 NULL,
							 &mi_crl_fetch, false,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("mtls_ident.crl_fetch_interval",
							"Longest time between two fetches of one CRL.",
							"Sooner when the CRL's nextUpdate is sooner.",
							&mi_crl_fetch_interval_s, 3600, 1, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	MarkGUCPrefixReserved("mtls_ident");
}

