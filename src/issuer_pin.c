/*-------------------------------------------------------------------------
 *
 * issuer_pin.c
 *		Issuer pins: "sha256:<hex>" or an RFC 2253 DN, and whether a
 *		certificate's verified chain contains the pinned CA.
 *
 * A DN pin is compared as text with the RFC 2253 subject of each chain
 * certificate (as cert.c writes it): a different spelling of the same name
 * does not match, so a pin can only refuse, never admit, by its spelling.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "mi_err.h"
#include "issuer_pin.h"
#include "pattern_int.h"

#define MI_MAX_ISSUER_LEN 1024

/* does text start with "sha256:", the "sha" in any case (as accepted)? */
static bool
is_sha256_pin(const char *text, size_t len)
{
	return len >= 7 && ascii_lower((unsigned char) text[0]) == 's' &&
		ascii_lower((unsigned char) text[1]) == 'h' &&
		ascii_lower((unsigned char) text[2]) == 'a' &&
		memcmp(text + 3, "256:", 4) == 0;
}

char *
mi_issuer_normalize(const char *text, size_t len, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || len == 0)
	{
		mi_set_err(err, errlen, "empty issuer");
		return NULL;
	}
	if (len > MI_MAX_ISSUER_LEN)
	{
		mi_set_err(err, errlen, "issuer is too long (%zu bytes, at most %d)",
				len, MI_MAX_ISSUER_LEN);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (is_ctrl((unsigned char) text[i]))
		{
			mi_set_err(err, errlen,
					"issuer contains a control character (0x%02x)",
					(unsigned char) text[i]);
			return NULL;
		}
	}
	if (is_sha256_pin(text, len))
	{
		unsigned char digest[32];

		if (!mi_parse_hex_digest(text + 7, len - 7, digest))
		{
			mi_set_err(err, errlen,
					"invalid issuer fingerprint \"%.*s\" (expected sha256: and 64 hex digits, colons optional)",
					(int) len, text);
			return NULL;
		}
		return mi_digest_text(digest);
	}
	if (memchr(text, '=', len) == NULL)
	{
		mi_set_err(err, errlen,
				"invalid issuer \"%.*s\" (expected an RFC 2253 distinguished name such as \"CN=Example CA,O=Example\" or sha256:<fingerprint>)",
				(int) len, text);
		return NULL;
	}
	return mi_strndup(text, len);
}

bool
mi_issuer_match(const char *issuer_pin, const MiCert *cert)
{
	if (issuer_pin == NULL || cert == NULL)
		return false;
	/* a pin written by hand may be "SHA256:AB:CD:..." (normalize took it) */
	if (is_sha256_pin(issuer_pin, strlen(issuer_pin)))
	{
		unsigned char digest[32];

		if (!mi_parse_hex_digest(issuer_pin + 7, strlen(issuer_pin + 7), digest))
			return false;
		for (int i = 0; i < cert->nchain; i++)
			if (cert->chain[i].has_sha256 &&
				memcmp(cert->chain[i].sha256, digest, 32) == 0)
				return true;
		return false;
	}
	for (int i = 0; i < cert->nchain; i++)
		if (cert->chain[i].subject_dn != NULL &&
			strcmp(cert->chain[i].subject_dn, issuer_pin) == 0)
			return true;
	return false;
}

bool
mi_issuer_same(const char *a, const char *b)
{
	char		err[8];
	char	   *na;
	char	   *nb;
	bool		same;

	if (a == NULL || b == NULL)
		return a == b;
	if (strcmp(a, b) == 0)
		return true;
	na = mi_issuer_normalize(a, strlen(a), err, sizeof(err));
	nb = na ? mi_issuer_normalize(b, strlen(b), err, sizeof(err)) : NULL;
	same = na != NULL && nb != NULL && strcmp(na, nb) == 0;
	mi_free(na);
	mi_free(nb);
	return same;
}
