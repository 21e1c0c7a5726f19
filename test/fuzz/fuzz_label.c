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
	if (!mi_label_equal(&l, &back))
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
