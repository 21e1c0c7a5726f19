/*-------------------------------------------------------------------------
 *
 * match_uri.c
 *		URI patterns: what a well-formed URI SAN is, the uri: pattern
 *		syntax and how a uri: pattern matches (SPEC section 3).
 *
 * uri: scheme://authority[/path], printable ASCII without space, "%", "?",
 * "#"; bytes compared exactly (scheme and authority included); no wildcard
 * in the authority; "*" a whole segment (exactly one segment), "**" only as
 * the final segment (one or more segments).  A URI SAN with a space,
 * %-escape, query, fragment, "." / ".." or empty segment (a trailing "/"
 * too), empty authority or no "scheme://" is hostile and never matches.
 * One shape check (uri_shape) serves both the SAN check and the
 * prefilter's "plain literal" test, each with its own byte set.
 *
 *-------------------------------------------------------------------------
 */
#include "match_uri.h"
#include "mi_alloc.h"

#include "mi_err.h"
#include "pattern_int.h"

static size_t
scheme_len(const char *v, size_t len)
{
	size_t		i;

	if (len == 0 || !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
		return 0;
	for (i = 1; i < len; i++)
	{
		unsigned char c = (unsigned char) v[i];

		if (!(is_alnum(c) || c == '+' || c == '.' || c == '-'))
			break;
	}
	return i;
}

static bool
dot_segment(const char *s, size_t len)
{
	return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

/* a set of bytes below 0x80, as a bitmap */
static inline bool
in_byteset(const uint64_t set[2], unsigned char c)
{
	return c < 128 && ((set[c >> 6] >> (c & 63)) & 1) != 0;
}

/* bytes of a URI SAN that could match: 0x21-0x7e except % ? # */
static const uint64_t uri_san_bytes[2] = {
	UINT64_C(0x7fffffd600000000), UINT64_C(0x7fffffffffffffff)
};

/* bytes of a plain URI literal: the above except * { } (pattern syntax) */
static const uint64_t uri_plain_bytes[2] = {
	UINT64_C(0x7ffffbd600000000), UINT64_C(0x57ffffffffffffff)
};

/*
 * Is v[0..len) of the form scheme://authority[/path], with a non-empty
 * authority, a path of non-empty segments other than "." and "..", and
 * only bytes of the set (the scheme's and the separators are in every set
 * used here)?  On success *prefix_len is the length of "scheme://authority".
 */
static bool
uri_shape(const char *v, size_t len, const uint64_t bytes[2],
		  size_t *prefix_len)
{
	size_t		s = scheme_len(v, len);
	size_t		i;
	size_t		start;

	if (s == 0 || len - s < 3 || memcmp(v + s, "://", 3) != 0)
		return false;
	start = i = s + 3;
	while (i < len && v[i] != '/')
	{
		if (!in_byteset(bytes, (unsigned char) v[i]))
			return false;
		i++;
	}
	if (i == start)
		return false;			/* empty authority */
	*prefix_len = i;
	while (i < len)
	{
		/* v[i] == '/': one path segment */
		start = ++i;
		while (i < len && v[i] != '/')
		{
			if (!in_byteset(bytes, (unsigned char) v[i]))
				return false;
			i++;
		}
		if (i == start || dot_segment(v + start, i - start))
			return false;
	}
	return true;
}

/*
 * A URI SAN that could ever match: printable ASCII without space, "%", "?"
 * and "#", of the form scheme://authority[/path] with a non-empty authority
 * and a path of non-empty segments other than "." and "..".  On success
 * *prefix_len is the length of "scheme://authority".
 */
bool
mi_uri_wellformed(const char *v, size_t len, size_t *prefix_len)
{
	return uri_shape(v, len, uri_san_bytes, prefix_len);
}

/*
 * Is v[0..len) a well-formed URI SAN value (mi_uri_wellformed) without "*",
 * "{" or "}" -- a URI pattern that can only match itself?
 */
bool
mi_uri_plain_literal(const char *v, size_t len)
{
	size_t		prefix_len;

	return uri_shape(v, len, uri_plain_bytes, &prefix_len);
}

bool
mi_parse_uri(MiPattern *p, char *err, size_t errlen)
{
	const char *b = p->body;
	int			len = p->blen;
	size_t		s;
	int			i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) b[i];

		if (!is_graph(c))
		{
			mi_set_err(err, errlen, "URI pattern must be ASCII without spaces");
			return false;
		}
		if (c == '%' || c == '?' || c == '#')
		{
			mi_set_err(err, errlen,
					"URI pattern must not contain \"%%\", \"?\" or \"#\"");
			return false;
		}
	}
	s = scheme_len(b, (size_t) len);
	if (s == 0 || (size_t) len - s < 3 || memcmp(b + s, "://", 3) != 0)
	{
		mi_set_err(err, errlen,
				"URI pattern must have the form scheme://authority[/path]");
		return false;
	}
	i = (int) s + 3;
	while (i < len && b[i] != '/')
	{
		if (b[i] == '*')
		{
			mi_set_err(err, errlen, "wildcards are not allowed in the URI authority");
			return false;
		}
		i++;
	}
	if (i == (int) s + 3)
	{
		mi_set_err(err, errlen, "URI pattern has an empty authority");
		return false;
	}
	p->uri_prefix.s = b;
	p->uri_prefix.len = i;
	if (i == len)
		return true;

	p->nsegs = mi_split(b + i + 1, len - i - 1, '/', &p->segs);
	for (int k = 0; k < p->nsegs; k++)
	{
		MiSeg	   *seg = &p->segs[k];
		bool		has_star = memchr(seg->s, '*', seg->len) != NULL;

		if (seg->len == 0)
		{
			mi_set_err(err, errlen,
					"URI pattern has an empty path segment (\"//\" or a trailing \"/\")");
			return false;
		}
		if (dot_segment(seg->s, seg->len))
		{
			mi_set_err(err, errlen,
					"URI pattern must not contain \".\" or \"..\" segments");
			return false;
		}
		if (!has_star)
			continue;
		if (seg->len == 1)
			seg->star = true;
		else if (seg->len == 2 && seg->s[0] == '*' && seg->s[1] == '*' &&
				 k == p->nsegs - 1)
		{
			p->uri_dstar = true;
			p->nsegs--;
		}
		else if (seg->len == 2 && seg->s[0] == '*' && seg->s[1] == '*')
		{
			mi_set_err(err, errlen,
					"\"**\" is only allowed as the final path segment");
			return false;
		}
		else
		{
			mi_set_err(err, errlen,
					"\"*\" is only allowed as a whole path segment");
			return false;
		}
	}
	return true;
}

bool
mi_match_uri(const MiPattern *p, const char *role, size_t rlen,
		  const char *v, size_t vlen)
{
	size_t		plen;
	size_t		i;
	size_t		start;
	int			k = 0;
	int			count = 0;

	if (!mi_uri_wellformed(v, vlen, &plen))
		return false;
	if (!mi_tmpl_eq(p->uri_prefix.s, p->uri_prefix.len, role, rlen, v, plen, false))
		return false;
	/* count the SAN's segments */
	for (i = plen; i < vlen; i++)
		if (v[i] == '/')
			count++;
	if (p->uri_dstar ? count < p->nsegs + 1 : count != p->nsegs)
		return false;
	if (p->nsegs == 0)
		return true;
	start = plen + 1;
	for (i = start; i <= vlen && k < p->nsegs; i++)
	{
		if (i == vlen || v[i] == '/')
		{
			const MiSeg *seg = &p->segs[k];

			if (!seg->star &&
				!mi_tmpl_eq(seg->s, seg->len, role, rlen, v + start, i - start, false))
				return false;
			k++;
			start = i + 1;
		}
	}
	return true;
}

