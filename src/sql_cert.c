/*-------------------------------------------------------------------------
 *
 * sql_cert.c
 *		SQL functions on PEM text: cert_info(pem) and check(pem, role).
 *
 * check() runs the very decision the login hook runs (mi_decide, with the
 * role's bindings collected by the same code), as the rules stand now,
 * assuming the recommended pg_hba method (trust clientcert=verify-ca) and
 * a TCP connection.  It does not verify the chain: issuer pins compare
 * against the certificate's issuer name and against any CA certificates
 * that follow it in the PEM text.
 *
 * Both are executable by PUBLIC: they read only what the caller passes in
 * and the bindings, which pg_shseclabel shows to everyone anyway.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "bindings.h"
#include "cert.h"
#include "crl.h"
#include "decision.h"
#include "format.h"
#include "ocsp.h"
#include "sessions.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(mtls_ident_cert_info);
PG_FUNCTION_INFO_V1(mtls_ident_check);

/* parse PEM text into an MiCert or raise a clear ERROR */
static void
cert_from_pem_arg(FunctionCallInfo fcinfo, int argno, MiCert *cert)
{
	text	   *pem;
	char		err[256];

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("PEM text must not be null")));
	pem = PG_GETARG_TEXT_PP(argno);
	err[0] = '\0';
	if (!mi_cert_from_pem(VARDATA_ANY(pem), VARSIZE_ANY_EXHDR(pem), cert,
						  err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid PEM certificate"),
				 errdetail("%s", err)));
}



Datum
mtls_ident_cert_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MiCert		cert;
	Datum		values[8];
	bool		nulls[8] = {0};

	InitMaterializedSRF(fcinfo, 0);
	cert_from_pem_arg(fcinfo, 0, &cert);

	values[0] = CStringGetTextDatum(cert.subject_dn);
	values[1] = CStringGetTextDatum(cert.issuer_dn);
	values[2] = CStringGetTextDatum(cert.serial_hex);
	values[3] = CStringGetTextDatum(cert.fingerprint);
	values[4] = TimestampTzGetDatum(mi_unix_to_timestamptz(cert.not_before));
	values[5] = TimestampTzGetDatum(mi_unix_to_timestamptz(cert.not_after));
	values[6] = mi_cert_sans_array(&cert);
	if (cert.has_eku)
		values[7] = mi_text_array(cert.eku, cert.neku);
	else
		nulls[7] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	mi_cert_free(&cert);
	PG_RETURN_VOID();
}

Datum
mtls_ident_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MiCert		cert;
	Oid			roleid;
	char	   *rolename;
	MiDecisionInput in;
	MiDecision	d;
	Datum		values[3];
	bool		nulls[3] = {0};

	InitMaterializedSRF(fcinfo, 0);
	cert_from_pem_arg(fcinfo, 0, &cert);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be null")));
	roleid = PG_GETARG_OID(1);
	rolename = GetUserNameFromId(roleid, true);
	if (rolename == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", roleid)));

	memset(&in, 0, sizeof(in));
	in.cert = &cert;
	in.role = rolename;
	in.rules = mi_collect_rules(roleid, rolename, &cert);
	in.method_is_trust = true;
	in.local_socket = false;
	in.exempt_local = mi_exempt_local;
	in.require_client_auth_eku = mi_require_client_auth_eku;
	in.max_lifetime = mi_max_certificate_lifetime_s;
	in.revoked = mi_crl_is_revoked(&cert) || mi_ocsp_is_revoked(&cert);
	in.now = (int64_t) time(NULL);
	in.regex_fn = mi_pg_regex;

	mi_decide(&in, &d);

	values[0] = BoolGetDatum(d.reason == MI_REASON_OK);
	values[1] = CStringGetTextDatum(mi_reason_name(d.reason));
	if (d.identity)
		values[2] = CStringGetTextDatum(d.identity);
	else
		nulls[2] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(mtls_ident_session_identity);
PG_FUNCTION_INFO_V1(mtls_ident_session_sans);

/* the identity this session logged in with, or NULL */
Datum
mtls_ident_session_identity(PG_FUNCTION_ARGS)
{
	if (mi_session_identity == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(mi_session_identity));
}

/* every SAN of this session's certificate, or NULL without a certificate */
Datum
mtls_ident_session_sans(PG_FUNCTION_ARGS)
{
	if (mi_session_cert == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(mi_cert_sans_array(mi_session_cert));
}
