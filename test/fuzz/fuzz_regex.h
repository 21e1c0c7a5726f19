/*-------------------------------------------------------------------------
 *
 * fuzz_regex.h
 *		A stand-in MiRegexFn for the fuzz targets.
 *
 * The fuzzers test pattern.c, not a regex engine, so this callback does
 * not interpret the expression: it checks what pattern.c promises about
 * it (NUL-terminated, wrapped as "^(?:...)$" to match, control characters, which
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
