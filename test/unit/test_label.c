/*-------------------------------------------------------------------------
 *
 * test_label.c
 *		Unit tests of label.c: the label grammar, its errors, timestamps and
 *		the format/parse round trip.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "label.h"
#include "pattern.h"
#include "tap.h"

#define USECS_PER_DAY INT64_C(86400000000)

static bool
parse_str(const char *text, MiLabel *l, char *err, size_t errlen)
{
	return mi_label_parse(text, strlen(text), l, err, errlen);
}

/* parse(format(l)) == l */
static bool
round_trip(const MiLabel *l)
{
	char	   *text = mi_label_format(l);
	MiLabel		back;
	char		err[256];
	bool		same;

	if (!mi_label_parse(text, strlen(text), &back, err, sizeof(err)))
	{
		printf("# re-parse failed: %s\n", err);
		free(text);
		return false;
	}
	same = mi_label_equal(l, &back);
	mi_label_free(&back);
	free(text);
	return same;
}

/* parse fails with a message containing want */
static void
refuse_len(const char *text, size_t len, const char *want, const char *desc)
{
	MiLabel		l;
	char		err[256];

	if (mi_label_parse(text, len, &l, err, sizeof(err)))
	{
		ok(0, "refuse %s", desc);
		mi_label_free(&l);
		return;
	}
	ok(strstr(err, want) != NULL && l.nbindings == 0 && l.bindings == NULL,
	   "refuse %s (%s)", desc, err);
}

#define REFUSE(text, want) refuse_len(text, strlen(text), want, text)

/* the cutoff a timestamp parses to */
static bool
ts_value(const char *ts, int64_t *out)
{
	char		text[200];
	MiLabel		l;
	char		err[256];
	bool		r;

	snprintf(text, sizeof(text), "revoked_before \"%s\"", ts);
	r = parse_str(text, &l, err, sizeof(err)) && l.has_cutoff;
	if (r)
		*out = l.cutoff;
	mi_label_free(&l);
	return r;
}

#define TS(ts, want) \
	do { int64_t v_ = 0; bool r_ = ts_value(ts, &v_); \
		ok(r_ && v_ == (want), "timestamp %s is %lld (got %lld)", ts, \
		   (long long) (want), (long long) v_); } while (0)

#define TS_BAD(ts) \
	do { int64_t v_; ok(!ts_value(ts, &v_), "timestamp %s is refused", ts); } while (0)

/* the text format writes for a cutoff */
static void
fmt_cutoff(int64_t cutoff, const char *want)
{
	MiLabel		l;
	char	   *text;

	memset(&l, 0, sizeof(l));
	l.has_cutoff = true;
	l.cutoff = cutoff;
	text = mi_label_format(&l);
	ok(strcmp(text, want) == 0, "cutoff %lld formats as %s (got %s)",
	   (long long) cutoff, want, text);
	free(text);
}

static void
test_parse(void)
{
	MiLabel		l;
	char		err[256];
	const char *text =
		"bind \"uri:spiffe://example.org/ns/*/sa/billing\"\n"
		"bind \"dns:db.example.com\" issuer \"CN=Client CA,O=Example\"\n"
		"revoked_before \"2026-11-23 10:00:00.000000+00\"";

	ok(parse_str(text, &l, err, sizeof(err)), "the example label parses");
	ok(l.nbindings == 2, "two bindings");
	ok(l.nbindings == 2 &&
	   strcmp(l.bindings[0].identity, "uri:spiffe://example.org/ns/*/sa/billing") == 0 &&
	   l.bindings[0].issuer == NULL, "first binding, no issuer");
	ok(l.nbindings == 2 &&
	   strcmp(l.bindings[1].identity, "dns:db.example.com") == 0 &&
	   l.bindings[1].issuer && strcmp(l.bindings[1].issuer, "CN=Client CA,O=Example") == 0,
	   "second binding with issuer");
	/* 2026-11-23 is day 9823 after 2000-01-01 */
	ok(l.has_cutoff && l.cutoff == INT64_C(9823) * USECS_PER_DAY + INT64_C(36000000000),
	   "cutoff value");
	{
		char	   *f = mi_label_format(&l);

		ok(strcmp(f, text) == 0, "format gives back the canonical text");
		free(f);
	}
	ok(round_trip(&l), "round trip of the example");
	mi_label_free(&l);
	ok(l.nbindings == 0 && l.bindings == NULL, "mi_label_free empties the label");

	ok(parse_str("", &l, err, sizeof(err)) && l.nbindings == 0 && !l.has_cutoff,
	   "the empty label parses");
	{
		char	   *f = mi_label_format(&l);

		ok(strcmp(f, "") == 0, "the empty label formats as \"\"");
		free(f);
	}
	ok(parse_str("\n\n   \n", &l, err, sizeof(err)) && l.nbindings == 0,
	   "blank lines are ignored");

	ok(parse_str("  \n  bind   \"a\"    issuer   \"b\"   \n\n revoked_before  \"2000-01-01 00:00:00+00\"  \n",
				 &l, err, sizeof(err)) &&
	   l.nbindings == 1 && strcmp(l.bindings[0].issuer, "b") == 0 &&
	   l.has_cutoff && l.cutoff == 0,
	   "spaces around and between tokens are ignored");
	mi_label_free(&l);

	ok(parse_str("revoked_before \"2000-01-01 00:00:00+00\"\nbind \"x\"", &l, err, sizeof(err)) &&
	   l.nbindings == 1 && l.has_cutoff, "revoked_before may come first");
	mi_label_free(&l);

	ok(parse_str("bind \"cn:a \\\"quoted\\\" \\\\ name\"", &l, err, sizeof(err)) &&
	   l.nbindings == 1 && strcmp(l.bindings[0].identity, "cn:a \"quoted\" \\ name") == 0,
	   "escapes \\\" and \\\\ are decoded");
	ok(round_trip(&l), "escapes round-trip");
	mi_label_free(&l);

	ok(parse_str("bind \"x\"\nbind \"x\"", &l, err, sizeof(err)) && l.nbindings == 2,
	   "duplicate bindings are kept");
	mi_label_free(&l);

	ok(parse_str("bind \"cn:Jos\xc3\xa9\"", &l, err, sizeof(err)) && l.nbindings == 1,
	   "UTF-8 in strings is kept");
	mi_label_free(&l);

	ok(parse_str("bind \"\" issuer \"\"", &l, err, sizeof(err)) && l.nbindings == 1 &&
	   l.bindings[0].issuer && l.bindings[0].issuer[0] == '\0',
	   "empty strings parse (the caller validates them)");
	ok(round_trip(&l), "empty strings round-trip");
	mi_label_free(&l);

	ok(mi_label_parse("bind \"a\"XXXX", 8, &l, err, sizeof(err)) && l.nbindings == 1,
	   "the text need not be NUL-terminated");
	mi_label_free(&l);
}

static void
test_errors(void)
{
	REFUSE("bind \"abc", "line 1: unterminated string");
	REFUSE("bind \"abc\\\"", "line 1: unterminated string");
	REFUSE("bind \"abc\\", "line 1: unterminated string");
	REFUSE("bind \"a\nb\"", "line 1: unterminated string");
	REFUSE("bind \"a\"\n\nfoo \"b\"", "line 3: expected \"bind\" or \"revoked_before\"");
	REFUSE("Bind \"a\"", "line 1: expected \"bind\" or \"revoked_before\"");
	REFUSE("binding \"a\"", "line 1: expected \"bind\" or \"revoked_before\"");
	REFUSE("\"a\"", "line 1: expected \"bind\" or \"revoked_before\"");
	REFUSE("bind", "line 1: expected a space and a double-quoted string after \"bind\"");
	REFUSE("bind a", "expected a space and a double-quoted string");
	REFUSE("bind\"a\"", "expected a space and a double-quoted string");
	REFUSE("bind 'a'", "expected a space and a double-quoted string");
	REFUSE("bind \"a\" issuer", "after \"issuer\"");
	REFUSE("bind \"a\" issuer b", "after \"issuer\"");
	REFUSE("bind \"a\" foo \"b\"", "expected \"issuer\"");
	REFUSE("bind \"a\" issuer \"b\" issuer \"c\"", "unexpected text after the issuer");
	REFUSE("bind \"a\"x", "unexpected text after the identity");
	REFUSE("bind \"a\" \"b\"", "expected \"issuer\"");
	REFUSE("bind \"a\\n\"", "invalid escape \"\\n\"");
	REFUSE("bind \"a\\x41\"", "invalid escape");
	REFUSE("bind \"a\"\tissuer \"b\"", "line 1: control character 0x09");
	REFUSE("bind \"a\"\r\nbind \"b\"", "line 1: control character 0x0d");
	REFUSE("bind \"a\"\nbind \"b\x7f\"", "line 2: control character 0x7f");
	refuse_len("bind \"a\0b\"", 10, "line 1: control character 0x00", "a NUL byte");
	REFUSE("revoked_before \"2000-01-01 00:00:00+00\"\nrevoked_before \"2000-01-01 00:00:00+00\"",
		   "line 2: revoked_before may appear only once");
	REFUSE("revoked_before \"2000-01-01 00:00:00+00\" x", "unexpected text after the timestamp");
	REFUSE("revoked_before 2000-01-01", "double-quoted string");
	REFUSE("revoked_before \"yesterday\"", "line 1: invalid timestamp \"yesterday\"");
	REFUSE("bind \"a\"\nbind \"b\" issuer \"c\" \nrevoked_before \"2024-02-30 00:00:00+00\"",
		   "line 3: invalid timestamp");
}

static void
test_timestamps(void)
{
	TS("2000-01-01 00:00:00+00", 0);
	TS("2000-01-01 00:00:00.000001+00", 1);
	TS("2000-01-01 00:00:00.5+00", 500000);
	TS("2000-01-01 00:00:00.123456+00", 123456);
	TS("1999-12-31 23:59:59.999999+00", -1);
	TS("1970-01-01 00:00:00+00", INT64_C(-946684800000000));
	TS("2000-03-01 00:00:00+00", INT64_C(60) * USECS_PER_DAY);
	TS("2024-02-29 12:34:56+00", INT64_C(8825) * USECS_PER_DAY + INT64_C(45296000000));
	TS("1900-03-01 00:00:00+00", INT64_C(-36465) * USECS_PER_DAY);
	TS("0000-01-01 00:00:00+00", MI_LABEL_MIN_CUTOFF);
	TS("9999-12-31 23:59:59.999999+00", MI_LABEL_MAX_CUTOFF);
	TS("0000-02-29 00:00:00+00", MI_LABEL_MIN_CUTOFF + 59 * USECS_PER_DAY);

	TS_BAD("2024-02-30 00:00:00+00");
	TS_BAD("2023-02-29 00:00:00+00");
	TS_BAD("1900-02-29 00:00:00+00");
	TS_BAD("2024-04-31 00:00:00+00");
	TS_BAD("2024-13-01 00:00:00+00");
	TS_BAD("2024-00-10 00:00:00+00");
	TS_BAD("2024-01-00 00:00:00+00");
	TS_BAD("2024-01-32 00:00:00+00");
	TS_BAD("2024-01-01 24:00:00+00");
	TS_BAD("2024-01-01 00:60:00+00");
	TS_BAD("2024-01-01 00:00:60+00");
	TS_BAD("2024-01-01 00:00:00");
	TS_BAD("2024-01-01 00:00:00+01");
	TS_BAD("2024-01-01 00:00:00-00");
	TS_BAD("2024-01-01 00:00:00Z");
	TS_BAD("2024-01-01 00:00:00+00:00");
	TS_BAD("2024-01-01 00:00:00.+00");
	TS_BAD("2024-01-01 00:00:00.1234567+00");
	TS_BAD("2024-01-01 00:00:00,5+00");
	TS_BAD("2024-1-01 00:00:00+00");
	TS_BAD("2024-01-01T00:00:00+00");
	TS_BAD("-024-01-01 00:00:00+00");
	TS_BAD("10000-01-01 00:00:00+00");
	TS_BAD("2024-01-01  00:00:00+00");
	TS_BAD(" 2024-01-01 00:00:00+00");
	TS_BAD("2024-01-01 00:00:00+00 ");
	TS_BAD("2024-01-01 0a:00:00+00");
	TS_BAD("");

	fmt_cutoff(0, "revoked_before \"2000-01-01 00:00:00.000000+00\"");
	fmt_cutoff(-1, "revoked_before \"1999-12-31 23:59:59.999999+00\"");
	fmt_cutoff(INT64_C(8825) * USECS_PER_DAY + INT64_C(45296000007),
			   "revoked_before \"2024-02-29 12:34:56.000007+00\"");
	fmt_cutoff(MI_LABEL_MIN_CUTOFF, "revoked_before \"0000-01-01 00:00:00.000000+00\"");
	fmt_cutoff(MI_LABEL_MAX_CUTOFF, "revoked_before \"9999-12-31 23:59:59.999999+00\"");
	fmt_cutoff(MI_LABEL_MIN_CUTOFF - 1, "revoked_before \"0000-01-01 00:00:00.000000+00\"");
	fmt_cutoff(INT64_MIN, "revoked_before \"0000-01-01 00:00:00.000000+00\"");
	fmt_cutoff(INT64_MAX, "revoked_before \"9999-12-31 23:59:59.999999+00\"");

	/* round trip over the whole range */
	{
		uint64_t	x = 88172645463325252ULL;
		int			bad = 0;
		MiLabel		l;

		memset(&l, 0, sizeof(l));
		l.has_cutoff = true;
		for (int i = 0; i < 200000; i++)
		{
			uint64_t	span = (uint64_t) (MI_LABEL_MAX_CUTOFF - MI_LABEL_MIN_CUTOFF) + 1;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			l.cutoff = MI_LABEL_MIN_CUTOFF + (int64_t) (x % span);
			if (i % 2)
				l.cutoff -= l.cutoff % USECS_PER_DAY;	/* midnights too */
			if (!round_trip(&l))
			{
				if (bad++ < 3)
					printf("# cutoff %lld does not round-trip\n", (long long) l.cutoff);
			}
		}
		ok(bad == 0, "200000 random cutoffs round-trip (%d failed)", bad);
	}
}

static void
test_limits(void)
{
	MiLabel		l;
	char		err[256];
	size_t		n = (size_t) MI_MAX_BINDINGS + 1;
	size_t		cap = n * 16 + 64;
	char	   *text = malloc(cap);
	size_t		len = 0;

	for (size_t i = 0; i < n; i++)
		len += (size_t) snprintf(text + len, cap - len, "bind \"cn:%zu\"\n", i);
	ok(mi_label_parse(text, len, &l, err, sizeof(err)) == false &&
	   strstr(err, "line 10001: too many bindings (at most 10000)") != NULL,
	   "10001 bindings are refused (%s)", err);
	/* drop the last line */
	len -= strlen("bind \"cn:10000\"\n");
	ok(mi_label_parse(text, len, &l, err, sizeof(err)) &&
	   l.nbindings == MI_MAX_BINDINGS, "10000 bindings are accepted");
	ok(round_trip(&l), "10000 bindings round-trip");
	mi_label_free(&l);
	free(text);

	text = malloc((size_t) MI_MAX_LABEL_LEN + 2);
	memset(text, ' ', (size_t) MI_MAX_LABEL_LEN + 1);
	ok(!mi_label_parse(text, (size_t) MI_MAX_LABEL_LEN + 1, &l, err, sizeof(err)) &&
	   strstr(err, "too long"), "a label over MI_MAX_LABEL_LEN is refused");
	ok(mi_label_parse(text, (size_t) MI_MAX_LABEL_LEN, &l, err, sizeof(err)),
	   "a label of MI_MAX_LABEL_LEN spaces is accepted");
	mi_label_free(&l);
	free(text);

	/* mi_label_add */
	memset(&l, 0, sizeof(l));
	mi_label_add(&l, "uri:spiffe://x/\"q\"", NULL);
	mi_label_add(&l, "dns:a.b", "CN=x\\,y");
	l.has_cutoff = true;
	l.cutoff = 12345;
	{
		char	   *f = mi_label_format(&l);

		ok(strcmp(f, "bind \"uri:spiffe://x/\\\"q\\\"\"\n"
				  "bind \"dns:a.b\" issuer \"CN=x\\\\,y\"\n"
				  "revoked_before \"2000-01-01 00:00:00.012345+00\"") == 0,
		   "mi_label_add then format");
		free(f);
	}
	ok(round_trip(&l), "added bindings round-trip");
	mi_label_free(&l);
}

/* every control byte, at every offset of a word, is found (and only those) */
static void
test_control_scan(void)
{
	const char *base = "bind \"uri:spiffe://example.org/ns/prod/sa/a\"\nbind \"dns:a.example.com\"";
	size_t		blen = strlen(base);
	int			missed = 0;
	int			wrong = 0;
	char		err[256];
	MiLabel		l;

	for (int c = 0; c < 0x100; c++)
	{
		bool		ctrl = (c < 0x20 && c != '\n') || c == 0x7f;

		if (c == '"' || c == '\\' || c == '\n')
			continue;
		for (size_t pos = 7; pos < 7 + 16; pos++)
		{
			char	   *t = strdup(base);
			bool		okp;

			t[pos] = (char) c;	/* inside the first identity */
			okp = mi_label_parse(t, blen, &l, err, sizeof(err));
			if (okp)
				mi_label_free(&l);
			if (ctrl && (okp || strstr(err, "control character") == NULL))
				missed++;
			if (!ctrl && !okp)
				wrong++;
			free(t);
		}
	}
	ok(missed == 0, "every control byte at 16 offsets is refused (%d missed)", missed);
	ok(wrong == 0, "no other byte is refused (%d wrongly)", wrong);
}

/*
 * Hand-written spellings (issue 10 defect 7): the label keeps them as
 * written, and every one names the same binding as bind()'s spelling, so
 * unbind() finds it; a regex refused by newer rules still reads as a label
 * (unbind() can remove it) but never parses as a pattern (never evaluated).
 */
static void
test_hand_written(void)
{
	const char *text =
		"bind \"sha256:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\"\n"
		"bind \"dns:DB.Example.COM.\" issuer \"SHA256:ABAB\"\n"
		"bind \"ip:0:0:0:0:0:0:0:1\"\n"
		"bind \"uri:~a)|(b\"";
	const char *canon[] = {
		"sha256:aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899",
		"dns:db.example.com",
		"ip:::1",
		"uri:~a)|(b"
	};
	MiLabel		l;
	char		err[256];
	char	   *out;

	ok(mi_label_parse(text, strlen(text), &l, err, sizeof(err)) &&
	   l.nbindings == 4, "a hand-written label with other spellings parses (%s)", err);
	for (int i = 0; i < l.nbindings && i < 4; i++)
		ok(mi_identity_same(l.bindings[i].identity, canon[i]),
		   "stored %s names the same binding as %s", l.bindings[i].identity,
		   canon[i]);
	ok(strcmp(l.bindings[1].issuer, "SHA256:ABAB") == 0,
	   "the issuer is kept as written");
	out = mi_label_format(&l);
	ok(strcmp(out, text) == 0, "formatting keeps every spelling");
	{
		MiPattern  *p = mi_pattern_parse(l.bindings[3].identity,
										 strlen(l.bindings[3].identity),
										 NULL, NULL, err, sizeof(err));

		ok(p == NULL && strstr(err, "unbalanced"),
		   "the stored escaping regex never parses as a pattern (%s)", err);
		mi_pattern_free(p);
	}
	free(out);
	mi_label_free(&l);
}

int
main(void)
{
	test_control_scan();
	test_parse();
	test_errors();
	test_timestamps();
	test_limits();
	test_hand_written();
	done_testing();
}
