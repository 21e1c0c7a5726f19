/*-------------------------------------------------------------------------
 *
 * pattern.c
 *		Identity patterns ("kind:pattern"): parsing, validation and matching
 *		against a certificate (SPEC section 3).
 *
 * A pattern is parsed once into an MiPattern that keeps its pieces as
 * pointers into the canonical text: the URI prefix and path segments, the
 * DNS labels, the email local part and domain labels, the IP address and
 * prefix, the SHA-256 digest.  Matching walks each SAN once, in place,
 * without allocating, so a certificate with thousands of SANs of thousands
 * of bytes costs time linear in its size.  Regular expressions are the one
 * thing done elsewhere: the caller's callback runs them (PostgreSQL's regex
 * engine in the backend); the anchored expression is built once per match
 * call, never per SAN.
 *
 * {role} stands for the role being logged into.  It is always substituted
 * as a literal: in a regular expression every ASCII character other than
 * [A-Za-z0-9_] of the role name is backslash-escaped; in the other kinds
 * the role name is compared byte for byte inside one URI segment, one DNS
 * label, the email local part or one domain label, so it can never act as
 * a wildcard or reach across a "/", "." or "@".
 *
 * Hostile SANs (see mi_san_wellformed) never match any pattern, exact,
 * wildcard or regex.
 *
 * The rules, in short (doc/matching.md is the reference):
 * - "kind:pattern", kind lowercase; at most MI_MAX_PATTERN_LEN bytes; no
 *	 control characters; "{" and "}" only as {role} (so a regex cannot use
 *	 "{n,m}" bounds); "~" starts a regex (not for ip, sha256), matched
 *	 against the whole value as "^(?:...)$".
 * - uri: scheme://authority[/path], printable ASCII without space, "%",
 *	 "?", "#"; bytes compared exactly (scheme and authority included); no
 *	 wildcard in the authority; "*" a whole segment (exactly one segment),
 *	 "**" only as the final segment (one or more segments).  A URI SAN
 *	 with a space, %-escape, query, fragment, "." / ".." or empty segment
 *	 (a trailing "/" too), empty authority or no "scheme://" is hostile.
 * - dns: labels of [A-Za-z0-9_-], ASCII case-insensitive (the role name
 *	 substituted into a label too), one trailing dot ignored on each side;
 *	 "*" only as the whole leftmost label, followed by at least 2 labels.
 * - email: local@domain; local part exact, domain labels as dns without
 *	 trailing dot and without wildcard; "*@domain" is any local part, in
 *	 exactly that domain.
 * - ip: address or CIDR; host bits set is an error; IPv4 and IPv6 never
 *	 match each other (::ffff:a.b.c.d is IPv6 only).
 * - cn, dn: exact bytes ("*" is literal); sha256: 64 hex digits, colons
 *	 ignored, canonical lowercase without colons.
 * - Regex subjects are the raw SAN value (a DNS SAN's trailing dot and
 *	 case included), the CN, or the subject DN.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "mi_err.h"
#include "pattern.h"

#define ROLE_TOKEN		"{role}"
#define ROLE_TOKEN_LEN	6

/* a piece of the pattern text; star: a "*" wildcard */
typedef struct MiSeg
{
	const char *s;
	int			len;
	bool		star;
} MiSeg;

struct MiPattern
{
	MiKind		kind;
	bool		is_regex;
	bool		has_role;
	int			nrole;			/* occurrences of {role} in body */
	char	   *text;			/* canonical "kind:pattern" */
	const char *body;			/* into text: after "kind:" (and "~") */
	int			blen;

	/* uri: "scheme://authority", the path segments, a final "**" segment */
	MiSeg		uri_prefix;
	MiSeg	   *segs;
	int			nsegs;
	bool		uri_dstar;

	/* dns, and the domain of email: labels, leftmost first */
	MiSeg	   *labels;
	int			nlabels;
	bool		dns_wild;		/* labels[0] is "*" */

	/* email local part */
	MiSeg		local;

	/* ip */
	unsigned char ip[16];
	int			iplen;
	int			prefix;

	/* sha256 */
	unsigned char digest[32];
};

static const struct
{
	const char *name;
	MiKind		kind;
}			kind_names[] =
{
	{"uri", MI_KIND_URI},
	{"dns", MI_KIND_DNS},
	{"email", MI_KIND_EMAIL},
	{"ip", MI_KIND_IP},
	{"cn", MI_KIND_CN},
	{"dn", MI_KIND_DN},
	{"sha256", MI_KIND_SHA256},
};

#define NUM_KINDS ((int) (sizeof(kind_names) / sizeof(kind_names[0])))

static const char *
kind_name(MiKind kind)
{
	for (int i = 0; i < NUM_KINDS; i++)
		if (kind_names[i].kind == kind)
			return kind_names[i].name;
	return "?";
}

static inline unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + ('a' - 'A')) : c;
}

static inline bool
is_ctrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* printable ASCII other than space */
static inline bool
is_graph(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static inline bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9');
}

/* a character of a DNS label: [A-Za-z0-9_-] */
static inline bool
is_label_char(unsigned char c)
{
	return is_alnum(c) || c == '_' || c == '-';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool
is_role_token(const char *s, size_t len)
{
	return len >= ROLE_TOKEN_LEN && memcmp(s, ROLE_TOKEN, ROLE_TOKEN_LEN) == 0;
}

/*
 * Does v[0..vlen) equal the template t[0..tlen) with every {role} replaced
 * by role?  The parser made sure every "{" in a template starts {role}.
 * ci: compare ASCII letters case-insensitively.  Linear in tlen + vlen.
 */
static bool
tmpl_eq(const char *t, int tlen, const char *role, size_t rlen,
		const char *v, size_t vlen, bool ci)
{
	size_t		vi = 0;
	int			ti = 0;

	while (ti < tlen)
	{
		if (t[ti] == '{')
		{
			if (role == NULL || vlen - vi < rlen)
				return false;
			for (size_t k = 0; k < rlen; k++)
			{
				unsigned char a = (unsigned char) role[k];
				unsigned char b = (unsigned char) v[vi + k];

				if (ci ? ascii_lower(a) != ascii_lower(b) : a != b)
					return false;
			}
			vi += rlen;
			ti += ROLE_TOKEN_LEN;
			continue;
		}
		if (vi >= vlen)
			return false;
		if (ci ? ascii_lower((unsigned char) t[ti]) != ascii_lower((unsigned char) v[vi])
			: t[ti] != v[vi])
			return false;
		ti++;
		vi++;
	}
	return vi == vlen;
}

/* split s[0..len) at sep into segs (allocated); returns the count */
static int
split(const char *s, int len, char sep, MiSeg **out)
{
	int			n = 1;
	int			start = 0;
	int			k = 0;
	MiSeg	   *segs;

	for (int i = 0; i < len; i++)
		if (s[i] == sep)
			n++;
	segs = (MiSeg *) mi_alloc0(sizeof(MiSeg) * n);
	for (int i = 0; i <= len; i++)
	{
		if (i == len || s[i] == sep)
		{
			segs[k].s = s + start;
			segs[k].len = i - start;
			k++;
			start = i + 1;
		}
	}
	*out = segs;
	return n;
}

/* ----------------------------------------------------------------
 * Well-formed SANs
 * ----------------------------------------------------------------
 */

/* length of a URI scheme at the start of v ([A-Za-z][A-Za-z0-9+.-]*), 0 if none */
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
static bool
uri_wellformed(const char *v, size_t len, size_t *prefix_len)
{
	return uri_shape(v, len, uri_san_bytes, prefix_len);
}

/*
 * A DNS name that could ever match: [A-Za-z0-9_.-] only, one optional
 * trailing dot, no empty label.  On success *name_len is the length without
 * the trailing dot.
 */
static bool
dns_wellformed(const char *v, size_t len, size_t *name_len)
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

/*
 * An email address that could ever match: printable ASCII without space
 * and "*", exactly one "@", non-empty local part and domain.  On success
 * *at is the position of the "@".
 */
static bool
email_wellformed(const char *v, size_t len, size_t *at)
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
mi_san_wellformed(const MiSan *san)
{
	size_t		dummy;

	if (san == NULL || san->hostile)
		return false;
	if (san->kind == MI_SAN_IP)
		return san->iplen == 4 || san->iplen == 16;
	if (san->value == NULL || san->len < 0 || san->len > MI_MAX_VALUE_LEN)
		return false;
	switch (san->kind)
	{
		case MI_SAN_URI:
			return uri_wellformed(san->value, (size_t) san->len, &dummy);
		case MI_SAN_DNS:
			return dns_wellformed(san->value, (size_t) san->len, &dummy);
		case MI_SAN_EMAIL:
			return email_wellformed(san->value, (size_t) san->len, &dummy);
		default:
			return false;
	}
}

/* ----------------------------------------------------------------
 * Parsing
 * ----------------------------------------------------------------
 */

/* labels of a DNS name or email domain: [A-Za-z0-9_-] and {role}, non-empty */
static bool
check_labels(const MiSeg *labels, int n, char *err, size_t errlen)
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

static bool
parse_uri(MiPattern *p, char *err, size_t errlen)
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

	p->nsegs = split(b + i + 1, len - i - 1, '/', &p->segs);
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

static bool
parse_dns(MiPattern *p, char *err, size_t errlen)
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
	p->nlabels = split(b, len, '.', &p->labels);
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
	return check_labels(p->labels + first, p->nlabels - first, err, errlen);
}

static bool
parse_email(MiPattern *p, char *err, size_t errlen)
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
	p->nlabels = split(at + 1, len - llen - 1, '.', &p->labels);
	if (!check_labels(p->labels, p->nlabels, err, errlen))
		return false;
	return true;
}

static bool
parse_ip(MiPattern *p, char *err, size_t errlen)
{
	const char *b = p->body;
	int			len = p->blen;
	const char *slash = memchr(b, '/', len);
	int			alen = slash ? (int) (slash - b) : len;
	char		buf[64];
	int			maxbits;

	if (alen <= 0 || alen >= (int) sizeof(buf))
		goto bad_addr;
	memcpy(buf, b, alen);
	buf[alen] = '\0';
	if (memchr(buf, ':', alen) != NULL)
	{
		if (inet_pton(AF_INET6, buf, p->ip) != 1)
			goto bad_addr;
		p->iplen = 16;
	}
	else
	{
		if (inet_pton(AF_INET, buf, p->ip) != 1)
			goto bad_addr;
		p->iplen = 4;
	}
	maxbits = p->iplen * 8;
	p->prefix = maxbits;
	if (slash != NULL)
	{
		const char *d = slash + 1;
		int			dlen = len - alen - 1;
		int			v = 0;

		if (dlen < 1 || dlen > 3 || (dlen > 1 && d[0] == '0'))
			goto bad_cidr;
		for (int i = 0; i < dlen; i++)
		{
			if (d[i] < '0' || d[i] > '9')
				goto bad_cidr;
			v = v * 10 + (d[i] - '0');
		}
		if (v > maxbits)
			goto bad_cidr;
		p->prefix = v;
		/* no host bits may be set */
		for (int bit = v; bit < maxbits; bit++)
		{
			if (p->ip[bit / 8] & (0x80 >> (bit % 8)))
			{
				unsigned char net[16];
				char		nbuf[64];

				memcpy(net, p->ip, sizeof(net));
				for (int k = v; k < maxbits; k++)
					net[k / 8] &= (unsigned char) ~(0x80 >> (k % 8));
				if (inet_ntop(p->iplen == 4 ? AF_INET : AF_INET6, net,
							  nbuf, sizeof(nbuf)) == NULL)
					nbuf[0] = '\0';
				mi_set_err(err, errlen,
						"invalid CIDR \"%.*s\": host bits are set (the network is %s/%d)",
						len, b, nbuf, v);
				return false;
			}
		}
	}
	return true;

bad_addr:
	mi_set_err(err, errlen, "invalid IP address \"%.*s\"", len, b);
	return false;
bad_cidr:
	mi_set_err(err, errlen, "invalid CIDR \"%.*s\"", len, b);
	return false;
}

/* 64 hex digits, colons anywhere ignored; false if not */
static bool
parse_hex_digest(const char *s, size_t len, unsigned char *digest)
{
	int			n = 0;

	for (size_t i = 0; i < len; i++)
	{
		int			hv;

		if (s[i] == ':')
			continue;
		hv = hex_value((unsigned char) s[i]);
		if (hv < 0 || n >= 64)
			return false;
		if (n % 2 == 0)
			digest[n / 2] = (unsigned char) (hv << 4);
		else
			digest[n / 2] |= (unsigned char) hv;
		n++;
	}
	return n == 64;
}

/* "sha256:" + 64 lowercase hex digits, allocated */
static char *
digest_text(const unsigned char *digest)
{
	static const char hex[] = "0123456789abcdef";
	char	   *t = (char *) mi_alloc0(7 + 64 + 1);

	memcpy(t, "sha256:", 7);
	for (int i = 0; i < 32; i++)
	{
		t[7 + 2 * i] = hex[digest[i] >> 4];
		t[7 + 2 * i + 1] = hex[digest[i] & 0xf];
	}
	return t;
}

/*
 * The regex for matching: "^(?:" + body with {role} replaced by role
 * (non-[A-Za-z0-9_] ASCII escaped) + ")$".  Allocated.
 */
static char *
build_regex(const MiPattern *p, const char *role)
{
	size_t		rlen = strlen(role);
	size_t		size = 4 + (size_t) p->blen + (size_t) p->nrole * (2 * rlen + 4) + 2 + 1;
	char	   *rx = (char *) mi_alloc0(size);
	char	   *o = rx;

	memcpy(o, "^(?:", 4);
	o += 4;
	for (int i = 0; i < p->blen; i++)
	{
		if (p->body[i] == '{')
		{
			/* a group, so that a following quantifier applies to all of it */
			memcpy(o, "(?:", 3);
			o += 3;
			for (size_t k = 0; k < rlen; k++)
			{
				unsigned char c = (unsigned char) role[k];

				if (c < 0x80 && !is_alnum(c) && c != '_')
					*o++ = '\\';
				*o++ = (char) c;
			}
			*o++ = ')';
			i += ROLE_TOKEN_LEN - 1;
			continue;
		}
		*o++ = p->body[i];
	}
	memcpy(o, ")$", 2);
	return rx;
}

MiPattern *
mi_pattern_parse(const char *text, size_t len,
				 MiRegexFn regex_fn, void *regex_arg,
				 char *err, size_t errlen)
{
	MiPattern  *p;
	const char *colon;
	size_t		klen;
	int			kind = -1;
	size_t		off;
	bool		ok;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL)
	{
		mi_set_err(err, errlen, "identity is missing");
		return NULL;
	}
	if (len > MI_MAX_PATTERN_LEN)
	{
		mi_set_err(err, errlen, "identity is too long (%zu bytes, at most %d)",
				len, MI_MAX_PATTERN_LEN);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (is_ctrl((unsigned char) text[i]))
		{
			mi_set_err(err, errlen,
					"identity contains a control character (0x%02x)",
					(unsigned char) text[i]);
			return NULL;
		}
	}
	colon = memchr(text, ':', len);
	if (colon == NULL)
	{
		mi_set_err(err, errlen,
				"identity \"%.*s\" must have the form kind:pattern (kind is uri, dns, email, ip, cn, dn or sha256)",
				(int) len, text);
		return NULL;
	}
	klen = (size_t) (colon - text);
	for (int i = 0; i < NUM_KINDS; i++)
	{
		if (strlen(kind_names[i].name) == klen &&
			memcmp(kind_names[i].name, text, klen) == 0)
		{
			kind = (int) kind_names[i].kind;
			break;
		}
	}
	if (kind < 0)
	{
		mi_set_err(err, errlen, "unknown identity kind \"%.*s\"",
				mi_utf8_prefix(text, klen, 64), text);
		return NULL;
	}
	off = klen + 1;
	if (off == len)
	{
		mi_set_err(err, errlen, "empty pattern in identity \"%.*s\"",
				(int) len, text);
		return NULL;
	}

	p = (MiPattern *) mi_alloc0(sizeof(MiPattern));
	p->kind = (MiKind) kind;
	p->text = mi_strndup(text, len);
	if (text[off] == '~')
	{
		p->is_regex = true;
		off++;
	}
	p->body = p->text + off;
	p->blen = (int) (len - off);

	/* {role}, and no other braces */
	for (int i = 0; i < p->blen; i++)
	{
		char		c = p->body[i];

		if (c == '{' && is_role_token(p->body + i, (size_t) (p->blen - i)))
		{
			int			nbs = 0;

			/*
			 * In a regex, "\{role}" would make the role's first character
			 * part of an escape ("\d", "\w", ...): refuse an odd run of
			 * backslashes before {role}.
			 */
			for (int k = i - 1; k >= 0 && p->body[k] == '\\'; k--)
				nbs++;
			if (p->is_regex && (nbs & 1))
			{
				mi_set_err(err, errlen,
						"a backslash must not precede {role} in the regular expression of identity \"%.*s\"",
						(int) len, text);
				goto fail;
			}
			p->nrole++;
			i += ROLE_TOKEN_LEN - 1;
		}
		else if (c == '{' || c == '}')
		{
			mi_set_err(err, errlen,
					"invalid \"%c\" in identity \"%.*s\" (only {role} may be written in braces)",
					c, (int) len, text);
			goto fail;
		}
	}
	p->has_role = p->nrole > 0;

	if (p->is_regex &&
		(p->kind == MI_KIND_IP || p->kind == MI_KIND_SHA256))
	{
		mi_set_err(err, errlen,
				"regular expressions are not supported for identity kind \"%s\"",
				kind_name(p->kind));
		goto fail;
	}
	if (p->has_role &&
		(p->kind == MI_KIND_IP || p->kind == MI_KIND_SHA256))
	{
		mi_set_err(err, errlen,
				"{role} is not supported for identity kind \"%s\"",
				kind_name(p->kind));
		goto fail;
	}
	if (p->blen == 0)
	{
		mi_set_err(err, errlen, "empty regular expression in identity \"%.*s\"",
				(int) len, text);
		goto fail;
	}

	if (p->is_regex)
	{
		ok = true;
		if (regex_fn != NULL)
		{
			char	   *rx = build_regex(p, "r");
			char		rxerr[256];
			int			rc;

			rxerr[0] = '\0';
			rc = regex_fn(rx, NULL, 0, regex_arg, rxerr, sizeof(rxerr));
			mi_free(rx);
			if (rc != 0)
			{
				mi_set_err(err, errlen,
						"invalid regular expression in identity \"%.*s\": %s",
						(int) len, text, rxerr[0] ? rxerr : "error");
				goto fail;
			}
		}
	}
	else
	{
		char		kerr[256];

		kerr[0] = '\0';
		switch (p->kind)
		{
			case MI_KIND_URI:
				ok = parse_uri(p, kerr, sizeof(kerr));
				break;
			case MI_KIND_DNS:
				ok = parse_dns(p, kerr, sizeof(kerr));
				break;
			case MI_KIND_EMAIL:
				ok = parse_email(p, kerr, sizeof(kerr));
				break;
			case MI_KIND_IP:
				ok = parse_ip(p, err, errlen);
				if (!ok)
					goto fail;
				break;
			case MI_KIND_SHA256:
				ok = parse_hex_digest(p->body, (size_t) p->blen, p->digest);
				if (!ok)
				{
					mi_set_err(err, errlen,
							"invalid sha256 fingerprint \"%.*s\" (expected 64 hex digits, colons optional)",
							p->blen, p->body);
					goto fail;
				}
				mi_free(p->text);
				p->text = digest_text(p->digest);
				p->body = p->text + 7;
				p->blen = 64;
				break;
			case MI_KIND_CN:
			case MI_KIND_DN:
			default:
				ok = true;
				break;
		}
		if (!ok)
		{
			mi_set_err(err, errlen, "invalid %s pattern \"%.*s\": %s",
					kind_name(p->kind), p->blen, p->body, kerr);
			goto fail;
		}
	}
	return p;

fail:
	mi_pattern_free(p);
	return NULL;
}

void
mi_pattern_free(MiPattern *p)
{
	if (p == NULL)
		return;
	mi_free(p->segs);
	mi_free(p->labels);
	mi_free(p->text);
	mi_free(p);
}

MiKind
mi_pattern_kind(const MiPattern *p)
{
	return p->kind;
}

bool
mi_pattern_has_role(const MiPattern *p)
{
	return p->has_role;
}

const char *
mi_pattern_text(const MiPattern *p)
{
	return p->text;
}

/* ----------------------------------------------------------------
 * Matching
 * ----------------------------------------------------------------
 */

/*
 * Do the labels of v[0..vlen) (a well-formed name without trailing dot)
 * match labels[0..n), after skip leading labels that must merely exist?
 */
static bool
labels_match(const MiSeg *labels, int n, int skip,
			 const char *role, size_t rlen, const char *v, size_t vlen)
{
	int			count = 1;
	int			k = 0;
	size_t		start = 0;

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
				!tmpl_eq(labels[k - skip].s, labels[k - skip].len, role, rlen,
						 v + start, i - start, true))
				return false;
			k++;
			start = i + 1;
		}
	}
	return true;
}

static bool
match_uri(const MiPattern *p, const char *role, size_t rlen,
		  const char *v, size_t vlen)
{
	size_t		plen;
	size_t		i;
	size_t		start;
	int			k = 0;
	int			count = 0;

	if (!uri_wellformed(v, vlen, &plen))
		return false;
	if (!tmpl_eq(p->uri_prefix.s, p->uri_prefix.len, role, rlen, v, plen, false))
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
				!tmpl_eq(seg->s, seg->len, role, rlen, v + start, i - start, false))
				return false;
			k++;
			start = i + 1;
		}
	}
	return true;
}

static bool
match_dns(const MiPattern *p, const char *role, size_t rlen,
		  const char *v, size_t vlen)
{
	size_t		nlen;

	if (!dns_wellformed(v, vlen, &nlen))
		return false;
	if (p->dns_wild)			/* labels[0] is the "*" */
		return labels_match(p->labels + 1, p->nlabels - 1, 1, role, rlen,
							v, nlen);
	return labels_match(p->labels, p->nlabels, 0, role, rlen, v, nlen);
}

static bool
match_email(const MiPattern *p, const char *role, size_t rlen,
			const char *v, size_t vlen)
{
	size_t		at;

	if (!email_wellformed(v, vlen, &at))
		return false;
	if (!p->local.star &&
		!tmpl_eq(p->local.s, p->local.len, role, rlen, v, at, false))
		return false;
	return labels_match(p->labels, p->nlabels, 0, role, rlen,
						v + at + 1, vlen - at - 1);
}

static bool
match_ip(const MiPattern *p, const MiSan *san)
{
	int			full = p->prefix / 8;
	int			rest = p->prefix % 8;

	if (san->iplen != p->iplen)
		return false;
	if (memcmp(san->ip, p->ip, full) != 0)
		return false;
	if (rest != 0)
	{
		unsigned char mask = (unsigned char) (0xff << (8 - rest));

		if ((san->ip[full] & mask) != (p->ip[full] & mask))
			return false;
	}
	return true;
}

static MiSanKind
san_kind_of(MiKind kind)
{
	switch (kind)
	{
		case MI_KIND_URI:
			return MI_SAN_URI;
		case MI_KIND_DNS:
			return MI_SAN_DNS;
		case MI_KIND_EMAIL:
			return MI_SAN_EMAIL;
		case MI_KIND_IP:
			return MI_SAN_IP;
		default:
			return MI_SAN_OTHER;
	}
}

static bool
run_regex(const char *rx, const char *v, size_t vlen,
		  MiRegexFn regex_fn, void *regex_arg)
{
	char		rxerr[256];

	rxerr[0] = '\0';
	return regex_fn(rx, v, vlen, regex_arg, rxerr, sizeof(rxerr)) == 1;
}

bool
mi_pattern_match(const MiPattern *p, const MiCert *cert,
				 const char *role,
				 MiRegexFn regex_fn, void *regex_arg,
				 int *matched_san)
{
	size_t		rlen;
	char	   *rx = NULL;
	bool		found = false;

	if (matched_san != NULL)
		*matched_san = -1;
	if (p == NULL || cert == NULL)
		return false;
	if (p->has_role && role == NULL)
		return false;
	rlen = role ? strlen(role) : 0;
	if (p->is_regex)
	{
		if (regex_fn == NULL)
			return false;
		rx = build_regex(p, role ? role : "");
	}

	switch (p->kind)
	{
		case MI_KIND_SHA256:
			found = memcmp(p->digest, cert->sha256, 32) == 0;
			break;

		case MI_KIND_CN:
			/*
			 * cn: is for legacy certificates without SANs.  A certificate
			 * that has SANs is named by them: CAs that validate only the
			 * SANs often let the requester choose the CN.
			 */
			if (cert->cn == NULL || cert->cn_hostile || cert->cn_len < 0 ||
				cert->cn_len > MI_MAX_VALUE_LEN || cert->nsans > 0 ||
				cert->sans_truncated)
				break;
			if (rx)
				found = run_regex(rx, cert->cn, (size_t) cert->cn_len,
								  regex_fn, regex_arg);
			else
				found = tmpl_eq(p->body, p->blen, role, rlen,
								cert->cn, (size_t) cert->cn_len, false);
			break;

		case MI_KIND_DN:
			if (cert->subject_dn == NULL)
				break;
			if (rx)
				found = run_regex(rx, cert->subject_dn, strlen(cert->subject_dn),
								  regex_fn, regex_arg);
			else
				found = tmpl_eq(p->body, p->blen, role, rlen,
								cert->subject_dn, strlen(cert->subject_dn),
								false);
			break;

		case MI_KIND_URI:
		case MI_KIND_DNS:
		case MI_KIND_EMAIL:
		case MI_KIND_IP:
			{
				MiSanKind	sk = san_kind_of(p->kind);

				for (int i = 0; i < cert->nsans && !found; i++)
				{
					const MiSan *san = &cert->sans[i];

					if (san->kind != sk || !mi_san_wellformed(san))
						continue;
					if (p->kind == MI_KIND_IP)
						found = match_ip(p, san);
					else if (rx)
						found = run_regex(rx, san->value, (size_t) san->len,
										  regex_fn, regex_arg);
					else if (p->kind == MI_KIND_URI)
						found = match_uri(p, role, rlen, san->value,
										  (size_t) san->len);
					else if (p->kind == MI_KIND_DNS)
						found = match_dns(p, role, rlen, san->value,
										  (size_t) san->len);
					else
						found = match_email(p, role, rlen, san->value,
											(size_t) san->len);
					if (found && matched_san != NULL)
						*matched_san = i;
				}
			}
			break;
	}

	mi_free(rx);
	return found;
}

/* ----------------------------------------------------------------
 * The exact-binding prefilter
 * ----------------------------------------------------------------
 */

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
				 dns_wellformed(san->value, (size_t) san->len, &nlen))
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

/*
 * Is v[0..len) a well-formed URI SAN value (uri_wellformed) without "*",
 * "{" or "}" -- a URI pattern that can only match itself?
 */
static bool
uri_plain_literal(const char *v, size_t len)
{
	size_t		prefix_len;

	return uri_shape(v, len, uri_plain_bytes, &prefix_len);
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
	 * For a literal that is, match_uri() and match_dns() come down to the
	 * comparisons of mi_san_index_has_literal().
	 */
	if (memcmp(identity, "uri:", 4) == 0)
		return uri_plain_literal(b, blen) ? MI_LITERAL_URI : MI_LITERAL_NONE;
	if (memcmp(identity, "dns:", 4) == 0)
		return dns_wellformed(b, blen, &nlen) ? MI_LITERAL_DNS : MI_LITERAL_NONE;
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

/* ----------------------------------------------------------------
 * Issuer pins
 * ----------------------------------------------------------------
 */

#define MI_MAX_ISSUER_LEN 1024

char *
mi_issuer_normalize(const char *text, size_t len, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || len == 0)
	{
		mi_set_err(err, errlen, "empty issuer");
		return NULL;
	}
	if (len > MI_MAX_ISSUER_LEN)
	{
		mi_set_err(err, errlen, "issuer is too long (%zu bytes, at most %d)",
				len, MI_MAX_ISSUER_LEN);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (is_ctrl((unsigned char) text[i]))
		{
			mi_set_err(err, errlen,
					"issuer contains a control character (0x%02x)",
					(unsigned char) text[i]);
			return NULL;
		}
	}
	if (len >= 7 && ascii_lower((unsigned char) text[0]) == 's' &&
		ascii_lower((unsigned char) text[1]) == 'h' &&
		ascii_lower((unsigned char) text[2]) == 'a' &&
		memcmp(text + 3, "256:", 4) == 0)
	{
		unsigned char digest[32];

		if (!parse_hex_digest(text + 7, len - 7, digest))
		{
			mi_set_err(err, errlen,
					"invalid issuer fingerprint \"%.*s\" (expected sha256: and 64 hex digits, colons optional)",
					(int) len, text);
			return NULL;
		}
		return digest_text(digest);
	}
	if (memchr(text, '=', len) == NULL)
	{
		mi_set_err(err, errlen,
				"invalid issuer \"%.*s\" (expected an RFC 2253 distinguished name such as \"CN=Example CA,O=Example\" or sha256:<fingerprint>)",
				(int) len, text);
		return NULL;
	}
	return mi_strndup(text, len);
}

bool
mi_issuer_match(const char *issuer_pin, const MiCert *cert)
{
	if (issuer_pin == NULL || cert == NULL)
		return false;
	if (strncmp(issuer_pin, "sha256:", 7) == 0)
	{
		unsigned char digest[32];

		if (!parse_hex_digest(issuer_pin + 7, strlen(issuer_pin + 7), digest))
			return false;
		for (int i = 0; i < cert->nchain; i++)
			if (cert->chain[i].has_sha256 &&
				memcmp(cert->chain[i].sha256, digest, 32) == 0)
				return true;
		return false;
	}
	for (int i = 0; i < cert->nchain; i++)
		if (cert->chain[i].subject_dn != NULL &&
			strcmp(cert->chain[i].subject_dn, issuer_pin) == 0)
			return true;
	return false;
}
