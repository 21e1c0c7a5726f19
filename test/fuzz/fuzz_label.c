/*-------------------------------------------------------------------------
 *
 * fuzz_label.c
 *		libFuzzer target: parse arbitrary bytes as a label; if they parse,
 *		format and parse again.
 *
 * Invariants checked (abort on violation): a refusal always explains
 * itself and leaves the label empty; parse(format(x)) == x; format is
 * canonical (formatting the re-parsed label gives the same text).
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "label.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
labels_equal(const MiLabel *a, const MiLabel *b)
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	MiLabel		l;
	MiLabel		back;
	char		err[256];
	char	   *text;
	char	   *text2;

	err[0] = '\0';
	if (!mi_label_parse((const char *) data, size, &l, err, sizeof(err)))
	{
		if (err[0] == '\0' || l.nbindings != 0 || l.bindings != NULL ||
			l.has_cutoff)
			abort();
		return 0;
	}
	text = mi_label_format(&l);
	if (!mi_label_parse(text, strlen(text), &back, err, sizeof(err)))
		abort();
	if (!labels_equal(&l, &back))
		abort();
	text2 = mi_label_format(&back);
	if (strcmp(text, text2) != 0)
		abort();
	mi_free(text);
	mi_free(text2);
	mi_label_free(&l);
	mi_label_free(&back);
	return 0;
}
