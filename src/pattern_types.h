/*-------------------------------------------------------------------------
 *
 * pattern_types.h
 *		The names every pattern module shares: identity kinds, limits, the
 *		opaque compiled pattern and the regex callback.
 *
 * The bottom of the pattern family: pattern.h (the public interface),
 * pattern_int.h (what the pattern modules share inside) and each kind's
 * match_*.h build on it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_PATTERN_TYPES_H
#define MI_PATTERN_TYPES_H

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

/* most quantifiers ("*", "+", "?") in a regular expression (match_regex.c) */
#define MI_MAX_REGEX_QUANTIFIERS 32

typedef struct MiPattern MiPattern;	/* opaque, compiled */

/*
 * Regex callback.  To match, regex is the full, already anchored regular
 * expression (the pattern with {role} substituted and escaped, wrapped as
 * "^(?:...)$") and value/vlen the subject (at most MI_MAX_VALUE_LEN bytes).
 * Returns 1 on match, 0 on no match, -1 on error (an error never matches).
 * With value == NULL it must only compile regex as given (mi_pattern_parse
 * passes the body alone first, then the anchored form) and return 0 if it
 * is valid, -1 if not, writing a message to err.  The callback refuses (-1,
 * in both uses) an expression its engine cannot run in bounded time, e.g.
 * one that uses back-references or lookaround.
 */
typedef int (*MiRegexFn) (const char *regex, const char *value, size_t vlen,
						  void *arg, char *err, size_t errlen);

#endif							/* MI_PATTERN_TYPES_H */
