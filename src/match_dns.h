/*-------------------------------------------------------------------------
 *
 * match_dns.h
 *		DNS patterns: well-formed names, labels (also for email domains), parsing and matching.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_MATCH_DNS_H
#define MI_MATCH_DNS_H

#include "pattern_int.h"

extern bool mi_dns_wellformed(const char *v, size_t len, size_t *name_len);
extern bool mi_check_labels(const MiSeg *labels, int n, char *err,
							size_t errlen);
extern bool mi_labels_match(const MiSeg *labels, int n, int skip,
							const char *role, size_t rlen,
							const char *v, size_t vlen);
extern bool mi_parse_dns(MiPattern *p, char *err, size_t errlen);
extern bool mi_match_dns(const MiPattern *p, const char *role, size_t rlen,
						 const char *v, size_t vlen);
extern bool mi_role_is_dns_label(const char *role, size_t rlen);
extern char *mi_dns_key(const MiPattern *p);

#endif							/* MI_MATCH_DNS_H */
