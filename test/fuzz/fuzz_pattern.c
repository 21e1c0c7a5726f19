/*-------------------------------------------------------------------------
 *
 * fuzz_pattern.c
 *		libFuzzer target: parse arbitrary bytes as an identity pattern and
 *		as an issuer pin.
 *
 * Invariants checked (abort on violation): a refusal always explains
 * itself; the canonical text of a parsed pattern parses again to the same
 * canonical text, kind and {role} flag; a normalized issuer normalizes to
 * itself; a pattern's comparison key parses to the same key and names
 * the same binding; no regex handed to the engine escapes "^(?:...)$"
 * (fuzz_regex.h).
 *
 *-------------------------------------------------------------------------
 */
#include "issuer_pin.h"
#include "mi_alloc.h"

#include "fuzz_regex.h"
#include "pattern.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	char		err[256];
	MiPattern  *p;
	char	   *issuer;

	err[0] = '\0';
	p = mi_pattern_parse(text, size, fuzz_regex_fn, NULL, err, sizeof(err));
	if (p == NULL)
	{
		if (err[0] == '\0')
			abort();
	}
	else
	{
		const char *canon = mi_pattern_text(p);
		MiPattern  *q = mi_pattern_parse(canon, strlen(canon), fuzz_regex_fn,
										 NULL, err, sizeof(err));
		MiCert		empty;
		int			idx;

		if (q == NULL || strcmp(mi_pattern_text(q), canon) != 0 ||
			mi_pattern_kind(q) != mi_pattern_kind(p) ||
			mi_pattern_has_role(q) != mi_pattern_has_role(p))
			abort();
		mi_pattern_free(q);

		/*
		 * The comparison key is itself an identity with the same key, and
		 * names the same binding as the text (unbind, bind idempotence).
		 */
		{
			char	   *key = mi_pattern_key(p);
			MiPattern  *k = mi_pattern_parse(key, strlen(key), NULL, NULL,
											 err, sizeof(err));
			char	   *key2;

			if (k == NULL)
				abort();
			key2 = mi_pattern_key(k);
			if (strcmp(key, key2) != 0 || mi_pattern_kind(k) != mi_pattern_kind(p))
				abort();
			if (!mi_identity_same(canon, key) || !mi_identity_same(key, canon))
				abort();
			mi_free(key2);
			mi_pattern_free(k);
			mi_free(key);
		}

		/* a certificate with nothing in it matches nothing but a regex */
		memset(&empty, 0, sizeof(empty));
		empty.subject_dn = "";
		(void) mi_pattern_match(p, &empty, "r", fuzz_regex_fn, NULL, &idx);
		mi_pattern_free(p);
	}

	err[0] = '\0';
	issuer = mi_issuer_normalize(text, size, err, sizeof(err));
	if (issuer == NULL)
	{
		if (err[0] == '\0')
			abort();
	}
	else
	{
		char	   *again = mi_issuer_normalize(issuer, strlen(issuer), err,
												sizeof(err));

		if (again == NULL || strcmp(again, issuer) != 0)
			abort();
		if (memchr(text, '\0', size) == NULL &&
			!mi_issuer_same(issuer, again))
			abort();
		mi_free(again);
		mi_free(issuer);
	}
	return 0;
}
