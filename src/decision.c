/*-------------------------------------------------------------------------
 *
 * decision.c
 *		The authorization rules of SPEC section 4, as one pure function.
 *
 * mi_decide() takes everything it needs as arguments (the certificate, the
 * applicable bindings, the connection facts, the settings, the clock and
 * whether the certificate is revoked) and returns a reason code.  It reads
 * no catalog and no shared memory, so the login hook, check() and the
 * enforcer get the same answer for the same facts, and the unit tests and
 * fuzzers can drive it directly.
 *
 * Order of the checks, which decides the reason when several apply:
 *	  no certificate / no binding, then the bindings (no_match or
 *	  issuer_mismatch), then for a certificate that matched: revoked,
 *	  issued_before_cutoff (the login role's cutoff, and the cutoff of the
 *	  role of every binding that matches), expired, not_client_auth,
 *	  lifetime_too_long.
 *
 *-------------------------------------------------------------------------
 */
#include "issuer_pin.h"
#include "mi_alloc.h"

#include <stdio.h>

#include "decision.h"

static const char *const reason_names[MI_NUM_REASONS] = {
	[MI_REASON_OK] = "ok",
	[MI_REASON_NO_BINDING] = "no_binding",
	[MI_REASON_NO_MATCH] = "no_match",
	[MI_REASON_ISSUER_MISMATCH] = "issuer_mismatch",
	[MI_REASON_NO_CERTIFICATE] = "no_certificate",
	[MI_REASON_REVOKED] = "revoked",
	[MI_REASON_ISSUED_BEFORE_CUTOFF] = "issued_before_cutoff",
	[MI_REASON_EXPIRED] = "expired",
	[MI_REASON_NOT_CLIENT_AUTH] = "not_client_auth",
	[MI_REASON_LIFETIME_TOO_LONG] = "lifetime_too_long",
	[MI_REASON_NO_ROLE] = "no_role",
	[MI_REASON_OCSP_UNKNOWN] = "ocsp_unknown",
	[MI_REASON_OCSP_UNAVAILABLE] = "ocsp_unavailable",
};

const char *
mi_reason_name(MiReason reason)
{
	if ((int) reason < 0 || reason >= MI_NUM_REASONS)
		return "unknown";
	return reason_names[reason];
}

/* "cn:<value>" and the like, for identities that are not SANs */
static char *
typed_identity(const char *kind, const char *value, size_t len)
{
	size_t		klen = strlen(kind);
	char	   *s = (char *) mi_alloc0(klen + 1 + len + 1);

	memcpy(s, kind, klen);
	s[klen] = ':';
	memcpy(s + klen + 1, value, len);
	return s;
}

static char *
matched_identity(const MiCert *cert, const MiRule *rule, int matched_san)
{
	if (matched_san >= 0 && matched_san < cert->nsans)
		return mi_san_typed(&cert->sans[matched_san]);

	switch (mi_pattern_kind(rule->pattern))
	{
		case MI_KIND_CN:
			return typed_identity("cn", cert->cn ? cert->cn : "",
								  cert->cn ? (size_t) cert->cn_len : 0);
		case MI_KIND_DN:
			return typed_identity("dn", cert->subject_dn,
								  strlen(cert->subject_dn));
		case MI_KIND_SHA256:
			return typed_identity("sha256", cert->fingerprint,
								  strlen(cert->fingerprint));
		default:
			/* a SAN kind always reports its SAN; be safe anyway */
			return mi_strdup(mi_pattern_text(rule->pattern));
	}
}

/*
 * Is the certificate issued before the cutoff of any role whose binding
 * matches it?  Not only the first matching binding's: the answer must not
 * depend on the order of the bindings (two groups may both admit a member,
 * and a cutoff on either must hold).  Only rules whose cutoff the
 * certificate fails are matched again, so this is cheap.
 */
static bool
matching_cutoff_violated(const MiDecisionInput *in)
{
	const MiCert *cert = in->cert;

	for (int i = 0; i < in->rules->nrules; i++)
	{
		const MiRule *r = &in->rules->rules[i];
		int			san = -1;

		if (!r->has_cutoff || cert->not_before >= r->cutoff_unix)
			continue;
		if (mi_pattern_match(r->pattern, cert, in->role, in->regex_fn,
							 in->regex_arg, &san) &&
			(r->issuer == NULL || mi_issuer_match(r->issuer, cert)))
			return true;
	}
	return false;
}

/* the per-certificate checks of rule 3, for a certificate that matched */
static MiReason
certificate_checks(const MiDecisionInput *in)
{
	const MiCert *cert = in->cert;

	if (in->revoked)
		return MI_REASON_REVOKED;
	if (in->rules->has_cutoff && cert->not_before < in->rules->cutoff_unix)
		return MI_REASON_ISSUED_BEFORE_CUTOFF;
	if (matching_cutoff_violated(in))
		return MI_REASON_ISSUED_BEFORE_CUTOFF;
	/* notAfter is inclusive (RFC 5280 4.1.2.5) */
	if (in->now < cert->not_before || in->now > cert->not_after)
		return MI_REASON_EXPIRED;
	if (in->require_client_auth_eku && cert->has_eku && !cert->eku_client_auth)
		return MI_REASON_NOT_CLIENT_AUTH;
	if (in->max_lifetime > 0 &&
		cert->not_after - cert->not_before > in->max_lifetime)
		return MI_REASON_LIFETIME_TOO_LONG;
	return MI_REASON_OK;
}

void
mi_decide(const MiDecisionInput *in, MiDecision *out)
{
	bool		bound = mi_ruleset_bound(in->rules);
	bool		issuer_failed = false;
	const MiRule *matched = NULL;
	int			matched_san = -1;

	memset(out, 0, sizeof(*out));
	out->matched_san = -1;
	out->reason = MI_REASON_OK;

	/* Rule 2: no certificate */
	if (in->cert == NULL)
	{
		out->governed = bound;
		if (bound && !(in->local_socket && in->exempt_local))
			out->reason = MI_REASON_NO_CERTIFICATE;
		return;
	}

	/* Rule 1: a certificate, but the role has no applicable binding */
	if (!bound)
	{
		out->governed = in->method_is_trust;
		if (in->method_is_trust)
			out->reason = MI_REASON_NO_BINDING;
		return;
	}

	/* Rule 1: the certificate must match one of the bindings */
	out->governed = true;
	for (int i = 0; i < in->rules->nrules; i++)
	{
		const MiRule *rule = &in->rules->rules[i];
		int			san = -1;

		if (!mi_pattern_match(rule->pattern, in->cert, in->role,
							  in->regex_fn, in->regex_arg, &san))
			continue;
		if (rule->issuer != NULL && !mi_issuer_match(rule->issuer, in->cert))
		{
			issuer_failed = true;
			continue;
		}
		matched = rule;
		matched_san = san;
		break;
	}

	if (matched == NULL)
	{
		out->reason = issuer_failed ? MI_REASON_ISSUER_MISMATCH
			: MI_REASON_NO_MATCH;
		return;
	}

	out->matched_rule = matched;
	out->matched_san = matched_san;
	out->identity = matched_identity(in->cert, matched, matched_san);

	/* Rule 3: even a matching certificate must be good */
	out->reason = certificate_checks(in);
}

MiReason
mi_decide_certificate(const MiDecisionInput *in)
{
	MiRuleSet	none;
	MiDecisionInput copy = *in;

	memset(&none, 0, sizeof(none));
	copy.rules = &none;
	return certificate_checks(&copy);
}
