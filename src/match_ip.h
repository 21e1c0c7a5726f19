/*-------------------------------------------------------------------------
 *
 * match_ip.h
 *		IP patterns: addresses and CIDR, parsing and matching.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_MATCH_IP_H
#define MI_MATCH_IP_H

#include "pattern_int.h"

extern bool mi_parse_ip(MiPattern *p, char *err, size_t errlen);
extern bool mi_match_ip(const MiPattern *p, const MiSan *san);
extern char *mi_ip_key(const MiPattern *p);

#endif							/* MI_MATCH_IP_H */
