/*-------------------------------------------------------------------------
 *
 * pattern_int.h
 *		What the pattern modules share among themselves: the compiled
 *		pattern, the character classes, and each kind's parse and match
 *		functions.  Not for use outside pattern.c, match_*.c, san_index.c
 *		and issuer_pin.c (everyone else uses pattern.h).
 *
 * Pure logic: no backend dependencies.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_PATTERN_INT_H
#define MI_PATTERN_INT_H

#include "mi_alloc.h"
#include "pattern_types.h"

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

static inline int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* pattern_int.c: templates with {role}, splitting, SHA-256 digests */
extern bool mi_tmpl_eq(const char *t, int tlen, const char *role, size_t rlen,
					   const char *v, size_t vlen, bool ci);
extern int	mi_split(const char *s, int len, char sep, MiSeg **out);
extern bool mi_parse_hex_digest(const char *s, size_t len,
								unsigned char *digest);
extern char *mi_digest_text(const unsigned char *digest);

#endif							/* MI_PATTERN_INT_H */
