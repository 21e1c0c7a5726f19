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

/* pattern.c: templates with {role}, splitting, SHA-256 digests */
extern bool mi_tmpl_eq(const char *t, int tlen, const char *role, size_t rlen,
					   const char *v, size_t vlen, bool ci);
extern int	mi_split(const char *s, int len, char sep, MiSeg **out);
extern bool mi_parse_hex_digest(const char *s, size_t len,
								unsigned char *digest);
extern char *mi_digest_text(const unsigned char *digest);

/* match_uri.c */
extern bool mi_uri_wellformed(const char *v, size_t len, size_t *prefix_len);
extern bool mi_uri_plain_literal(const char *v, size_t len);
extern bool mi_parse_uri(MiPattern *p, char *err, size_t errlen);
extern bool mi_match_uri(const MiPattern *p, const char *role, size_t rlen,
						 const char *v, size_t vlen);

/* match_dns.c (labels also for the domain of email patterns) */
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

/* match_email.c */
extern bool mi_email_wellformed(const char *v, size_t len, size_t *at);
extern bool mi_parse_email(MiPattern *p, char *err, size_t errlen);
extern bool mi_match_email(const MiPattern *p, const char *role, size_t rlen,
						   const char *v, size_t vlen);
extern char *mi_email_key(const MiPattern *p);

/* match_ip.c */
extern bool mi_parse_ip(MiPattern *p, char *err, size_t errlen);
extern bool mi_match_ip(const MiPattern *p, const MiSan *san);
extern char *mi_ip_key(const MiPattern *p);

/* match_regex.c */
extern char *mi_regex_build(const MiPattern *p, const char *role);
extern char *mi_regex_build_body(const MiPattern *p, const char *role);
extern bool mi_regex_check(const char *body, int blen, char *err,
						   size_t errlen);

#endif							/* MI_PATTERN_INT_H */
