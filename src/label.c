/*-------------------------------------------------------------------------
 *
 * label.c
 *		Parse and format the security label that holds a role's bindings.
 *
 * Grammar (doc/labels.md is written from this comment):
 *
 *	label	 := line ( "\n" line )*
 *	line	 := SP* [ entry SP* ]
 *	entry	 := "bind" SP+ string [ SP+ "issuer" SP+ string ]
 *			  | "revoked_before" SP+ string
 *	string	 := '"' ( any byte but '"', '\' and "\n" | '\"' | '\\' )* '"'
 *	SP		 := the space character (0x20) only
 *
 * - Lines are separated by "\n"; empty (or all-space) lines are ignored,
 *	 and spaces around and between the tokens are ignored (at least one is
 *	 needed between two tokens).  Keywords are lowercase.
 * - No control character (0x00-0x1f, 0x7f) may appear anywhere except the
 *	 "\n" line separators: no tabs, no "\r".  Other bytes (UTF-8) are kept
 *	 as they are; this module does not validate identities or issuers (the
 *	 caller runs mi_pattern_parse / mi_issuer_normalize on them).
 * - "bind" lines keep their order; the same (identity, issuer) pair may
 *	 appear twice (the writer never produces that).
 * - "revoked_before" appears at most once, anywhere, and holds a UTC time
 *	 "YYYY-MM-DD HH:MM:SS[.f{1,6}]+00": 4-digit year 0000-9999 (proleptic
 *	 Gregorian, astronomical numbering: 0000 is 1 BC), 2-digit month 01-12,
 *	 day valid for the month (leap years included), hour 00-23, minute
 *	 00-59, second 00-59 (no leap second), 1 to 6 fractional digits, and
 *	 the literal suffix "+00".
 * - At most MI_MAX_BINDINGS bindings and MI_MAX_LABEL_LEN bytes.
 * - Errors name the line: 'line 3: expected "bind" or "revoked_before"'.
 *
 * mi_label_format writes the canonical form: one "bind" line per binding
 * in order (with " issuer ..." when pinned), then the revoked_before line,
 * single spaces, 6 fractional digits, lines joined by "\n" and no final
 * newline.  parse(format(x)) == x for every label parse can return.
 *
 *-------------------------------------------------------------------------
 */
#include "issuer_pin.h"
#include "mi_alloc.h"

#include <stdio.h>

#include "label.h"
#include "mi_err.h"

/* 2000-01-01 (the PostgreSQL epoch) in days since 1970-01-01 */
#define PG_EPOCH_DAYS	INT64_C(10957)
#define USECS_PER_DAY	INT64_C(86400000000)
#define USECS_PER_SEC	INT64_C(1000000)

/* mi_realloc that also takes NULL (repalloc does not) */
static void *
grow(void *p, size_t n)
{
	return p ? mi_realloc(p, n) : mi_alloc0(n);
}

/* ----------------------------------------------------------------
 * Civil dates (H. Hinnant's algorithms), proleptic Gregorian
 * ----------------------------------------------------------------
 */

/* days since 1970-01-01 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return (m == 2 && is_leap(y)) ? 29 : dim[m - 1];
}

/* n decimal digits at s; -1 if any is not a digit */
static int64_t
digits(const char *s, int n)
{
	int64_t		v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]+00" -> TimestampTz */
static bool
parse_timestamp(const char *s, size_t len, int64_t *out)
{
	int64_t		y, mo, d, h, mi, sec;
	int64_t		frac = 0;
	size_t		pos = 19;

	if (len < 22 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
		s[13] != ':' || s[16] != ':')
		return false;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 ||
		mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return false;
	if (d > days_in_month(y, (int) mo))
		return false;
	if (s[pos] == '.')
	{
		int			n = 0;

		pos++;
		while (pos < len && s[pos] >= '0' && s[pos] <= '9')
		{
			if (++n > 6)
				return false;
			frac = frac * 10 + (s[pos] - '0');
			pos++;
		}
		if (n == 0)
			return false;
		for (; n < 6; n++)
			frac *= 10;
	}
	if (len - pos != 3 || memcmp(s + pos, "+00", 3) != 0)
		return false;
	*out = (days_from_civil(y, (int) mo, (int) d) - PG_EPOCH_DAYS) * USECS_PER_DAY
		+ (h * 3600 + mi * 60 + sec) * USECS_PER_SEC + frac;
	return true;
}

/* ----------------------------------------------------------------
 * Parsing
 * ----------------------------------------------------------------
 */

/* append a binding that takes over the (allocated) strings */
static void
add_binding_owned(MiLabel *label, int *cap, char *identity, char *issuer)
{
	MiBinding  *b;

	if (label->nbindings >= *cap)
	{
		*cap = *cap ? *cap * 2 : 16;
		label->bindings = (MiBinding *)
			grow(label->bindings, sizeof(MiBinding) * (size_t) *cap);
	}
	b = &label->bindings[label->nbindings++];
	b->identity = identity;
	b->issuer = issuer;
	b->literal = 0;
}

/* parse state of one line */
typedef struct LineScan
{
	const char *s;				/* the line, without its "\n" */
	size_t		len;
	size_t		pos;
	int			lineno;
	char	   *err;
	size_t		errlen;
} LineScan;

static size_t
skip_spaces(LineScan *ls)
{
	size_t		n = 0;

	while (ls->pos < ls->len && ls->s[ls->pos] == ' ')
	{
		ls->pos++;
		n++;
	}
	return n;
}

/* the next keyword: a run of bytes up to a space or a quote */
static bool
keyword_is(LineScan *ls, const char *kw)
{
	size_t		start = ls->pos;
	size_t		end = start;
	size_t		kwlen = strlen(kw);

	while (end < ls->len && ls->s[end] != ' ' && ls->s[end] != '"')
		end++;
	if (end - start != kwlen || memcmp(ls->s + start, kw, kwlen) != 0)
		return false;
	ls->pos = end;
	return true;
}

/*
 * A quoted string at ls->pos, after at least one space.  Returns an
 * unescaped copy (allocated, *outlen bytes) or NULL with an error.
 */
static char *
quoted_string(LineScan *ls, const char *after, size_t *outlen)
{
	size_t		start;
	size_t		n = 0;
	char	   *out;

	if (skip_spaces(ls) == 0 || ls->pos >= ls->len || ls->s[ls->pos] != '"')
	{
		mi_set_err(ls->err, ls->errlen,
				"line %d: expected a space and a double-quoted string after \"%s\"",
				ls->lineno, after);
		return NULL;
	}
	start = ++ls->pos;

	/* the usual case, no escape: find the closing quote, copy at once */
	{
		const char *q = memchr(ls->s + start, '"', ls->len - start);

		if (q != NULL &&
			memchr(ls->s + start, '\\', (size_t) (q - (ls->s + start))) == NULL)
		{
			n = (size_t) (q - (ls->s + start));
			out = mi_strndup(ls->s + start, n);
			ls->pos = start + n + 1;
			*outlen = n;
			return out;
		}
	}

	/* first pass: validate and measure */
	for (size_t i = start;; i++)
	{
		if (i >= ls->len)
		{
			mi_set_err(ls->err, ls->errlen, "line %d: unterminated string",
					ls->lineno);
			return NULL;
		}
		if (ls->s[i] == '"')
			break;
		if (ls->s[i] == '\\')
		{
			if (i + 1 >= ls->len)
			{
				mi_set_err(ls->err, ls->errlen, "line %d: unterminated string",
						ls->lineno);
				return NULL;
			}
			if (ls->s[i + 1] != '"' && ls->s[i + 1] != '\\')
			{
				unsigned char c = (unsigned char) ls->s[i + 1];

				if (c >= 0x20 && c < 0x7f)
					mi_set_err(ls->err, ls->errlen,
							"line %d: invalid escape \"\\%c\" in string (only \\\" and \\\\ are allowed)",
							ls->lineno, c);
				else
					mi_set_err(ls->err, ls->errlen,
							"line %d: invalid escape in string (only \\\" and \\\\ are allowed)",
							ls->lineno);
				return NULL;
			}
			i++;
		}
		n++;
	}
	out = (char *) mi_alloc0(n + 1);
	n = 0;
	for (;; ls->pos++)
	{
		char		c = ls->s[ls->pos];

		if (c == '"')
			break;
		if (c == '\\')
			c = ls->s[++ls->pos];
		out[n++] = c;
	}
	ls->pos++;					/* the closing quote */
	*outlen = n;
	return out;
}

/* nothing but spaces left on the line? */
static bool
at_line_end(LineScan *ls, const char *what)
{
	skip_spaces(ls);
	if (ls->pos < ls->len)
	{
		mi_set_err(ls->err, ls->errlen, "line %d: unexpected text after %s",
				ls->lineno, what);
		return false;
	}
	return true;
}

static bool
parse_line(LineScan *ls, MiLabel *out, int *cap)
{
	skip_spaces(ls);
	if (ls->pos == ls->len)
		return true;			/* empty line */

	if (keyword_is(ls, "bind"))
	{
		size_t		ilen;
		size_t		islen = 0;
		char	   *identity;
		char	   *issuer = NULL;

		if (out->nbindings >= MI_MAX_BINDINGS)
		{
			mi_set_err(ls->err, ls->errlen,
					"line %d: too many bindings (at most %d)",
					ls->lineno, MI_MAX_BINDINGS);
			return false;
		}
		identity = quoted_string(ls, "bind", &ilen);
		if (identity == NULL)
			return false;
		if (skip_spaces(ls) > 0 && ls->pos < ls->len)
		{
			if (!keyword_is(ls, "issuer"))
			{
				mi_set_err(ls->err, ls->errlen,
						"line %d: expected \"issuer\" or the end of the line after the identity",
						ls->lineno);
				mi_free(identity);
				return false;
			}
			issuer = quoted_string(ls, "issuer", &islen);
			if (issuer == NULL)
			{
				mi_free(identity);
				return false;
			}
		}
		if (!at_line_end(ls, issuer ? "the issuer" : "the identity"))
		{
			mi_free(identity);
			mi_free(issuer);
			return false;
		}
		add_binding_owned(out, cap, identity, issuer);
		return true;
	}

	if (keyword_is(ls, "revoked_before"))
	{
		size_t		tlen;
		char	   *ts;
		int64_t		cutoff;

		if (out->has_cutoff)
		{
			mi_set_err(ls->err, ls->errlen,
					"line %d: revoked_before may appear only once",
					ls->lineno);
			return false;
		}
		ts = quoted_string(ls, "revoked_before", &tlen);
		if (ts == NULL)
			return false;
		if (!parse_timestamp(ts, tlen, &cutoff))
		{
			mi_set_err(ls->err, ls->errlen,
					"line %d: invalid timestamp \"%.*s\" (expected \"YYYY-MM-DD HH:MM:SS[.ffffff]+00\", in UTC)",
					ls->lineno, mi_utf8_prefix(ts, tlen, 64), ts);
			mi_free(ts);
			return false;
		}
		mi_free(ts);
		if (!at_line_end(ls, "the timestamp"))
			return false;
		out->has_cutoff = true;
		out->cutoff = cutoff;
		return true;
	}

	mi_set_err(ls->err, ls->errlen,
			"line %d: expected \"bind\" or \"revoked_before\"", ls->lineno);
	return false;
}

static inline bool
is_label_ctrl(unsigned char c)
{
	return (c < 0x20 && c != '\n') || c == 0x7f;
}

/*
 * Any control character other than "\n" in text?  A word of eight bytes
 * is looked at byte by byte only when it has a byte below 0x20 (a "\n",
 * usually) or a 0x7f: the classic "has a byte less than n" and "has a zero
 * byte" tests, exact for n <= 128.
 */
static bool
has_control_char(const char *text, size_t len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t high = UINT64_C(0x8080808080808080);
	size_t		i = 0;

	for (; i + 8 <= len; i += 8)
	{
		uint64_t	w;
		uint64_t	d;

		memcpy(&w, text + i, 8);
		d = w ^ (ones * 0x7f);
		if ((((w - ones * 0x20) & ~w) | ((d - ones) & ~d)) & high)
		{
			for (size_t k = i; k < i + 8; k++)
				if (is_label_ctrl((unsigned char) text[k]))
					return true;
		}
	}
	for (; i < len; i++)
		if (is_label_ctrl((unsigned char) text[i]))
			return true;
	return false;
}

bool
mi_label_parse(const char *text, size_t len, MiLabel *out,
			   char *err, size_t errlen)
{
	size_t		start = 0;
	int			lineno = 0;
	int			cap = 0;
	bool		check_ctrl;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > MI_MAX_LABEL_LEN)
	{
		mi_set_err(err, errlen, "label is too long (%zu bytes, at most %d)",
				len, MI_MAX_LABEL_LEN);
		return false;
	}
	if (len > 0 && text == NULL)
	{
		mi_set_err(err, errlen, "label is missing");
		return false;
	}

	/*
	 * Control characters are rare: look for them eight bytes at a time, and
	 * byte by byte, for the line number, only when there is one.
	 */
	check_ctrl = has_control_char(text, len);

	while (start <= len)
	{
		size_t		end = start;
		LineScan	ls;

		lineno++;
		if (!check_ctrl)
		{
			const char *nl = memchr(text + start, '\n', len - start);

			end = nl ? (size_t) (nl - text) : len;
		}
		else
			while (end < len && text[end] != '\n')
			{
				unsigned char c = (unsigned char) text[end];

				if (c < 0x20 || c == 0x7f)
				{
					mi_set_err(err, errlen,
							"line %d: control character 0x%02x is not allowed",
							lineno, c);
					goto fail;
				}
				end++;
			}
		ls.s = text + start;
		ls.len = end - start;
		ls.pos = 0;
		ls.lineno = lineno;
		ls.err = err;
		ls.errlen = errlen;
		if (!parse_line(&ls, out, &cap))
			goto fail;
		start = end + 1;
	}
	return true;

fail:
	mi_label_free(out);
	return false;
}

/* ----------------------------------------------------------------
 * Formatting
 * ----------------------------------------------------------------
 */

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_reserve(Buf *b, size_t more)
{
	if (b->len + more + 1 > b->cap)
	{
		size_t		ncap = b->cap ? b->cap : 256;

		while (b->len + more + 1 > ncap)
			ncap *= 2;
		b->data = (char *) grow(b->data, ncap);
		b->cap = ncap;
	}
}

static void
buf_append(Buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_quoted(Buf *b, const char *s)
{
	size_t		n = strlen(s);

	buf_reserve(b, 2 * n + 2);
	b->data[b->len++] = '"';
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '"' || s[i] == '\\')
			b->data[b->len++] = '\\';
		b->data[b->len++] = s[i];
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
}

/* TimestampTz -> "YYYY-MM-DD HH:MM:SS.ffffff+00", clamped to 0000..9999 */
static void
format_timestamp(int64_t ts, char *out, size_t outlen)
{
	int64_t		days;
	int64_t		usec;
	int64_t		y;
	int			m, d;
	int64_t		secs;

	if (ts < MI_LABEL_MIN_CUTOFF)
		ts = MI_LABEL_MIN_CUTOFF;
	if (ts > MI_LABEL_MAX_CUTOFF)
		ts = MI_LABEL_MAX_CUTOFF;
	days = ts / USECS_PER_DAY;
	usec = ts % USECS_PER_DAY;
	if (usec < 0)
	{
		usec += USECS_PER_DAY;
		days--;
	}
	civil_from_days(days + PG_EPOCH_DAYS, &y, &m, &d);
	secs = usec / USECS_PER_SEC;
	snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
			 (int) y, m, d, (int) (secs / 3600), (int) (secs / 60 % 60),
			 (int) (secs % 60), (int) (usec % USECS_PER_SEC));
}

char *
mi_label_format(const MiLabel *label)
{
	Buf			b = {NULL, 0, 0};

	buf_reserve(&b, 0);
	b.data[0] = '\0';
	for (int i = 0; i < label->nbindings; i++)
	{
		const MiBinding *bd = &label->bindings[i];

		if (b.len > 0)
			buf_append(&b, "\n", 1);
		buf_append(&b, "bind ", 5);
		buf_quoted(&b, bd->identity ? bd->identity : "");
		if (bd->issuer != NULL)
		{
			buf_append(&b, " issuer ", 8);
			buf_quoted(&b, bd->issuer);
		}
	}
	if (label->has_cutoff)
	{
		char		ts[64];

		format_timestamp(label->cutoff, ts, sizeof(ts));
		if (b.len > 0)
			buf_append(&b, "\n", 1);
		buf_append(&b, "revoked_before \"", 16);
		buf_append(&b, ts, strlen(ts));
		buf_append(&b, "\"", 1);
	}
	return b.data;
}

void
mi_label_add(MiLabel *label, const char *identity, const char *issuer)
{
	MiBinding  *b;

	label->bindings = (MiBinding *)
		grow(label->bindings,
			 sizeof(MiBinding) * (size_t) (label->nbindings + 1));
	b = &label->bindings[label->nbindings++];
	b->identity = mi_strdup(identity);
	b->issuer = issuer ? mi_strdup(issuer) : NULL;
	b->literal = 0;
}

void
mi_label_free(MiLabel *label)
{
	for (int i = 0; i < label->nbindings; i++)
	{
		mi_free(label->bindings[i].identity);
		mi_free(label->bindings[i].issuer);
	}
	mi_free(label->bindings);
	memset(label, 0, sizeof(*label));
}

bool
mi_label_equal(const MiLabel *a, const MiLabel *b)
{
	if (a->nbindings != b->nbindings || a->has_cutoff != b->has_cutoff ||
		(a->has_cutoff && a->cutoff != b->cutoff))
		return false;
	for (int i = 0; i < a->nbindings; i++)
	{
		const MiBinding *x = &a->bindings[i];
		const MiBinding *y = &b->bindings[i];

		if (strcmp(x->identity, y->identity) != 0 ||
			(x->issuer == NULL) != (y->issuer == NULL) ||
			(x->issuer != NULL && strcmp(x->issuer, y->issuer) != 0))
			return false;
	}
	return true;
}
