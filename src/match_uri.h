/*-------------------------------------------------------------------------
 *
 * match_uri.h
 *		URI patterns: the shape of a well-formed URI SAN, parsing and matching.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_MATCH_URI_H
#define MI_MATCH_URI_H

#include "pattern_int.h"

extern bool mi_uri_wellformed(const char *v, size_t len, size_t *prefix_len);
extern bool mi_uri_plain_literal(const char *v, size_t len);
extern bool mi_parse_uri(MiPattern *p, char *err, size_t errlen);
extern bool mi_match_uri(const MiPattern *p, const char *role, size_t rlen,
						 const char *v, size_t vlen);

#endif							/* MI_MATCH_URI_H */
