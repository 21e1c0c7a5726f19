/*-------------------------------------------------------------------------
 *
 * decision.h
 *		The authorization rules of SPEC section 4, as one pure function.
 *
 * mi_decide() is the only implementation of the login rules.  The login
 * hook, the SQL function check(pem, role) and the enforcer's re-check of
 * live sessions all call it; none of them re-implements a rule.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_DECISION_H
#define MI_DECISION_H

#include "cert.h"
#include "pattern.h"

typedef enum MiReason
{
	MI_REASON_OK,
	MI_REASON_NO_BINDING,
	MI_REASON_NO_MATCH,
	MI_REASON_ISSUER_MISMATCH,
	MI_REASON_NO_CERTIFICATE,
	MI_REASON_REVOKED,
	MI_REASON_ISSUED_BEFORE_CUTOFF,
	MI_REASON_EXPIRED,
	MI_REASON_NOT_CLIENT_AUTH,
	MI_REASON_LIFETIME_TOO_LONG,
	MI_REASON_NO_ROLE,			/* role does not exist (recorded, always
								 * refused by PostgreSQL) */
	MI_REASON_OCSP_UNKNOWN,		/* hard OCSP: responder said unknown */
	MI_REASON_OCSP_UNAVAILABLE, /* hard OCSP: no valid answer in time */
	MI_NUM_REASONS
} MiReason;

/* one applicable binding, compiled */
typedef struct MiRule
{
	MiPattern  *pattern;
	const char *issuer;			/* issuer pin or NULL */
	const char *source_role;	/* role whose label holds the binding */
	bool		has_cutoff;		/* that role's revoke_issued_before cutoff */
	int64_t		cutoff_unix;	/* ... in Unix seconds, rounded up */
} MiRule;

/* every binding that applies to one login role, plus its cutoff */
typedef struct MiRuleSet
{
	MiRule	   *rules;
	int			nrules;
	int			nskipped;		/* exact bindings of the role left out because
								 * they cannot match the certificate at hand
								 * (mi_san_index_may_match): they still make
								 * the role bound */
	bool		has_cutoff;		/* the login role's own cutoff */
	int64_t		cutoff_unix;	/* revoke_issued_before, Unix seconds,
								 * rounded up */
} MiRuleSet;

/* does any binding apply to the role (compiled or left out)? */
static inline bool
mi_ruleset_bound(const MiRuleSet *set)
{
	return set != NULL && set->nrules + set->nskipped > 0;
}

typedef struct MiDecisionInput
{
	const MiCert *cert;			/* NULL: no verified certificate */
	const char *role;			/* role being logged into ({role}) */
	const MiRuleSet *rules;		/* applicable bindings (may be empty) */
	bool		method_is_trust;	/* pg_hba method was trust */
	bool		local_socket;	/* connection over a Unix socket */
	bool		exempt_local;	/* mtls_ident.exempt_local */
	bool		require_client_auth_eku;
	int64_t		max_lifetime;	/* seconds; 0 = no limit */
	bool		revoked;		/* caller looked up (issuer, serial) */
	int64_t		now;			/* Unix seconds */
	MiRegexFn	regex_fn;
	void	   *regex_arg;
} MiDecisionInput;

typedef struct MiDecision
{
	MiReason	reason;			/* MI_REASON_OK = allowed */
	bool		governed;		/* false: mtls_ident has no say (role not
								 * bound, method not trust, or no
								 * certificate and not bound); PostgreSQL's
								 * decision stands */
	int			matched_san;	/* index into cert->sans, or -1 */
	const MiRule *matched_rule; /* NULL unless a binding matched */
	char	   *identity;		/* typed identity that matched (allocated),
								 * or NULL */
} MiDecision;

extern void mi_decide(const MiDecisionInput *in, MiDecision *out);

/*
 * Rule 3's checks that need no binding (revoked, expired, not_client_auth,
 * lifetime_too_long; not the cutoffs, which live in labels), for a live
 * session whose bindings cannot be read; in->rules is ignored.
 */
extern MiReason mi_decide_certificate(const MiDecisionInput *in);

/* "ok", "no_binding", "no_match", ... */
extern const char *mi_reason_name(MiReason reason);

#endif							/* MI_DECISION_H */
