/*-------------------------------------------------------------------------
 *
 * san_index.c
 *		The exact-binding prefilter: which stored identities cannot match
 *		a certificate without compiling them.
 *
 * Most of a role's bindings are usually exact names, and compiling a
 * pattern costs far more than comparing two strings.  The index is built
 * once per certificate from its well-formed URI and DNS SANs; pattern.h
 * says what mi_san_index_may_match promises.
 *
 *-------------------------------------------------------------------------
 */
#include "match_dns.h"
#include "match_uri.h"
#include "mi_alloc.h"

#include "mi_err.h"
#include "pattern.h"
#include "pattern_int.h"
#include "san_index.h"

typedef struct MiSanRef
{
	const char *v;
	size_t		len;			/* DNS: without the trailing dot */
} MiSanRef;

struct MiSanIndex
{
	MiSanRef   *uri;
	int			nuri;
	MiSanRef   *dns;
	int			ndns;
};

MiSanIndex *
mi_san_index_build(const MiCert *cert)
{
	MiSanIndex *ix = (MiSanIndex *) mi_alloc0(sizeof(MiSanIndex));

	if (cert == NULL || cert->nsans <= 0)
		return ix;
	ix->uri = (MiSanRef *) mi_alloc0(sizeof(MiSanRef) * (size_t) cert->nsans);
	ix->dns = (MiSanRef *) mi_alloc0(sizeof(MiSanRef) * (size_t) cert->nsans);
	for (int i = 0; i < cert->nsans; i++)
	{
		const MiSan *san = &cert->sans[i];
		size_t		nlen;

		if (!mi_san_wellformed(san))
			continue;
		if (san->kind == MI_SAN_URI)
		{
			ix->uri[ix->nuri].v = san->value;
			ix->uri[ix->nuri].len = (size_t) san->len;
			ix->nuri++;
		}
		else if (san->kind == MI_SAN_DNS &&
				 mi_dns_wellformed(san->value, (size_t) san->len, &nlen))
		{
			ix->dns[ix->ndns].v = san->value;
			ix->dns[ix->ndns].len = nlen;
			ix->ndns++;
		}
	}
	return ix;
}

void
mi_san_index_free(MiSanIndex *ix)
{
	if (ix == NULL)
		return;
	mi_free(ix->uri);
	mi_free(ix->dns);
	mi_free(ix);
}

static bool
ci_equal(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ascii_lower((unsigned char) a[i]) != ascii_lower((unsigned char) b[i]))
			return false;
	return true;
}

MiLiteral
mi_identity_literal(const char *identity, size_t len)
{
	const char *b = identity + 4;
	size_t		blen;
	size_t		nlen;

	if (identity == NULL || len < 4 || len > MI_MAX_PATTERN_LEN)
		return MI_LITERAL_NONE;
	blen = len - 4;

	/*
	 * Only a plain literal is judged: a wildcard, a regex ("~" cannot start
	 * a scheme or a DNS label) or {role} (or a stray brace, which the
	 * parser would refuse) is compiled.  So is a literal that is not a
	 * well-formed SAN value itself: the parser has the last word on it.
	 * For a literal that is, mi_match_uri() and mi_match_dns() come down to the
	 * comparisons of mi_san_index_has_literal().
	 */
	if (memcmp(identity, "uri:", 4) == 0)
		return mi_uri_plain_literal(b, blen) ? MI_LITERAL_URI : MI_LITERAL_NONE;
	if (memcmp(identity, "dns:", 4) == 0)
		return mi_dns_wellformed(b, blen, &nlen) ? MI_LITERAL_DNS : MI_LITERAL_NONE;
	return MI_LITERAL_NONE;
}

bool
mi_san_index_has_literal(const MiSanIndex *ix, MiLiteral kind,
						 const char *identity, size_t len)
{
	const char *b = identity + 4;
	size_t		blen = len - 4;

	if (ix == NULL || kind == MI_LITERAL_NONE || len < 4)
		return true;
	if (kind == MI_LITERAL_URI)
	{
		for (int i = 0; i < ix->nuri; i++)
			if (ix->uri[i].len == blen && memcmp(ix->uri[i].v, b, blen) == 0)
				return true;
		return false;
	}
	if (blen > 0 && b[blen - 1] == '.')
		blen--;					/* one trailing dot is ignored */
	for (int i = 0; i < ix->ndns; i++)
		if (ix->dns[i].len == blen && ci_equal(ix->dns[i].v, b, blen))
			return true;
	return false;
}

bool
mi_san_index_may_match(const MiSanIndex *ix, const char *identity, size_t len)
{
	if (ix == NULL)
		return true;
	return mi_san_index_has_literal(ix, mi_identity_literal(identity, len),
									identity, len);
}
