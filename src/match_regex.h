/*-------------------------------------------------------------------------
 *
 * match_regex.h
 *		Regex patterns: the refusals that keep a regex anchored and bounded, and the anchored form handed to the engine.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_MATCH_REGEX_H
#define MI_MATCH_REGEX_H

#include "pattern_int.h"

extern char *mi_regex_build(const MiPattern *p, const char *role);
extern char *mi_regex_build_body(const MiPattern *p, const char *role);
extern bool mi_regex_check(const char *body, int blen, char *err,
						   size_t errlen);

#endif							/* MI_MATCH_REGEX_H */
