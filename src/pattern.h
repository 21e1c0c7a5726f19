/*-------------------------------------------------------------------------
 *
 * pattern.h
 *		Identity patterns ("kind:pattern") and matching them against a
 *		certificate (SPEC section 3).
 *
 * Pure logic: no backend dependencies.  Regular expressions are the one
 * thing this module cannot do itself (they use PostgreSQL's regex engine),
 * so they go through a callback supplied by the caller.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_PATTERN_H
#define MI_PATTERN_H

#include "cert.h"

typedef enum MiKind
{
	MI_KIND_URI,
	MI_KIND_DNS,
	MI_KIND_EMAIL,
	MI_KIND_IP,
	MI_KIND_CN,
	MI_KIND_DN,
	MI_KIND_SHA256
} MiKind;

/* longest identity text accepted by mi_pattern_parse */
#define MI_MAX_PATTERN_LEN 1024

typedef struct MiPattern MiPattern;	/* opaque, compiled */

/*
 * Regex callback.  regex is the full, already anchored regular expression
 * (the pattern with {role} substituted and escaped, wrapped as
 * "^(?:...)$").  value/vlen is the subject.  Returns 1 on match, 0 on no
 * match, -1 on error (an error never matches).  With value == NULL it must
 * only compile the regex and return 0 if it is valid, -1 if not, writing a
 * message to err.
 */
typedef int (*MiRegexFn) (const char *regex, const char *value, size_t vlen,
						  void *arg, char *err, size_t errlen);

/*
 * Parse "kind:pattern".  On failure return NULL and write a message that
 * names what is wrong to err (e.g. 'unknown identity kind "foo"',
 * 'invalid CIDR "10.0.0.0/33"').  regex_fn, when not NULL, is called to
 * validate a regex pattern (with {role} replaced by a sample role name).
 */
extern MiPattern *mi_pattern_parse(const char *text, size_t len,
								   MiRegexFn regex_fn, void *regex_arg,
								   char *err, size_t errlen);

extern void mi_pattern_free(MiPattern *p);

extern MiKind mi_pattern_kind(const MiPattern *p);

/* does the pattern contain {role}? */
extern bool mi_pattern_has_role(const MiPattern *p);

/*
 * The canonical text of the pattern ("kind:..."), as it is stored: e.g.
 * sha256 pins lowercase without colons.  Points into p.
 */
extern const char *mi_pattern_text(const MiPattern *p);

/*
 * Does the certificate match?  role is the role being logged into (used
 * for {role}).  On a match, *matched_san is the index of the SAN that
 * matched, or -1 when the match was on the subject (cn, dn) or the
 * fingerprint (sha256).  A hostile SAN or CN never matches.
 */
extern bool mi_pattern_match(const MiPattern *p, const MiCert *cert,
							 const char *role,
							 MiRegexFn regex_fn, void *regex_arg,
							 int *matched_san);

/*
 * Could this SAN ever match a pattern?  False for a hostile SAN: the
 * cert.c hostile flag, an unsupported SAN type, an IP SAN that is not 4 or
 * 16 bytes, or a URI/DNS/email value that breaks the rules of SPEC section 3
 * (NUL, non-ASCII or control bytes, a DNS name with "*" or an empty label,
 * a URI with %-escapes, a query, a fragment, "." / ".." or empty segments,
 * an email address without exactly one "@", ...).
 */
extern bool mi_san_wellformed(const MiSan *san);

/*
 * A prefilter that spares compiling bindings that cannot match: most of a
 * role's bindings are usually exact names, and compiling a pattern costs
 * far more than comparing two strings.  Built once per certificate from
 * its well-formed URI and DNS SANs.  mi_san_index_may_match() returns false
 * only when the stored identity is an exact "uri:" or "dns:" pattern (no
 * "*", no regex, no {role}) that is itself a well-formed SAN value and
 * equals none of the certificate's SANs of its kind under the matcher's
 * rules (URI: byte for byte; DNS: ASCII case-insensitive, one trailing dot
 * ignored) -- so mi_pattern_match could not return true for it.  Anything
 * else returns true: "compile and match it".  A NULL index returns true.
 */
typedef struct MiSanIndex MiSanIndex;

extern MiSanIndex *mi_san_index_build(const MiCert *cert);
extern bool mi_san_index_may_match(const MiSanIndex *ix,
								   const char *identity, size_t len);
extern void mi_san_index_free(MiSanIndex *ix);

/*
 * The two halves of mi_san_index_may_match, for callers that judge the same
 * identity against many certificates: is it a plain literal (the answer
 * depends on the identity alone), and if so, does the certificate have it?
 */
typedef enum MiLiteral
{
	MI_LITERAL_NONE,			/* not judged: compile it */
	MI_LITERAL_URI,
	MI_LITERAL_DNS
} MiLiteral;

extern MiLiteral mi_identity_literal(const char *identity, size_t len);
extern bool mi_san_index_has_literal(const MiSanIndex *ix, MiLiteral kind,
									 const char *identity, size_t len);

/*
 * Issuer pins: "sha256:<hex>" (colons optional, any case) or an RFC 2253
 * DN.  mi_issuer_normalize validates and returns the canonical stored form
 * (allocated), or NULL with a message in err.
 */
extern char *mi_issuer_normalize(const char *text, size_t len,
								 char *err, size_t errlen);

/* does the certificate's chain contain the pinned CA? */
extern bool mi_issuer_match(const char *issuer_pin, const MiCert *cert);

#endif							/* MI_PATTERN_H */
