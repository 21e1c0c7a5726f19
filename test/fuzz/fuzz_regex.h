/*-------------------------------------------------------------------------
 *
 * fuzz_regex.h
 *		A stand-in MiRegexFn for the fuzz targets.
 *
 * The fuzzers test pattern.c, not a regex engine, so this callback does
 * not interpret the expression: it checks what pattern.c promises about
 * it (NUL-terminated, wrapped as "^(?:...)$" to match with nothing that
 * escapes the wrapper, control characters, which
 * only a role name can bring, backslash-escaped)
 * and aborts if that is broken, then answers deterministically from the
 * input so that both the match and the no-match paths run.  An expression
 * containing "((" is "invalid", to exercise the error path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_FUZZ_REGEX_H
#define MI_FUZZ_REGEX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Does regex[0..len) stay one expression inside "^(?:" ... ")$"?  Counted
 * as PostgreSQL's ARE reads it: "\\x" is one character, a bracket
 * expression runs to its first unescaped "]" (a leading "]" literal; the
 * "]" of "[:class:]" and friends is theirs), and
 * "(" may only be followed by "?" as "(?:".  The depth must never drop
 * below the wrapper's group before the end.
 */
static int
fuzz_regex_anchored(const char *rx, size_t len)
{
	int			depth = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (rx[i] == '\\')
		{
			i++;
			continue;
		}
		if (rx[i] == '[')
		{
			size_t		j = i + 1;

			if (j < len && rx[j] == '^')
				j++;
			if (j < len && rx[j] == ']')
				j++;
			while (j < len && rx[j] != ']')
			{
				/* [:class:], [.coll.], [=equiv=] run to their own ":]" */
				if (rx[j] == '[' && j + 1 < len &&
					(rx[j + 1] == ':' || rx[j + 1] == '.' || rx[j + 1] == '='))
				{
					const char *end = NULL;

					for (size_t k = j + 2; k + 1 < len && end == NULL; k++)
						if (rx[k] == rx[j + 1] && rx[k + 1] == ']')
							end = rx + k + 1;
					if (end == NULL)
						return 0;
					j = (size_t) (end - rx) + 1;
					continue;
				}
				j += rx[j] == '\\' ? 2 : 1;
			}
			i = j;
			continue;
		}
		if (rx[i] == '(')
		{
			if (i + 1 < len && rx[i + 1] == '?' &&
				!(i + 2 < len && rx[i + 2] == ':'))
				return 0;
			depth++;
		}
		else if (rx[i] == ')')
		{
			depth--;
			/* only the wrapper's ")" (just before "$") may close depth 1 */
			if (depth < 1 && i != len - 2)
				return 0;
		}
	}
	return depth == 0;
}

static int
fuzz_regex_fn(const char *regex, const char *value, size_t vlen,
			  void *arg, char *err, size_t errlen)
{
	size_t		rlen = strlen(regex);
	unsigned	h = 0;

	(void) arg;
	/* to match, always anchored; validation also compiles the body alone */
	if (value != NULL &&
		(rlen < 6 || memcmp(regex, "^(?:", 4) != 0 ||
		 memcmp(regex + rlen - 2, ")$", 2) != 0))
		abort();
	/* pattern.c promises that nothing escapes the anchoring */
	if (value != NULL && !fuzz_regex_anchored(regex, rlen))
		abort();
	/* a control character can only come from a role name, escaped */
	for (size_t i = 0; i < rlen; i++)
		if (((unsigned char) regex[i] < 0x20 || regex[i] == 0x7f) &&
			(i == 0 || regex[i - 1] != '\\'))
			abort();
	if (strstr(regex, "((") != NULL)
	{
		snprintf(err, errlen, "invalid regex");
		return -1;
	}
	if (value == NULL)
		return 0;
	/* touch every byte of the subject (ASan checks the length) */
	for (size_t i = 0; i < vlen; i++)
		h = h * 31 + (unsigned char) value[i];
	return (h + (unsigned) rlen) % 3 == 0 ? 1 : 0;
}

#endif							/* MI_FUZZ_REGEX_H */
