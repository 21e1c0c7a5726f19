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
#include "pattern_types.h"


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
 * The comparison key of a pattern (allocated): two patterns with the same
 * key match exactly the same values.  sha256 hex case and colons, dns case
 * and trailing dot, email domain case and ip address spellings
 * ("::1" = "0:0:0:0:0:0:0:1", "10.0.0.1" = "10.0.0.1/32") are folded;
 * uri, cn, dn and regexes compare as written (bytes are what they match).
 */
extern char *mi_pattern_key(const MiPattern *p);

/*
 * Do two identity texts name the same binding: equal text, or both parse
 * (without a regex engine) to the same key?  What unbind() and bind()'s
 * idempotence use, so a binding written by hand in any spelling the label
 * check accepted can be found again; a stored text that no longer parses
 * (a regex refused by a newer rule) is found by its exact text.
 */
extern bool mi_identity_same(const char *a, const char *b);

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

#endif							/* MI_PATTERN_H */
