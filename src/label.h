/*-------------------------------------------------------------------------
 *
 * label.h
 *		The security label that holds a role's bindings.
 *
 * A role's label (provider "mtls_ident") holds all of its bindings and its
 * revocation cutoff as human-readable text, one entry a line:
 *
 *		bind "uri:spiffe://example.org/ns/prod/sa/billing"
 *		bind "dns:db.example.com" issuer "CN=Client CA,O=Example"
 *		revoked_before "2026-11-23 10:00:00.000000+00"
 *
 * Strings are double-quoted with \" and \\ as the only escapes; control
 * characters are not allowed anywhere.  doc/labels.md is the reference.
 * Pure logic: this module only parses and formats; it does not validate
 * the patterns (the caller runs mi_pattern_parse on each identity).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_LABEL_H
#define MI_LABEL_H

#include "mi_alloc.h"

/* most bindings one role's label may hold */
#define MI_MAX_BINDINGS 10000
/* longest label text */
#define MI_MAX_LABEL_LEN (4 * 1024 * 1024)

/*
 * Range of revoked_before cutoffs the label text can hold: 0000-01-01
 * 00:00:00 to 9999-12-31 23:59:59.999999 UTC (X.509 times cannot lie
 * outside it).  mi_label_format clamps a cutoff outside this range to it,
 * which changes no decision; callers may prefer to reject such input.
 */
#define MI_LABEL_MIN_CUTOFF INT64_C(-63113904000000000)
#define MI_LABEL_MAX_CUTOFF INT64_C(252455615999999999)

typedef struct MiBinding
{
	char	   *identity;		/* "kind:pattern" as stored */
	char	   *issuer;			/* issuer pin as stored, or NULL */
	signed char literal;		/* for the caller: 0 when parsed or added
								 * (bindings.c caches mi_identity_literal
								 * here, plus one) */
} MiBinding;

typedef struct MiLabel
{
	MiBinding  *bindings;
	int			nbindings;
	bool		has_cutoff;
	int64_t		cutoff;			/* PostgreSQL TimestampTz: microseconds since
								 * 2000-01-01 00:00:00 UTC */
} MiLabel;

/*
 * Parse label text (len bytes, need not be NUL-terminated).  On failure
 * return false with a message naming the line and what is wrong in err;
 * out is then empty.
 */
extern bool mi_label_parse(const char *text, size_t len, MiLabel *out,
						   char *err, size_t errlen);

/* Format a label; returns an allocated string ("" for an empty label). */
extern char *mi_label_format(const MiLabel *label);

/*
 * Append a binding (copies the strings).  The strings must not contain
 * control characters (mi_pattern_parse and mi_issuer_normalize refuse
 * them), or the formatted label will not parse.
 */
extern void mi_label_add(MiLabel *label, const char *identity,
						 const char *issuer);

extern void mi_label_free(MiLabel *label);

/* same bindings (identity and issuer, in order) and same cutoff? */
extern bool mi_label_equal(const MiLabel *a, const MiLabel *b);

#endif							/* MI_LABEL_H */
