/*-------------------------------------------------------------------------
 *
 * sql_bindings.c
 *		SQL functions that change bindings: bind, unbind,
 *		revoke_issued_before, and the label reader behind view bindings.
 *
 * Security: these are ordinary (SECURITY INVOKER) functions, executable by
 * PUBLIC, that make the same privilege check as SECURITY LABEL ON ROLE
 * (check_object_ownership: CREATEROLE, and superuser for a superuser role,
 * on PostgreSQL 15; ADMIN OPTION on 16+).  So a binding can be changed
 * exactly by those who could change the role's password, and a label edit
 * cannot give anyone more than they could already do.
 *
 * Each function validates all of its input before it changes anything,
 * takes a lock on the role that serialises concurrent changes to its label
 * (and conflicts with DROP ROLE), then reads, modifies and writes the
 * label.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "bindings.h"
#include "issuer_pin.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(mtls_ident_bind);
PG_FUNCTION_INFO_V1(mtls_ident_unbind);
PG_FUNCTION_INFO_V1(mtls_ident_revoke_issued_before);
PG_FUNCTION_INFO_V1(mtls_ident_label_entries);

static void
require_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/*
 * Check that the current user may change the role's label, then lock the
 * role and check that it still exists.
 */
static void
lock_role_for_update(Oid roleid)
{
	ObjectAddress addr;
	char	   *name = GetUserNameFromId(roleid, true);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", roleid)));

	ObjectAddressSet(addr, AuthIdRelationId, roleid);
	check_object_ownership(GetUserId(), OBJECT_ROLE, addr,
						   (Node *) makeString(name), NULL);

	LockSharedObject(AuthIdRelationId, roleid, 0, ShareUpdateExclusiveLock);
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(roleid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" was dropped concurrently", name)));
}

Datum
mtls_ident_bind(PG_FUNCTION_ARGS)
{
	Oid			roleid;
	char	   *identity;
	char	   *issuer = NULL;
	MiPattern  *pattern;
	const char *canon;
	MiLabel		label;

	require_arg(fcinfo, 0, "role");
	require_arg(fcinfo, 1, "identity");
	roleid = PG_GETARG_OID(0);
	identity = text_to_cstring(PG_GETARG_TEXT_PP(1));

	/* validate everything before touching the catalog */
	pattern = mi_compile_identity(identity);
	canon = mi_pattern_text(pattern);
	if (!PG_ARGISNULL(2))
		issuer = mi_normalize_issuer(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	lock_role_for_update(roleid);
	mi_read_role_label(roleid, &label);

	/*
	 * Idempotent: the same identity with the same issuer pin, in any
	 * spelling that matches the same certificates (mi_identity_same,
	 * mi_issuer_same), is a no-op, whether bind() or a hand-written label
	 * put it there.
	 */
	for (int i = 0; i < label.nbindings; i++)
	{
		const MiBinding *b = &label.bindings[i];

		if (mi_identity_same(b->identity, canon) &&
			mi_issuer_same(b->issuer, issuer))
			PG_RETURN_VOID();
	}

	if (label.nbindings >= MI_MAX_BINDINGS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("role already has %d mtls_ident bindings", label.nbindings),
				 errhint("Bind a pattern (wildcard or regular expression) instead of many exact identities.")));

	mi_label_add(&label, canon, issuer);
	{
		char	   *text = mi_label_format(&label);

		if (strlen(text) > MI_MAX_LABEL_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("bindings of role would exceed %d bytes", MI_MAX_LABEL_LEN),
					 errhint("Bind a pattern (wildcard or regular expression) instead of many exact identities.")));
		pfree(text);
	}
	mi_write_role_label(roleid, &label);
	PG_RETURN_VOID();
}

Datum
mtls_ident_unbind(PG_FUNCTION_ARGS)
{
	Oid			roleid;
	char	   *identity;
	MiLabel		label;
	int			kept = 0;
	int			removed;

	require_arg(fcinfo, 0, "role");
	require_arg(fcinfo, 1, "identity");
	roleid = PG_GETARG_OID(0);
	identity = text_to_cstring(PG_GETARG_TEXT_PP(1));

	/*
	 * Remove every binding that names the same identity, however it was
	 * spelled -- by bind() or by hand in a label the check hook accepted:
	 * "sha256:AA:BB:..." finds "sha256:aabb...", "dns:DB.example.com."
	 * finds "dns:db.example.com", "ip:::1" finds "ip:0:0:0:0:0:0:0:1"
	 * (mi_identity_same).  A stored binding that no longer parses (a regex
	 * a newer rule refuses) is found by its exact text, so it can always be
	 * removed.
	 */
	lock_role_for_update(roleid);
	if (!mi_read_role_label(roleid, &label))
		PG_RETURN_BOOL(false);

	for (int i = 0; i < label.nbindings; i++)
	{
		if (mi_identity_same(label.bindings[i].identity, identity))
			continue;
		label.bindings[kept++] = label.bindings[i];
	}
	removed = label.nbindings - kept;
	label.nbindings = kept;
	if (removed > 0)
		mi_write_role_label(roleid, &label);
	PG_RETURN_BOOL(removed > 0);
}

Datum
mtls_ident_revoke_issued_before(PG_FUNCTION_ARGS)
{
	Oid			roleid;
	MiLabel		label;

	require_arg(fcinfo, 0, "role");
	roleid = PG_GETARG_OID(0);

	lock_role_for_update(roleid);
	mi_read_role_label(roleid, &label);
	if (PG_ARGISNULL(1))
	{
		/* NULL clears the cutoff */
		label.has_cutoff = false;
		label.cutoff = 0;
	}
	else
	{
		TimestampTz cutoff = PG_GETARG_TIMESTAMPTZ(1);

		if (TIMESTAMP_NOT_FINITE(cutoff))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revocation cutoff must be a finite timestamp")));
		label.has_cutoff = true;
		label.cutoff = cutoff;
	}
	mi_write_role_label(roleid, &label);
	PG_RETURN_VOID();
}

/*
 * _label_entries(label text) RETURNS TABLE(identity text, issuer text,
 * revoked_before timestamptz): one row per binding; a label with a cutoff
 * and no binding gives one row with a NULL identity.
 */
Datum
mtls_ident_label_entries(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *labeltext;
	MiLabel		label;
	char		err[256];
	Datum		values[3];
	bool		nulls[3];

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	labeltext = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!mi_label_parse(labeltext, strlen(labeltext), &label, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid mtls_ident label"),
				 errdetail("%s", err)));

	for (int i = 0; i < label.nbindings || (i == 0 && label.has_cutoff); i++)
	{
		memset(nulls, 0, sizeof(nulls));
		if (i < label.nbindings)
		{
			values[0] = CStringGetTextDatum(label.bindings[i].identity);
			if (label.bindings[i].issuer)
				values[1] = CStringGetTextDatum(label.bindings[i].issuer);
			else
				nulls[1] = true;
		}
		else
			nulls[0] = nulls[1] = true;
		if (label.has_cutoff)
			values[2] = TimestampTzGetDatum((TimestampTz) label.cutoff);
		else
			nulls[2] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(mtls_ident_identity_refusal);

/*
 * _identity_refusal(identity text) RETURNS text: NULL when bind() accepts
 * the identity, else why it refuses it (the DETAIL bind() would give).  It
 * runs the same parse and regex checks as bind() (mi_pattern_parse with
 * mi_pg_regex) and changes nothing; bindings_from_ident_map uses it so that
 * it never proposes an identity bind() refuses.  Callable by PUBLIC: it
 * tells no more than calling bind() on a role of one's own would.
 */
Datum
mtls_ident_identity_refusal(PG_FUNCTION_ARGS)
{
	char		err[MI_MAX_PATTERN_LEN + 1024];
	char	   *identity;
	MiPattern  *p;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	identity = text_to_cstring(PG_GETARG_TEXT_PP(0));
	err[0] = '\0';
	p = mi_pattern_parse(identity, strlen(identity), mi_pg_regex, NULL,
						 err, sizeof(err));
	if (p != NULL)
	{
		mi_pattern_free(p);
		PG_RETURN_NULL();
	}
	PG_RETURN_TEXT_P(cstring_to_text(err[0] ? err : "invalid identity"));
}
