/*-------------------------------------------------------------------------
 *
 * bindings.c
 *		Bindings in the catalog: the mtls_ident security labels on roles.
 *
 * Every binding of a role, and its revoke_issued_before cutoff, live in
 * one security label (provider "mtls_ident") on the role, in pg_shseclabel.
 * That catalog is shared, so it can be read in ClientAuthentication_hook
 * before a database is chosen, and by the enforcer whatever database it
 * is connected to (if any: see enforcer.c).  Labels are transactional, replicate, are dumped by
 * pg_dumpall and vanish with DROP ROLE.
 *
 * Who may change a label: the SECURITY LABEL command checks ownership of
 * the role (CREATEROLE, and superuser for superuser roles, on PostgreSQL
 * 15; ADMIN OPTION on 16+) before calling mi_label_check_hook; the SQL
 * functions in sql_bindings.c make the same check_object_ownership() call.
 * Labels are not secret: pg_shseclabel is readable by every role.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_shseclabel.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "access/xact.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_collation.h"
#include "commands/seclabel.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/syscache.h"

#include "bindings.h"
#include "compat.h"
#include "format.h"
#include "issuer_pin.h"
#include "label_cache.h"
#include "san_index.h"
#include "settings.h"

/*
 * What PostgreSQL's regex compiler reports about an expression that the
 * pattern rules refuse (match_regex.c): back-references and lookaround
 * cannot be bounded in time; bounds cannot occur (braces are only {role})
 * and an unmatched ")" would escape the anchoring.  Checked when a pattern
 * is validated and again before every match, so an expression the pure
 * checks let through is still never run.  Non-greedy quantifiers
 * (REG_USHORTEST) change nothing in an anchored match and take a slower
 * path: refused as well.
 */
#define MI_REGEX_REFUSED_INFO \
	(REG_UBACKREF | REG_ULOOKAROUND | REG_UBOUNDS | REG_UPBOTCH | \
	 REG_USHORTEST)

static int
regex_refused(long info, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s",
				 (info & REG_UBACKREF) ?
				 "back-references are not allowed: their matching time cannot be bounded" :
				 (info & REG_ULOOKAROUND) ?
				 "lookahead and lookbehind constraints are not allowed: their matching time cannot be bounded" :
				 (info & REG_USHORTEST) ?
				 "non-greedy quantifiers are not allowed" :
				 "the regular expression uses a construct that is not allowed");
	return -1;
}

/*
 * Matching goes through RE_compile_and_cache, so a regex applied to every
 * SAN of a certificate is compiled once per backend, not once per SAN.
 * Validation (value == NULL) compiles directly, to report errors instead of
 * raising them.  The engine checks for interrupts while it runs (15's
 * returns REG_CANCEL and CHECK_FOR_INTERRUPTS here acts on it; 16 and later
 * act inside the engine), so a pending cancel, shutdown or
 * authentication_timeout acts at once.
 */
int
mi_pg_regex(const char *regex, const char *value, size_t vlen,
			void *arg, char *err, size_t errlen)
{
	size_t		rlen = strlen(regex);
	int			rc;

	(void) arg;
	CHECK_FOR_INTERRUPTS();

	/*
	 * An expression not valid in the encoding (a role name with a broken
	 * multibyte sequence, say) could swallow the characters that follow it
	 * when converted: never compiled.
	 */
	if (!pg_verifymbstr(regex, (int) rlen, true))
	{
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "the regular expression is not valid in the server encoding");
		return -1;
	}
	if (value == NULL)
	{
		pg_wchar   *wre = (pg_wchar *) palloc((rlen + 1) * sizeof(pg_wchar));
		int			wrelen = pg_mb2wchar_with_len(regex, wre, (int) rlen);
		regex_t		re;
		long		info;

		rc = pg_regcomp(&re, wre, wrelen, REG_ADVANCED, C_COLLATION_OID);
		pfree(wre);
		if (rc != REG_OKAY)
		{
			if (err != NULL && errlen > 0)
				pg_regerror(rc, &re, err, errlen);
			return -1;
		}
		info = re.re_info;
		pg_regfree(&re);
		if (info & MI_REGEX_REFUSED_INFO)
			return regex_refused(info, err, errlen);
		return 0;
	}
	else
	{
		regex_t    *re;
		pg_wchar   *wval;
		int			wlen;

		/* a value not valid in the current encoding never matches */
		if (vlen > MI_MAX_VALUE_LEN || !pg_verifymbstr(value, (int) vlen, true))
			return 0;
		re = RE_compile_and_cache(cstring_to_text_with_len(regex, (int) rlen),
								  REG_ADVANCED, C_COLLATION_OID);
		if (re->re_info & MI_REGEX_REFUSED_INFO)
			return regex_refused(re->re_info, err, errlen);
		wval = (pg_wchar *) palloc((vlen + 1) * sizeof(pg_wchar));
		wlen = pg_mb2wchar_with_len(value, wval, (int) vlen);
		rc = pg_regexec(re, wval, wlen, 0, NULL, 0, NULL, 0);
		pfree(wval);
		if (MI_REG_CANCELLED(rc))
			CHECK_FOR_INTERRUPTS();
		if (rc == REG_OKAY)
			return 1;
		if (rc == REG_NOMATCH)
			return 0;
		if (err != NULL && errlen > 0)
			pg_regerror(rc, re, err, errlen);
		return -1;
	}
}

MiPattern *
mi_compile_identity(const char *identity)
{
	char		err[MI_MAX_PATTERN_LEN + 1024];	/* messages quote the identity */
	MiPattern  *p;

	err[0] = '\0';
	p = mi_pattern_parse(identity, strlen(identity), mi_pg_regex, NULL,
						 err, sizeof(err));
	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid mtls_ident identity \"%.100s%s\"", identity,
						strlen(identity) > 100 ? "..." : ""),
				 errdetail("%s", err),
				 errhint("An identity is kind:pattern with kind one of uri, dns, email, ip, cn, dn, sha256.")));
	return p;
}

char *
mi_normalize_issuer(const char *issuer)
{
	char		err[256];
	char	   *n;

	err[0] = '\0';
	n = mi_issuer_normalize(issuer, strlen(issuer), err, sizeof(err));
	if (n == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid mtls_ident issuer \"%s\"", issuer),
				 errdetail("%s", err),
				 errhint("An issuer is the CA's RFC 2253 subject DN or sha256:<fingerprint of the CA certificate>.")));
	return n;
}

/* parse label text, raising an ERROR that names the problem */
static void
parse_label_or_error(const char *text, MiLabel *out, Oid roleid)
{
	char		err[256];

	err[0] = '\0';
	if (!mi_label_parse(text, strlen(text), out, err, sizeof(err)))
	{
		if (OidIsValid(roleid))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid mtls_ident label on role with OID %u", roleid),
					 errdetail("%s", err)));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid mtls_ident label"),
					 errdetail("%s", err),
					 errhint("Use mtls_ident.bind() and mtls_ident.unbind() rather than writing labels by hand.")));
	}
}

void
mi_label_check_hook(const ObjectAddress *object, const char *seclabel)
{
	MiLabel		label;

	if (object->classId != AuthIdRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("mtls_ident labels can only be set on roles")));

	if (seclabel == NULL)
		return;					/* removing the label is always fine */

	parse_label_or_error(seclabel, &label, InvalidOid);
	for (int i = 0; i < label.nbindings; i++)
	{
		mi_pattern_free(mi_compile_identity(label.bindings[i].identity));
		if (label.bindings[i].issuer != NULL)
			pfree(mi_normalize_issuer(label.bindings[i].issuer));
	}
	mi_label_free(&label);
}

/* set when a label could not be read yet (see fetch_label_text) */
static bool labels_deferred = false;

/*
 * The enforcer's per-sweep cache of parsed labels (mi_sweep_labels_begin):
 * a few hundred sessions of one role need its label parsed once a sweep,
 * not once a session.  A plain array: a sweep sees few distinct roles.
 */
typedef struct MiSweepLabel
{
	Oid			roleid;
	bool		found;
	MiLabel		label;
} MiSweepLabel;

static MemoryContext sweep_cxt = NULL;
static MiSweepLabel *sweep_labels = NULL;
static int	sweep_nlabels = 0;
static int	sweep_cap = 0;

void
mi_sweep_labels_begin(MemoryContext cxt)
{
	sweep_cxt = cxt;
	sweep_labels = NULL;
	sweep_nlabels = 0;
	sweep_cap = 0;
}

void
mi_sweep_labels_end(void)
{
	mi_sweep_labels_begin(NULL);	/* forget the entries; cxt owns them */
}

/*
 * A label stored out of line: from the shared label cache when it has it
 * (label_cache.c says why that is safe); else detoasted, which needs a
 * database, and then remembered.
 */
static char *
fetch_external_label(Oid roleid, HeapTuple tup, Datum d, bool shared_cache)
{
	struct varatt_external ptr;
	MiLabelKey	key;
	char	   *label;

	VARATT_EXTERNAL_GET_POINTER(ptr, DatumGetPointer(d));
	memset(&key, 0, sizeof(key));
	key.roleid = roleid;
	key.rawsize = (uint32) ptr.va_rawsize;
	key.extinfo = ptr.va_extinfo;
	key.valueid = ptr.va_valueid;
	key.toastrelid = ptr.va_toastrelid;
	key.xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	key.block = ItemPointerGetBlockNumberNoCheck(&tup->t_self);
	key.offset = ItemPointerGetOffsetNumberNoCheck(&tup->t_self);

	label = shared_cache ? mi_label_cache_get(&key) : NULL;
	if (label != NULL)
		return label;
	if (!OidIsValid(MyDatabaseId))
	{
		labels_deferred = true;
		return NULL;
	}
	label = TextDatumGetCString(d);
	mi_label_cache_put(&key, label, strlen(label));
	return label;
}

/*
 * Fetch the role's label text with one scan of pg_shseclabel (what
 * GetSecurityLabel does, but looking at the datum before detoasting it).
 * pg_shseclabel.label is moved to pg_toast_3592 once the row exceeds about
 * 2 kB compressed (some 20 bindings with incompressible identities).
 * Reading such a value opens the TOAST table through the relation cache,
 * which needs pg_class: impossible before a database is selected, and a
 * FATAL nothing can catch.  Unless the shared label cache has its text,
 * set labels_deferred and return NULL: the caller decides again once a
 * database is selected.
 */
static char *
fetch_label_text(Oid roleid, bool shared_cache)
{
	Relation	rel;
	ScanKeyData keys[3];
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *result = NULL;

	ScanKeyInit(&keys[0], Anum_pg_shseclabel_objoid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(roleid));
	ScanKeyInit(&keys[1], Anum_pg_shseclabel_classoid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(AuthIdRelationId));
	ScanKeyInit(&keys[2], Anum_pg_shseclabel_provider, BTEqualStrategyNumber,
				F_TEXTEQ, CStringGetTextDatum(MI_PROVIDER));
	rel = table_open(SharedSecLabelRelationId, AccessShareLock);

	/*
	 * pg_shseclabel itself is one of the critical shared catalogs every
	 * backend can open before a database is selected, but its index is
	 * only usable once the critical shared relcache entries are built:
	 * normally from the shared init file (global/pg_internal.init), which
	 * is missing for a while after a VACUUM or ANALYZE of a shared catalog.
	 * Then scan the heap, as GetSharedSecurityLabel does; opening the index
	 * would need pg_class, a FATAL in the login hook.
	 */
	scan = systable_beginscan(rel, SharedSecLabelObjectIndexId,
							  criticalSharedRelcachesBuilt, NULL, 3, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_shseclabel_label,
									 RelationGetDescr(rel), &isnull);

		if (isnull)
			;					/* not written by SECURITY LABEL; no label */
		else if (VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(d)))
			result = fetch_external_label(roleid, tup, d, shared_cache);
		else
			result = TextDatumGetCString(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* a new cache entry, "no label" until filled in (in sweep_cxt) */
static MiSweepLabel *
sweep_label_slot(Oid roleid)
{
	MiSweepLabel *c;

	if (sweep_nlabels == sweep_cap)
	{
		sweep_cap = sweep_cap == 0 ? 16 : sweep_cap * 2;
		sweep_labels = sweep_labels == NULL
			? MemoryContextAlloc(sweep_cxt, sizeof(MiSweepLabel) * sweep_cap)
			: repalloc(sweep_labels, sizeof(MiSweepLabel) * sweep_cap);
	}
	c = &sweep_labels[sweep_nlabels++];
	memset(c, 0, sizeof(*c));
	c->roleid = roleid;
	return c;
}

/*
 * shared_cache: may the text come from the shared label cache?  Only for
 * decisions (mi_collect_rules); bind() and friends read the catalog.
 */
static bool
read_role_label(Oid roleid, MiLabel *out, bool shared_cache)
{
	char	   *text;
	MemoryContext oldcxt = NULL;

	memset(out, 0, sizeof(*out));
	if (sweep_cxt != NULL)
	{
		for (int i = 0; i < sweep_nlabels; i++)
			if (sweep_labels[i].roleid == roleid)
			{
				*out = sweep_labels[i].label;
				return sweep_labels[i].found;
			}
	}

	text = fetch_label_text(roleid, shared_cache);
	if (text == NULL)
	{
		if (sweep_cxt != NULL && !labels_deferred)
			(void) sweep_label_slot(roleid);
		return false;
	}
	if (sweep_cxt != NULL)
		oldcxt = MemoryContextSwitchTo(sweep_cxt);
	parse_label_or_error(text, out, roleid);
	pfree(text);
	if (sweep_cxt != NULL)
	{
		MiSweepLabel *c = sweep_label_slot(roleid);

		c->found = true;
		c->label = *out;
		MemoryContextSwitchTo(oldcxt);
	}
	return true;
}

bool
mi_read_role_label(Oid roleid, MiLabel *out)
{
	return read_role_label(roleid, out, false);
}

void
mi_write_role_label(Oid roleid, const MiLabel *label)
{
	ObjectAddress addr;

	ObjectAddressSet(addr, AuthIdRelationId, roleid);
	if (label->nbindings == 0 && !label->has_cutoff)
		SetSecurityLabel(&addr, MI_PROVIDER, NULL);
	else
	{
		char	   *text = mi_label_format(label);

		SetSecurityLabel(&addr, MI_PROVIDER, text);
		pfree(text);
	}
	CommandCounterIncrement();
}

/* compile one stored binding into a rule */
static void
add_rule(MiRuleSet *set, int *cap, MiBinding *b, const char *source,
		 const MiLabel *label, bool templates_only, Oid roleid,
		 const MiSanIndex *ix)
{
	char		err[256];
	MiPattern  *p;
	MiRule	   *r;
	size_t		len = strlen(b->identity);

	/* a group's bindings apply to its members only with {role} */
	if (templates_only && strstr(b->identity, "{role}") == NULL)
		return;

	/*
	 * An exact binding of the role's own that names none of the
	 * certificate's SANs cannot match it: not compiled, but the role is
	 * still bound.  (Every binding applies with the same cutoff, the role's
	 * own, so leaving out one that cannot match changes no decision.)
	 */
	if (!templates_only && ix != NULL)
	{
		/* whether it is a literal depends on the identity alone: cached */
		if (b->literal == 0)
			b->literal = (signed char) (mi_identity_literal(b->identity, len) + 1);
		if (!mi_san_index_has_literal(ix, (MiLiteral) (b->literal - 1),
									  b->identity, len))
		{
			set->nskipped++;
			return;
		}
	}

	/*
	 * A stored binding that does not parse -- a regex refused by a rule
	 * newer than the label (one that escapes its anchoring, say), or a
	 * label damaged behind the check hook's back -- is never evaluated:
	 * it admits nothing, fails closed for this binding alone, and the role
	 * still counts as bound.  So logins through it are refused (no_match)
	 * and the enforcer ends the sessions that relied on it.  The server log
	 * names it (LOG: never sent to a client that is still logging in).
	 */
	err[0] = '\0';
	p = mi_pattern_parse(b->identity, len, NULL, NULL, err, sizeof(err));
	if (p == NULL)
	{
		ereport(LOG,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("mtls_ident: invalid binding \"%s\" on role with OID %u is not evaluated",
						b->identity, roleid),
				 errdetail("%s", err),
				 errhint("Remove it with mtls_ident.unbind() (by its exact text).")));
		set->nskipped++;
		return;
	}
	if (set->nrules == *cap)
	{
		*cap = *cap * 2;
		set->rules = repalloc(set->rules, sizeof(MiRule) * *cap);
	}
	r = &set->rules[set->nrules++];
	r->pattern = p;
	r->issuer = b->issuer;
	r->source_role = source;
	r->has_cutoff = label->has_cutoff;
	r->cutoff_unix = label->has_cutoff ?
		mi_timestamptz_to_unix_ceil(label->cutoff) : 0;
}

MiRuleSet *
mi_collect_rules(Oid roleid, const char *rolename, const MiCert *cert)
{
	MiRuleSet  *set = palloc0(sizeof(MiRuleSet));
	MiSanIndex *ix = cert != NULL ? mi_san_index_build(cert) : NULL;
	int			cap = 8;
	MiLabel		label;
	Oid		   *queue;
	int			qcap = 8;
	int			qhead = 0;
	int			qtail = 0;

	set->rules = palloc(sizeof(MiRule) * cap);
	labels_deferred = false;

	/* the role's own bindings all apply */
	if (read_role_label(roleid, &label, true))
	{
		for (int i = 0; i < label.nbindings; i++)
			add_rule(set, &cap, &label.bindings[i], rolename, &label, false,
					 roleid, ix);
		set->has_cutoff = label.has_cutoff;
		if (label.has_cutoff)
			set->cutoff_unix = mi_timestamptz_to_unix_ceil(label.cutoff);
	}

	/*
	 * The {role} bindings of every role it is a member of, directly or
	 * indirectly: a breadth-first walk over pg_auth_members.  The work grows
	 * with the number of memberships of this role, not with the number of
	 * roles or bindings in the cluster.
	 */
	queue = palloc(sizeof(Oid) * qcap);
	queue[qtail++] = roleid;
	while (qhead < qtail)
	{
		Oid			member = queue[qhead++];
		CatCList   *memlist;

		memlist = SearchSysCacheList1(AUTHMEMMEMROLE, ObjectIdGetDatum(member));
		for (int i = 0; i < memlist->n_members; i++)
		{
			HeapTuple	tup = &memlist->members[i]->tuple;
			Oid			group = ((Form_pg_auth_members) GETSTRUCT(tup))->roleid;
			bool		seen = false;

			for (int j = 0; j < qtail; j++)
				if (queue[j] == group)
					seen = true;
			if (seen)
				continue;
			if (qtail == qcap)
			{
				qcap *= 2;
				queue = repalloc(queue, sizeof(Oid) * qcap);
			}
			queue[qtail++] = group;
		}
		ReleaseSysCacheList(memlist);

		if (member != roleid && read_role_label(member, &label, true))
		{
			char	   *gname = GetUserNameFromId(member, true);

			for (int i = 0; i < label.nbindings; i++)
				add_rule(set, &cap, &label.bindings[i],
						 gname ? gname : "?", &label, true, member, NULL);
		}
	}
	pfree(queue);
	mi_san_index_free(ix);
	if (labels_deferred)
		return NULL;
	return set;
}
