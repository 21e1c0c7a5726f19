/*-------------------------------------------------------------------------
 *
 * san_index.h
 *		The exact-binding prefilter (san_index.c).
 *
 * Pure logic: no backend dependencies.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_SAN_INDEX_H
#define MI_SAN_INDEX_H

#include "cert.h"

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

#endif							/* MI_SAN_INDEX_H */
