/*-------------------------------------------------------------------------
 *
 * pattern_int.c
 *		Helpers every pattern module shares: templates with {role},
 *		splitting into segments, SHA-256 digests as text.
 *
 * Pure code (no backend dependencies beyond palloc), unit-tested and fuzzed
 * stand-alone with the rest of the pattern family.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "pattern_int.h"

/*
 * Does v[0..vlen) equal the template t[0..tlen) with every {role} replaced
 * by role?  The parser made sure every "{" in a template starts {role}.
 * ci: compare ASCII letters case-insensitively.  Linear in tlen + vlen.
 */
bool
mi_tmpl_eq(const char *t, int tlen, const char *role, size_t rlen,
		const char *v, size_t vlen, bool ci)
{
	size_t		vi = 0;
	int			ti = 0;

	while (ti < tlen)
	{
		if (t[ti] == '{')
		{
			if (role == NULL || vlen - vi < rlen)
				return false;
			for (size_t k = 0; k < rlen; k++)
			{
				unsigned char a = (unsigned char) role[k];
				unsigned char b = (unsigned char) v[vi + k];

				if (ci ? ascii_lower(a) != ascii_lower(b) : a != b)
					return false;
			}
			vi += rlen;
			ti += ROLE_TOKEN_LEN;
			continue;
		}
		if (vi >= vlen)
			return false;
		if (ci ? ascii_lower((unsigned char) t[ti]) != ascii_lower((unsigned char) v[vi])
			: t[ti] != v[vi])
			return false;
		ti++;
		vi++;
	}
	return vi == vlen;
}

/* split s[0..len) at sep into segs (allocated); returns the count */
int
mi_split(const char *s, int len, char sep, MiSeg **out)
{
	int			n = 1;
	int			start = 0;
	int			k = 0;
	MiSeg	   *segs;

	for (int i = 0; i < len; i++)
		if (s[i] == sep)
			n++;
	segs = (MiSeg *) mi_alloc0(sizeof(MiSeg) * n);
	for (int i = 0; i <= len; i++)
	{
		if (i == len || s[i] == sep)
		{
			segs[k].s = s + start;
			segs[k].len = i - start;
			k++;
			start = i + 1;
		}
	}
	*out = segs;
	return n;
}

/* 64 hex digits, colons anywhere ignored; false if not */
bool
mi_parse_hex_digest(const char *s, size_t len, unsigned char *digest)
{
	int			n = 0;

	for (size_t i = 0; i < len; i++)
	{
		int			hv;

		if (s[i] == ':')
			continue;
		hv = hex_value((unsigned char) s[i]);
		if (hv < 0 || n >= 64)
			return false;
		if (n % 2 == 0)
			digest[n / 2] = (unsigned char) (hv << 4);
		else
			digest[n / 2] |= (unsigned char) hv;
		n++;
	}
	return n == 64;
}

/* "sha256:" + 64 lowercase hex digits, allocated */
char *
mi_digest_text(const unsigned char *digest)
{
	static const char hex[] = "0123456789abcdef";
	char	   *t = (char *) mi_alloc0(7 + 64 + 1);

	memcpy(t, "sha256:", 7);
	for (int i = 0; i < 32; i++)
	{
		t[7 + 2 * i] = hex[digest[i] >> 4];
		t[7 + 2 * i + 1] = hex[digest[i] & 0xf];
	}
	return t;
}
