/*-------------------------------------------------------------------------
 *
 * pattern.c
 *		Identity patterns ("kind:pattern"): parsing, validation and the
 *		dispatch of matching to the per-kind matchers (SPEC section 3).
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
 * This file is the front door: what a pattern is in general (kind, {role},
 * regex or not, canonical text), the template comparison every kind uses,
 * and the dispatch.  Each kind's own syntax and matching live in one file:
 * match_uri.c, match_dns.c, match_email.c, match_ip.c, match_regex.c (the
 * anchored regular expression and what is refused); the exact-binding
 * prefilter is san_index.c, issuer pins issuer_pin.c.
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
 *	 against the whole value as "^(?:...)$"; match_regex.c says what a
 *	 regex may not contain.
 * - mi_pattern_key folds the spellings that match the same values (sha256
 *	 hex, dns case and trailing dot, email domain case, ip spellings), for
 *	 unbind() and bind()'s idempotence.
 * - uri: scheme://authority[/path], printable ASCII without space, "%",
 *	 "?", "#"; bytes compared exactly (scheme and authority included); no
 *	 wildcard in the authority; "*" a whole segment (exactly one segment),
 *	 "**" only as the final segment (one or more segments).  A URI SAN
 *	 with a space, %-escape, query, fragment, "." / ".." or empty segment
 *	 (a trailing "/" too), empty authority or no "scheme://" is hostile.
 * - dns: labels of [A-Za-z0-9_-], ASCII case-insensitive (the role name
 *	 substituted into a label too, and only when it is a lowercase DNS
 *	 label itself), one trailing dot ignored on each side;
 *	 "*" only as the whole leftmost label, followed by at least 2 labels.
 * - email: local@domain; local part exact, domain labels as dns without
 *	 trailing dot and without wildcard; "*@domain" is any local part, in
 *	 exactly that domain.
 * - ip: address or CIDR; host bits set is an error; IPv4 and IPv6 never
 *	 match each other (::ffff:a.b.c.d is IPv6 only).
 * - cn, dn: exact bytes ("*" is literal); sha256: 64 hex digits, colons
 *	 ignored, canonical lowercase without colons.
 *
 *-------------------------------------------------------------------------
 */
#include "match_dns.h"
#include "match_email.h"
#include "match_ip.h"
#include "match_regex.h"
#include "match_uri.h"
#include "mi_alloc.h"

#include <stdio.h>

#include "mi_err.h"
#include "pattern.h"
#include "pattern_int.h"

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

static bool
is_role_token(const char *s, size_t len)
{
	return len >= ROLE_TOKEN_LEN && memcmp(s, ROLE_TOKEN, ROLE_TOKEN_LEN) == 0;
}



/* ----------------------------------------------------------------
 * Well-formed SANs
 * ----------------------------------------------------------------
 */

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
			return mi_uri_wellformed(san->value, (size_t) san->len, &dummy);
		case MI_SAN_DNS:
			return mi_dns_wellformed(san->value, (size_t) san->len, &dummy);
		case MI_SAN_EMAIL:
			return mi_email_wellformed(san->value, (size_t) san->len, &dummy);
		default:
			return false;
	}
}

/* ----------------------------------------------------------------
 * Parsing
 * ----------------------------------------------------------------
 */



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
		char		rxerr[256];

		/*
		 * What no regex may be (match_regex.c says why): checked here, with
		 * or without an engine, so a label stored before a rule existed
		 * fails to parse at login and in the enforcer too.
		 */
		rxerr[0] = '\0';
		if (!mi_regex_check(p->body, p->blen, rxerr, sizeof(rxerr)))
		{
			mi_set_err(err, errlen,
					   "invalid regular expression in identity \"%.*s\": %s",
					   (int) len, text, rxerr);
			goto fail;
		}

		/*
		 * With an engine: the body must compile on its own (one complete
		 * expression, by the engine's own reading) and so must the
		 * anchored form.
		 */
		if (regex_fn != NULL)
		{
			for (int pass = 0; pass < 2; pass++)
			{
				char	   *rx = pass == 0 ? mi_regex_build_body(p, "r")
					: mi_regex_build(p, "r");
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
	}
	else
	{
		char		kerr[256];

		kerr[0] = '\0';
		switch (p->kind)
		{
			case MI_KIND_URI:
				ok = mi_parse_uri(p, kerr, sizeof(kerr));
				break;
			case MI_KIND_DNS:
				ok = mi_parse_dns(p, kerr, sizeof(kerr));
				break;
			case MI_KIND_EMAIL:
				ok = mi_parse_email(p, kerr, sizeof(kerr));
				break;
			case MI_KIND_IP:
				ok = mi_parse_ip(p, err, errlen);
				if (!ok)
					goto fail;
				break;
			case MI_KIND_SHA256:
				ok = mi_parse_hex_digest(p->body, (size_t) p->blen, p->digest);
				if (!ok)
				{
					mi_set_err(err, errlen,
							"invalid sha256 fingerprint \"%.*s\" (expected 64 hex digits, colons optional)",
							p->blen, p->body);
					goto fail;
				}
				mi_free(p->text);
				p->text = mi_digest_text(p->digest);
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

char *
mi_pattern_key(const MiPattern *p)
{
	if (p->is_regex)
		return mi_strdup(p->text);
	switch (p->kind)
	{
		case MI_KIND_DNS:
			return mi_dns_key(p);
		case MI_KIND_EMAIL:
			return mi_email_key(p);
		case MI_KIND_IP:
			return mi_ip_key(p);
		default:
			/* uri, cn, dn: bytes; sha256: its text is canonical already */
			return mi_strdup(p->text);
	}
}

bool
mi_identity_same(const char *a, const char *b)
{
	char		err[8];
	MiPattern  *pa;
	MiPattern  *pb;
	bool		same;

	if (a == NULL || b == NULL)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	pa = mi_pattern_parse(a, strlen(a), NULL, NULL, err, sizeof(err));
	pb = pa ? mi_pattern_parse(b, strlen(b), NULL, NULL, err, sizeof(err)) : NULL;
	same = false;
	if (pa != NULL && pb != NULL)
	{
		char	   *ka = mi_pattern_key(pa);
		char	   *kb = mi_pattern_key(pb);

		same = strcmp(ka, kb) == 0;
		mi_free(ka);
		mi_free(kb);
	}
	mi_pattern_free(pa);
	mi_pattern_free(pb);
	return same;
}

/* ----------------------------------------------------------------
 * Matching
 * ----------------------------------------------------------------
 */

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

/*
 * A regex sees at most MI_MAX_VALUE_LEN bytes: longer subjects (a subject
 * DN can be longer; SANs and CNs that long are hostile already) never
 * match, so the time one match may take is bounded.
 */
static bool
run_regex(const char *rx, const char *v, size_t vlen,
		  MiRegexFn regex_fn, void *regex_arg)
{
	char		rxerr[256];

	if (vlen > MI_MAX_VALUE_LEN)
		return false;
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
		rx = mi_regex_build(p, role ? role : "");
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
				found = mi_tmpl_eq(p->body, p->blen, role, rlen,
								cert->cn, (size_t) cert->cn_len, false);
			break;

		case MI_KIND_DN:
			if (cert->subject_dn == NULL)
				break;
			if (rx)
				found = run_regex(rx, cert->subject_dn, strlen(cert->subject_dn),
								  regex_fn, regex_arg);
			else
				found = mi_tmpl_eq(p->body, p->blen, role, rlen,
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
						found = mi_match_ip(p, san);
					else if (rx)
						found = run_regex(rx, san->value, (size_t) san->len,
										  regex_fn, regex_arg);
					else if (p->kind == MI_KIND_URI)
						found = mi_match_uri(p, role, rlen, san->value,
										  (size_t) san->len);
					else if (p->kind == MI_KIND_DNS)
						found = mi_match_dns(p, role, rlen, san->value,
										  (size_t) san->len);
					else
						found = mi_match_email(p, role, rlen, san->value,
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

