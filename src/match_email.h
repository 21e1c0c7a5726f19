/*-------------------------------------------------------------------------
 *
 * match_email.h
 *		Email patterns: well-formed addresses, parsing and matching.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_MATCH_EMAIL_H
#define MI_MATCH_EMAIL_H

#include "pattern_int.h"

extern bool mi_email_wellformed(const char *v, size_t len, size_t *at);
extern bool mi_parse_email(MiPattern *p, char *err, size_t errlen);
extern bool mi_match_email(const MiPattern *p, const char *role, size_t rlen,
						   const char *v, size_t vlen);
extern char *mi_email_key(const MiPattern *p);

#endif							/* MI_MATCH_EMAIL_H */
