/*-------------------------------------------------------------------------
 *
 * match_regex.c
 *		Regular-expression patterns ("kind:~regex"): the anchored
 *		expression handed to the regex engine (SPEC section 3).
 *
 * The engine itself is the caller's (PostgreSQL's regex engine through an
 * MiRegexFn in the backend); this file builds the anchored expression
 * "^(?:...)$" with {role} substituted as a literal, and decides which
 * expressions are refused (mi_regex_check), without the engine, so that the
 * same rules hold wherever a pattern is parsed: bind(), the SECURITY LABEL
 * check hook, every login and every enforcer sweep (a label stored before
 * a rule existed fails to parse there, and the login is refused).
 *
 * Two things must hold for every accepted expression:
 *
 * - It cannot escape the anchoring.  "^(?:" body ")$" anchors the whole
 *	 body only if the body is one balanced expression that means the same
 *	 inside the group as on its own.  So: parentheses balance (counted
 *	 outside bracket expressions; a parenthesis inside a bracket expression
 *	 is refused, so the count cannot depend on where a bracket expression
 *	 ends), no trailing backslash, no ARE director ("***:", "***=": only
 *	 meaningful at the very start, where the wrapper puts "^(?:"), and no
 *	 "(?" other than "(?:" (embedded options such as "(?x)" would change how
 *	 the rest is read; "(?i)" and friends are only valid at the start
 *	 anyway).  The backend then also compiles the body on its own and the
 *	 anchored form (mi_pattern_parse), so its own parser has the last word.
 *
 * - It runs in bounded time.  PostgreSQL's engine matches without
 *	 back-references with DFAs, in time about linear in the subject times
 *	 the size of the expression (and the subject is bounded: a regex never
 *	 sees more than MI_MAX_VALUE_LEN bytes).  Back-references ("\1".."\9")
 *	 need its backtracking matcher, which is exponential in the worst case
 *	 (a pattern such as "(a*)(a*)(a*)\1\2\3" on a long SAN burns seconds
 *	 per login), and lookahead/lookbehind constraints ("(?=", "(?!", "(?<=",
 *	 "(?<!") run sub-matches at each position: both are refused.  Bounds
 *	 "{n,m}" are refused by the parser (braces are only {role}), so the
 *	 expression cannot be multiplied out either.  What is left still grows
 *	 steeply with the number of quantified pieces (measured on a 4 kB
 *	 subject: 32 "(a|b|ab|ba)*" groups take a few ms, 100 half a second,
 *	 200 five seconds), so an expression has at most
 *	 MI_MAX_REGEX_QUANTIFIERS quantifiers; non-greedy ones ("*?", "+?",
 *	 "??") change nothing in an anchored match and switch the engine to a
 *	 slower path (100 "(a*?b*)" groups: one second), so they are refused.  The backend's callback
 *	 refuses whatever its compiler flags as using back-references or
 *	 lookaround (re_info), at bind time and again before every match.
 *
 *-------------------------------------------------------------------------
 */
#include "match_regex.h"
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


/* why a "(?" is refused: the construct it starts */
static const char *
paren_q_what(const char *b, int blen, int i)
{
	/* b[i] == '(' and b[i + 1] == '?' */
	if (i + 2 < blen && (b[i + 2] == '=' || b[i + 2] == '!'))
		return "lookahead constraints (\"(?=\", \"(?!\") are not allowed: they cannot be bounded";
	if (i + 2 < blen && b[i + 2] == '<')
		return "lookbehind constraints (\"(?<=\", \"(?<!\") are not allowed: they cannot be bounded";
	return "embedded options (\"(?...)\") are not allowed: they change the meaning of the anchoring; only \"(?:\" may follow \"(\"";
}

bool
mi_regex_check(const char *b, int blen, char *err, size_t errlen)
{
	int			depth = 0;
	int			nquant = 0;
	bool		after_quant = false;	/* the previous token was a quantifier */

	if (blen >= 3 && memcmp(b, "***", 3) == 0)
	{
		mi_set_err(err, errlen,
				   "an ARE director (\"***:\", \"***=\") is not allowed: the expression is anchored as \"^(?:...)$\", where it would change meaning");
		return false;
	}
	for (int i = 0; i < blen; i++)
	{
		char		c = b[i];
		bool		was_quant = after_quant;

		after_quant = false;
		if (c == '*' || c == '+' || c == '?')
		{
			if (was_quant && c == '?')
			{
				mi_set_err(err, errlen,
						   "non-greedy quantifiers (\"*?\", \"+?\", \"??\") are not allowed: they change nothing in an anchored match and cost more");
				return false;
			}
			if (++nquant > MI_MAX_REGEX_QUANTIFIERS)
			{
				mi_set_err(err, errlen,
						   "too many quantifiers (\"*\", \"+\", \"?\") in the regular expression (at most %d): its matching time grows steeply with their number",
						   MI_MAX_REGEX_QUANTIFIERS);
				return false;
			}
			after_quant = true;
			continue;
		}
		if (c == '\\')
		{
			if (i + 1 >= blen)
			{
				mi_set_err(err, errlen, "the regular expression ends with a backslash");
				return false;
			}
			if (b[i + 1] >= '1' && b[i + 1] <= '9')
			{
				mi_set_err(err, errlen,
						   "back-references (\"\\%c\") are not allowed: their matching time cannot be bounded",
						   b[i + 1]);
				return false;
			}
			i++;
			continue;
		}
		if (c == '{')
		{
			/* {role}: the parser allows no other brace */
			i += ROLE_TOKEN_LEN - 1;
			continue;
		}
		if (c == '(')
		{
			if (i + 1 < blen && b[i + 1] == '?' &&
				!(i + 2 < blen && b[i + 2] == ':'))
			{
				mi_set_err(err, errlen, "%s", paren_q_what(b, blen, i));
				return false;
			}
			if (i + 2 < blen && b[i + 1] == '?')
				i += 2;			/* "(?:": its "?" is no quantifier */
			depth++;
			continue;
		}
		if (c == ')')
		{
			if (--depth < 0)
			{
				mi_set_err(err, errlen,
						   "unbalanced \")\" in the regular expression (it must be one complete expression: it is anchored as \"^(?:...)$\")");
				return false;
			}
			continue;
		}
		if (c == '[')
		{
			/* a bracket expression: up to its first unescaped "]" */
			int			j = i + 1;

			if (j < blen && b[j] == '^')
				j++;
			if (j < blen && b[j] == ']')
				j++;			/* a leading "]" is literal */
			for (;; j++)
			{
				if (j >= blen)
				{
					mi_set_err(err, errlen,
							   "unterminated bracket expression \"[\" in the regular expression");
					return false;
				}
				if (b[j] == ']')
					break;
				if (b[j] == '\\')
				{
					if (j + 1 >= blen)
					{
						mi_set_err(err, errlen, "the regular expression ends with a backslash");
						return false;
					}
					if (b[j + 1] >= '1' && b[j + 1] <= '9')
					{
						mi_set_err(err, errlen,
								   "back-references (\"\\%c\") are not allowed: their matching time cannot be bounded",
								   b[j + 1]);
						return false;
					}
					j++;
					continue;
				}
				if (b[j] == '[' && j + 1 < blen &&
					(b[j + 1] == ':' || b[j + 1] == '.' || b[j + 1] == '='))
				{
					/* [:class:], [.coll.], [=equiv=] */
					char		d = b[j + 1];
					int			k = j + 2;

					while (k + 1 < blen && !(b[k] == d && b[k + 1] == ']'))
						k++;
					if (k + 1 >= blen)
					{
						mi_set_err(err, errlen,
								   "unterminated \"[%c\" in a bracket expression of the regular expression",
								   d);
						return false;
					}
					j = k + 1;
					continue;
				}
				if (b[j] == '(' || b[j] == ')')
				{
					mi_set_err(err, errlen,
							   "\"%c\" inside a bracket expression is not allowed in the regular expression (write \"\\%c\" instead)",
							   b[j], b[j]);
					return false;
				}
				if (b[j] == '{')
				{
					mi_set_err(err, errlen,
							   "{role} is not allowed inside a bracket expression \"[...]\"");
					return false;
				}
			}
			i = j;
			continue;
		}
	}
	if (depth != 0)
	{
		mi_set_err(err, errlen,
				   "unbalanced \"(\" in the regular expression (it must be one complete expression: it is anchored as \"^(?:...)$\")");
		return false;
	}
	return true;
}

/*
 * The body alone with {role} replaced by role, as mi_regex_build does it
 * but without the anchoring (for compiling it on its own).  Allocated.
 */
char *
mi_regex_build_body(const MiPattern *p, const char *role)
{
	char	   *rx = mi_regex_build(p, role);
	size_t		n = strlen(rx);

	/* strip "^(?:" and ")$" */
	memmove(rx, rx + 4, n - 6);
	rx[n - 6] = '\0';
	return rx;
}
