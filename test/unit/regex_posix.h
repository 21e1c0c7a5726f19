/*-------------------------------------------------------------------------
 *
 * regex_posix.h
 *		An MiRegexFn for the unit tests, on POSIX extended regular
 *		expressions.
 *
 * The backend uses PostgreSQL's regex engine; for testing the logic of
 * pattern.c, POSIX ERE is close enough.  ERE has no "(?:", so the
 * anchoring wrapper "^(?:...)$" that pattern.c builds is rewritten to
 * "^(...)$" (the test checks that the wrapper is exactly that when
 * matching; validation also compiles the body alone, unwrapped).  Like the
 * backend's callback it refuses back-references.  Subjects
 * with an embedded NUL never match (regexec takes C strings).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_REGEX_POSIX_H
#define MI_REGEX_POSIX_H

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	regex_calls = 0;		/* how often the callback ran */

static int
posix_regex_fn(const char *regex, const char *value, size_t vlen,
			   void *arg, char *err, size_t errlen)
{
	size_t		rlen = strlen(regex);
	char	   *ere;
	regex_t		re;
	int			rc;

	(void) arg;
	regex_calls++;
	if (value != NULL &&
		(rlen < 6 || strncmp(regex, "^(?:", 4) != 0 ||
		 strcmp(regex + rlen - 2, ")$") != 0))
	{
		snprintf(err, errlen, "regex not wrapped in ^(?:...)$: %s", regex);
		return -1;
	}
	/* ERE has no (?:...): every "(?:" (wrapper and {role} groups) becomes "(" */
	ere = malloc(rlen + 1);
	{
		size_t		o = 0;

		for (size_t i = 0; i < rlen; i++)
		{
			if (strncmp(regex + i, "(?:", 3) == 0 && (i == 0 || regex[i - 1] != '\\'))
			{
				ere[o++] = '(';
				i += 2;
				continue;
			}
			ere[o++] = regex[i];
		}
		ere[o] = '\0';
	}
	/* like the backend (re_info REG_UBACKREF): no back-references */
	for (size_t i = 0; ere[i] != '\0'; i++)
	{
		if (ere[i] == '\\' && ere[i + 1] >= '1' && ere[i + 1] <= '9')
		{
			snprintf(err, errlen, "back-references are not allowed");
			free(ere);
			return -1;
		}
		if (ere[i] == '\\' && ere[i + 1] != '\0')
			i++;
	}
	rc = regcomp(&re, ere, REG_EXTENDED | REG_NOSUB);
	free(ere);
	if (rc != 0)
	{
		regerror(rc, &re, err, errlen);
		return -1;
	}
	if (value == NULL)
		rc = 0;
	else if (memchr(value, '\0', vlen) != NULL)
		rc = 0;
	else
	{
		char	   *v = malloc(vlen + 1);

		memcpy(v, value, vlen);
		v[vlen] = '\0';
		rc = regexec(&re, v, 0, NULL, 0) == 0 ? 1 : 0;
		free(v);
	}
	regfree(&re);
	return rc;
}

#endif							/* MI_REGEX_POSIX_H */
