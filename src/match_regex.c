/*-------------------------------------------------------------------------
 *
 * match_regex.c
 *		Regular-expression patterns ("kind:~regex"): the anchored
 *		expression handed to the regex engine (SPEC section 3).
 *
 * The engine itself is the caller's (PostgreSQL's regex engine through an
 * MiRegexFn in the backend); this file builds the anchored expression
 * "^(?:...)$" with {role} substituted as a literal.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "mi_err.h"
#include "pattern_int.h"

/*
 * The regex for matching: "^(?:" + body with {role} replaced by role
 * (non-[A-Za-z0-9_] ASCII escaped) + ")$".  Allocated.
 */
char *
mi_regex_build(const MiPattern *p, const char *role)
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

