/*-------------------------------------------------------------------------
 *
 * match_email.c
 *		Email patterns: what a well-formed rfc822Name SAN is, the email:
 *		pattern syntax and how it matches (SPEC section 3).
 *
 * email: local@domain; the local part compared exactly, the domain labels
 * as dns: labels (case-insensitive) without trailing dot and without
 * wildcard; "*@domain" is any local part, in exactly that domain.
 *
 *-------------------------------------------------------------------------
 */
#include "match_dns.h"
#include "match_email.h"
#include "mi_alloc.h"

#include "mi_err.h"
#include "pattern_int.h"

/*
 * An email address that could ever match: printable ASCII without space
 * and "*", exactly one "@", non-empty local part and domain.  On success
 * *at is the position of the "@".
 */
bool
mi_email_wellformed(const char *v, size_t len, size_t *at)
{
	size_t		pos = len;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) v[i];

		if (!is_graph(c) || c == '*')
			return false;
		if (c == '@')
		{
			if (pos != len)
				return false;
			pos = i;
		}
	}
	if (pos == len || pos == 0 || pos == len - 1)
		return false;
	*at = pos;
	return true;
}

bool
mi_parse_email(MiPattern *p, char *err, size_t errlen)
{
	const char *b = p->body;
	int			len = p->blen;
	const char *at = memchr(b, '@', len);
	int			llen;

	if (at == NULL || memchr(at + 1, '@', len - (at + 1 - b)) != NULL ||
		at == b || at == b + len - 1)
	{
		mi_set_err(err, errlen, "email pattern must have the form local@domain");
		return false;
	}
	llen = (int) (at - b);
	p->local.s = b;
	p->local.len = llen;
	if (llen == 1 && b[0] == '*')
		p->local.star = true;
	else
	{
		for (int i = 0; i < llen; i++)
		{
			unsigned char c = (unsigned char) b[i];

			if (c == '{')
			{
				i += ROLE_TOKEN_LEN - 1;
				continue;
			}
			if (c == '*')
			{
				mi_set_err(err, errlen,
						"\"*\" is only allowed as the whole local part (\"*@domain\")");
				return false;
			}
			if (!is_graph(c))
			{
				mi_set_err(err, errlen,
						"the local part of an email pattern must be ASCII without spaces");
				return false;
			}
		}
	}
	p->nlabels = mi_split(at + 1, len - llen - 1, '.', &p->labels);
	if (!mi_check_labels(p->labels, p->nlabels, err, errlen))
		return false;
	return true;
}

bool
mi_match_email(const MiPattern *p, const char *role, size_t rlen,
			const char *v, size_t vlen)
{
	size_t		at;

	if (!mi_email_wellformed(v, vlen, &at))
		return false;
	if (!p->local.star &&
		!mi_tmpl_eq(p->local.s, p->local.len, role, rlen, v, at, false))
		return false;
	return mi_labels_match(p->labels, p->nlabels, 0, role, rlen,
						v + at + 1, vlen - at - 1);
}


/*
 * The comparison key of an email: pattern (not a regex): the local part as
 * written, the domain lowercase.  Allocated.
 */
char *
mi_email_key(const MiPattern *p)
{
	int			llen = p->local.len;
	char	   *k = (char *) mi_alloc0((size_t) p->blen + 7);

	memcpy(k, "email:", 6);
	memcpy(k + 6, p->body, (size_t) llen);
	for (int i = llen; i < p->blen; i++)
		k[6 + i] = (char) ascii_lower((unsigned char) p->body[i]);
	return k;
}
