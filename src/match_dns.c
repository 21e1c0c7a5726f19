/*-------------------------------------------------------------------------
 *
 * match_dns.c
 *		DNS patterns: what a well-formed DNS SAN is, the dns: pattern
 *		syntax and how a dns: pattern matches (SPEC section 3).
 *
 * dns: labels of [A-Za-z0-9_-], ASCII case-insensitive (the role name
 * substituted into a label too), one trailing dot ignored on each side; "*"
 * only as the whole leftmost label, followed by at least 2 labels.  The
 * label helpers here serve the domain of email: patterns too.
 *
 * {role} in a label matches only when the role name is itself a lowercase
 * DNS label ([a-z0-9_-], at most 63 bytes): names compare without case, so
 * otherwise roles "Dave" and "dave" would share one DNS identity.  A role
 * with an upper-case letter never matches a DNS name through {role}.
 *
 *-------------------------------------------------------------------------
 */
#include "match_dns.h"
#include "mi_alloc.h"

#include "mi_err.h"
#include "pattern_int.h"

/*
 * A DNS name that could ever match: [A-Za-z0-9_.-] only, one optional
 * trailing dot, no empty label.  On success *name_len is the length without
 * the trailing dot.
 */
bool
mi_dns_wellformed(const char *v, size_t len, size_t *name_len)
{
	if (len > 0 && v[len - 1] == '.')
		len--;
	if (len == 0 || v[0] == '.' || v[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) v[i];

		if (c == '.')
		{
			if (v[i + 1] == '.')	/* i + 1 < len: v[len - 1] != '.' */
				return false;
		}
		else if (!is_label_char(c))
			return false;
	}
	*name_len = len;
	return true;
}

/* labels of a DNS name or email domain: [A-Za-z0-9_-] and {role}, non-empty */
bool
mi_check_labels(const MiSeg *labels, int n, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++)
	{
		const MiSeg *l = &labels[i];

		if (l->len == 0)
		{
			mi_set_err(err, errlen, "empty label");
			return false;
		}
		for (int k = 0; k < l->len; k++)
		{
			unsigned char c = (unsigned char) l->s[k];

			if (c == '{')
			{
				k += ROLE_TOKEN_LEN - 1;
				continue;
			}
			if (c == '*')
			{
				mi_set_err(err, errlen,
						"\"*\" is only allowed as the whole leftmost label");
				return false;
			}
			if (!is_label_char(c))
			{
				if (c >= 0x80)
					mi_set_err(err, errlen,
							"non-ASCII character (labels may contain only letters, digits, \"-\" and \"_\")");
				else
					mi_set_err(err, errlen,
							"invalid character \"%c\" (labels may contain only letters, digits, \"-\" and \"_\")",
							c);
				return false;
			}
		}
	}
	return true;
}

/* can a role name stand for a DNS label ({role} in a dns: pattern)? */
bool
mi_role_is_dns_label(const char *role, size_t rlen)
{
	if (role == NULL || rlen == 0 || rlen > 63)
		return false;
	for (size_t i = 0; i < rlen; i++)
	{
		unsigned char c = (unsigned char) role[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_'))
			return false;
	}
	return true;
}

/*
 * Do the labels of v[0..vlen) (a well-formed name without trailing dot)
 * match labels[0..n), after skip leading labels that must merely exist?
 * A label with {role} never matches unless the role name is a lowercase
 * DNS label.
 */
bool
mi_labels_match(const MiSeg *labels, int n, int skip,
			 const char *role, size_t rlen, const char *v, size_t vlen)
{
	int			count = 1;
	int			k = 0;
	size_t		start = 0;

	if (!mi_role_is_dns_label(role, rlen))
		role = NULL;			/* a {role} label then matches nothing */
	for (size_t i = 0; i < vlen; i++)
		if (v[i] == '.')
			count++;
	if (count != n + skip)
		return false;
	for (size_t i = 0; i <= vlen; i++)
	{
		if (i == vlen || v[i] == '.')
		{
			if (k >= skip &&
				!mi_tmpl_eq(labels[k - skip].s, labels[k - skip].len, role, rlen,
						 v + start, i - start, true))
				return false;
			k++;
			start = i + 1;
		}
	}
	return true;
}

bool
mi_parse_dns(MiPattern *p, char *err, size_t errlen)
{
	int			len = p->blen;
	const char *b = p->body;
	int			first = 0;

	if (len > 0 && b[len - 1] == '.')
		len--;					/* one trailing dot is ignored */
	if (len == 0)
	{
		mi_set_err(err, errlen, "empty DNS name");
		return false;
	}
	p->nlabels = mi_split(b, len, '.', &p->labels);
	if (p->labels[0].len == 1 && p->labels[0].s[0] == '*')
	{
		p->dns_wild = true;
		p->labels[0].star = true;
		first = 1;
		if (p->nlabels - first < 2)
		{
			mi_set_err(err, errlen,
					"a wildcard DNS pattern needs at least two labels after \"*.\"");
			return false;
		}
	}
	return mi_check_labels(p->labels + first, p->nlabels - first, err, errlen);
}

bool
mi_match_dns(const MiPattern *p, const char *role, size_t rlen,
		  const char *v, size_t vlen)
{
	size_t		nlen;

	if (!mi_dns_wellformed(v, vlen, &nlen))
		return false;
	if (p->dns_wild)			/* labels[0] is the "*" */
		return mi_labels_match(p->labels + 1, p->nlabels - 1, 1, role, rlen,
							v, nlen);
	return mi_labels_match(p->labels, p->nlabels, 0, role, rlen, v, nlen);
}


/*
 * The comparison key of a dns: pattern (not a regex): lowercase, without
 * the trailing dot, so every spelling that matches the same names has the
 * same key.  Allocated.
 */
char *
mi_dns_key(const MiPattern *p)
{
	int			len = p->blen;
	char	   *k;

	if (len > 0 && p->body[len - 1] == '.')
		len--;
	k = (char *) mi_alloc0((size_t) len + 5);
	memcpy(k, "dns:", 4);
	for (int i = 0; i < len; i++)
		k[4 + i] = (char) ascii_lower((unsigned char) p->body[i]);
	return k;
}
