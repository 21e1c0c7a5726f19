/*-------------------------------------------------------------------------
 *
 * fuzz_match.c
 *		libFuzzer target: parse a pattern and match it against a fake
 *		certificate, both taken from the input.
 *
 * Input: fields separated by "\n":
 *		0: the identity pattern ("kind:pattern")
 *		1: the role name (a single 0xff byte: no role, NULL)
 *		2: the subject CN (starting 0xff: no CN; starting 0xfe: CN flagged
 *		   hostile, the rest is the CN)
 *		3: the subject DN; also the DN of the one chain entry, and its first
 *		   32 bytes are the certificate's SHA-256 and the chain entry's
 *		4...: one SAN each: the first byte selects the kind (low bits mod 5:
 *		   uri, dns, email, ip, other; bit 0x80: flagged hostile), the rest
 *		   is the value (for ip: the 4 or 16 address bytes)
 * Values are copied into buffers of their exact length so that ASan sees
 * any read past a SAN's len.
 *
 * Invariants checked (abort on violation): a matched SAN index is in
 * range, of the pattern's kind and well-formed, -1 only for cn/dn/sha256;
 * a pattern without {role} matches the same way whatever the role; a
 * certificate whose SANs are all flagged hostile matches no SAN pattern;
 * a normalized issuer pin (from field 1) can be matched; the exact-binding
 * prefilter (mi_san_index_may_match) never rules out a pattern that
 * matches, given as typed or in its canonical form.
 *
 *-------------------------------------------------------------------------
 */
#include "issuer_pin.h"
#include "mi_alloc.h"

#include "fuzz_regex.h"
#include "pattern.h"
#include "san_index.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS (4 + MI_MAX_SANS)

static char *
copy_exact(const uint8_t *s, size_t len)
{
	char	   *d = (char *) malloc(len ? len : 1);

	memcpy(d, s, len);
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *fs[MAX_FIELDS];
	size_t		fl[MAX_FIELDS];
	int			nf = 0;
	size_t		start = 0;
	char		err[256];
	MiPattern  *p;
	MiCert		c;
	MiChainEntry chain;
	char	   *role = NULL;
	int			idx;
	int			idx2;
	bool		m;
	MiKind		kind;

	for (size_t i = 0; i <= size && nf < MAX_FIELDS; i++)
	{
		if (i == size || data[i] == '\n')
		{
			fs[nf] = data + start;
			fl[nf] = i - start;
			nf++;
			start = i + 1;
		}
	}
	while (nf < 4)
	{
		fs[nf] = data;
		fl[nf] = 0;
		nf++;
	}

	p = mi_pattern_parse((const char *) fs[0], fl[0], fuzz_regex_fn, NULL,
						 err, sizeof(err));
	if (p == NULL)
		return 0;
	kind = mi_pattern_kind(p);

	memset(&c, 0, sizeof(c));
	memset(&chain, 0, sizeof(chain));
	if (!(fl[1] == 1 && fs[1][0] == 0xff))
		role = mi_strndup((const char *) fs[1], fl[1]);
	if (fl[2] > 0 && fs[2][0] == 0xff)
		c.cn = NULL;
	else if (fl[2] > 0 && fs[2][0] == 0xfe)
	{
		c.cn = copy_exact(fs[2] + 1, fl[2] - 1);
		c.cn_len = (int) fl[2] - 1;
		c.cn_hostile = true;
	}
	else
	{
		c.cn = copy_exact(fs[2], fl[2]);
		c.cn_len = (int) fl[2];
	}
	c.subject_dn = mi_strndup((const char *) fs[3], fl[3]);
	memcpy(c.sha256, fs[3], fl[3] < 32 ? fl[3] : 32);
	chain.subject_dn = c.subject_dn;
	memcpy(chain.sha256, c.sha256, 32);
	chain.has_sha256 = fl[3] >= 32;
	c.chain = &chain;
	c.nchain = 1;

	c.nsans = nf - 4;
	c.sans = (MiSan *) calloc(c.nsans ? c.nsans : 1, sizeof(MiSan));
	for (int i = 0; i < c.nsans; i++)
	{
		const uint8_t *v = fs[4 + i];
		size_t		len = fl[4 + i];
		MiSan	   *san = &c.sans[i];
		unsigned	k = len ? v[0] : 0;

		san->kind = (MiSanKind) ((k & 0x7f) % 5);
		san->hostile = (k & 0x80) != 0;
		if (len > 0)
		{
			v++;
			len--;
		}
		san->value = copy_exact(v, len);
		san->len = (int) len;
		if (san->kind == MI_SAN_IP && (len == 4 || len == 16))
		{
			memcpy(san->ip, v, len);
			san->iplen = (int) len;
		}
	}

	/* match; the index must make sense */
	m = mi_pattern_match(p, &c, role, fuzz_regex_fn, NULL, &idx);
	if (!m && idx != -1)
		abort();
	if (m)
	{
		if (kind == MI_KIND_CN || kind == MI_KIND_DN || kind == MI_KIND_SHA256)
		{
			if (idx != -1)
				abort();
		}
		else
		{
			if (idx < 0 || idx >= c.nsans || !mi_san_wellformed(&c.sans[idx]))
				abort();
			if ((kind == MI_KIND_URI && c.sans[idx].kind != MI_SAN_URI) ||
				(kind == MI_KIND_DNS && c.sans[idx].kind != MI_SAN_DNS) ||
				(kind == MI_KIND_EMAIL && c.sans[idx].kind != MI_SAN_EMAIL) ||
				(kind == MI_KIND_IP && c.sans[idx].kind != MI_SAN_IP))
				abort();
		}
	}

	/* the exact-binding prefilter never rules out a pattern that matches */
	{
		MiSanIndex *ix = mi_san_index_build(&c);
		const char *canon = mi_pattern_text(p);

		if (m && (!mi_san_index_may_match(ix, canon, strlen(canon)) ||
				  !mi_san_index_may_match(ix, (const char *) fs[0], fl[0])))
			abort();
		mi_san_index_free(ix);
	}

	/* without {role}, the role makes no difference */
	if (!mi_pattern_has_role(p))
	{
		bool		m2 = mi_pattern_match(p, &c, "other/role.*", fuzz_regex_fn,
										  NULL, &idx2);

		if (m2 != m || idx2 != idx)
			abort();
	}

	/* all SANs hostile: no SAN kind can match */
	for (int i = 0; i < c.nsans; i++)
		c.sans[i].hostile = true;
	if (kind == MI_KIND_URI || kind == MI_KIND_DNS || kind == MI_KIND_EMAIL ||
		kind == MI_KIND_IP)
	{
		if (mi_pattern_match(p, &c, role, fuzz_regex_fn, NULL, &idx2))
			abort();
	}

	/* issuer pins */
	if (fl[1] > 0)
	{
		char	   *pin = mi_issuer_normalize((const char *) fs[1], fl[1],
											  err, sizeof(err));

		if (pin != NULL)
		{
			(void) mi_issuer_match(pin, &c);
			free(pin);
		}
	}

	for (int i = 0; i < c.nsans; i++)
		free(c.sans[i].value);
	free(c.sans);
	free(c.cn);
	free(c.subject_dn);
	free(role);
	mi_pattern_free(p);
	return 0;
}
