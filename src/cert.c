/*-------------------------------------------------------------------------
 *
 * cert.c
 *		Reading the facts mtls_ident needs from an X.509 certificate.
 *
 * This code runs inside a backend during login, on certificates chosen by
 * the client: a crash here takes the whole server through crash recovery.
 * So every ASN.1 string is read with its length (never as a C string),
 * every OpenSSL object is freed on every path, the OpenSSL error queue is
 * cleared before returning (PostgreSQL's own SSL code reads it), and
 * anything odd about a value marks it hostile rather than failing.  The
 * only hard failures are certificates we cannot read unambiguously (no
 * certificate, a duplicated subjectAltName extension, a SAN extension that
 * does not decode).
 *
 * Pure: OpenSSL and allocation only, no backend calls, so it can be unit
 * tested and fuzzed stand-alone.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* RFC 2253 form of a name, exactly as openssl x509 -nameopt RFC2253 */
static char *
name_rfc2253(const X509_NAME *name)
{
	BIO		   *bio;
	char	   *data = NULL;
	long		len;
	char	   *out;

	if (name == NULL)
		return mi_strdup("");
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return mi_strdup("");
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
	{
		BIO_free(bio);
		return mi_strdup("");
	}
	len = BIO_get_mem_data(bio, &data);
	if (len < 0 || data == NULL)
		out = mi_strdup("");
	else
	{
		/* the printer escapes control bytes, but be sure: no NUL inside */
		out = mi_strndup(data, (size_t) len);
		for (long i = 0; i < len; i++)
			if (out[i] == '\0')
				out[i] = '?';
	}
	BIO_free(bio);
	return out;
}

/*
 * The canonical form X509_NAME_cmp compares (OpenSSL's x509_name_canon and
 * asn1_string_canon): for each attribute, in order, its RDN index, its OID
 * and its value, where a value of a character string type (UTF8String,
 * BMPString, UniversalString, PrintableString, T61String, IA5String,
 * VisibleString) is converted to UTF-8, stripped of leading and trailing
 * white space, with inner runs of white space collapsed to one space and
 * ASCII letters lowercased (bytes of non-ASCII characters are kept); a
 * value of any other type is kept as its type and bytes.  Serialised with
 * lengths, so that the form is unambiguous, and digested with SHA-256.
 */
#define MI_CANON_MASK (B_ASN1_UTF8STRING | B_ASN1_BMPSTRING | \
					   B_ASN1_UNIVERSALSTRING | B_ASN1_PRINTABLESTRING | \
					   B_ASN1_T61STRING | B_ASN1_IA5STRING | B_ASN1_VISIBLESTRING)

static bool
canon_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
		c == '\r';
}

static bool
canon_add(EVP_MD_CTX *md, const void *data, size_t len)
{
	uint32_t	n = (uint32_t) len;

	return EVP_DigestUpdate(md, &n, sizeof(n)) == 1 &&
		(len == 0 || EVP_DigestUpdate(md, data, len) == 1);
}

static bool
canon_value(EVP_MD_CTX *md, const ASN1_STRING *v)
{
	unsigned char *utf8 = NULL;
	int			len;
	int			type = ASN1_STRING_type(v);
	unsigned char tag;
	bool		ok;

	if (!(ASN1_tag2bit(type) & MI_CANON_MASK))
	{
		int32_t		t = type;

		tag = 'R';
		return EVP_DigestUpdate(md, &tag, 1) == 1 &&
			EVP_DigestUpdate(md, &t, sizeof(t)) == 1 &&
			canon_add(md, ASN1_STRING_get0_data(v),
					  ASN1_STRING_length(v) > 0 ? (size_t) ASN1_STRING_length(v) : 0);
	}
	len = ASN1_STRING_to_UTF8(&utf8, v);
	if (len < 0)
		return false;
	{
		unsigned char *from = utf8;
		unsigned char *to = utf8;
		unsigned char *end;

		while (len > 0 && canon_space(*from))
			from++, len--;
		while (len > 0 && canon_space(from[len - 1]))
			len--;
		end = from + len;
		while (from < end)
		{
			if (*from & 0x80)
				*to++ = *from++;
			else if (canon_space(*from))
			{
				*to++ = ' ';
				while (from < end && canon_space(*from))
					from++;
			}
			else
			{
				*to++ = (*from >= 'A' && *from <= 'Z') ? *from + ('a' - 'A') : *from;
				from++;
			}
		}
		tag = 'S';
		ok = EVP_DigestUpdate(md, &tag, 1) == 1 &&
			canon_add(md, utf8, (size_t) (to - utf8));
	}
	OPENSSL_free(utf8);
	return ok;
}

bool
mi_name_key(const void *name_arg, unsigned char key[MI_NAME_KEY_LEN])
{
	const X509_NAME *name = (const X509_NAME *) name_arg;
	EVP_MD_CTX *md;
	unsigned int mdlen = 0;
	bool		ok;
	int			n;

	if (name == NULL || (md = EVP_MD_CTX_new()) == NULL)
		return false;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	n = X509_NAME_entry_count(name);
	for (int i = 0; ok && i < n; i++)
	{
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
		int32_t		set = X509_NAME_ENTRY_set(e);
		unsigned char oid[256];
		int			oidlen = OBJ_obj2txt((char *) oid, sizeof(oid), obj, 1);

		ok = oidlen > 0 && oidlen < (int) sizeof(oid) &&
			EVP_DigestUpdate(md, &set, sizeof(set)) == 1 &&
			canon_add(md, oid, (size_t) oidlen) &&
			canon_value(md, X509_NAME_ENTRY_get_data(e));
	}
	ok = ok && EVP_DigestFinal_ex(md, key, &mdlen) == 1 &&
		mdlen == MI_NAME_KEY_LEN;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* uppercase hex of the serial, as openssl x509 -serial prints it */
static char *
serial_hex(const ASN1_INTEGER *serial)
{
	const unsigned char *d;
	int			len;
	bool		negative;
	char	   *out;
	char	   *o;
	static const char hex[] = "0123456789ABCDEF";

	if (serial == NULL)
		return mi_strdup("0");
	d = ASN1_STRING_get0_data(serial);
	len = ASN1_STRING_length(serial);
	negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
	if (d == NULL || len <= 0)
		return mi_strdup(negative ? "-00" : "00");
	/* i2a_ASN1_INTEGER writes every content byte as two hex digits */
	out = (char *) mi_alloc0((size_t) len * 2 + 2);
	o = out;
	if (negative)
		*o++ = '-';
	for (int i = 0; i < len; i++)
	{
		*o++ = hex[d[i] >> 4];
		*o++ = hex[d[i] & 0xf];
	}
	return out;
}

static bool
asn1_time_to_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm	tm;
	int64_t		days;
	int			y;
	int			m;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return false;
	/* days from civil (proleptic Gregorian), independent of time_t width */
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	y -= m <= 2;
	{
		int64_t		era = (y >= 0 ? y : y - 399) / 400;
		int64_t		yoe = y - era * 400;
		int64_t		doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm.tm_mday - 1;
		int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	*out = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return true;
}

/* an IA5String SAN value: copy the bytes, flag anything odd */
static void
read_ia5(MiSan *san, const ASN1_STRING *s)
{
	const unsigned char *d = s ? ASN1_STRING_get0_data(s) : NULL;
	int			len = s ? ASN1_STRING_length(s) : 0;

	if (d == NULL || len < 0)
	{
		san->value = mi_strdup("");
		san->len = 0;
		san->hostile = true;
		return;
	}
	if (len > MI_MAX_VALUE_LEN)
	{
		len = MI_MAX_VALUE_LEN;
		san->hostile = true;
	}
	san->value = mi_strndup((const char *) d, (size_t) len);
	san->len = len;
	if (len == 0)
		san->hostile = true;
	for (int i = 0; i < len; i++)
		if (d[i] < 0x21 || d[i] > 0x7e)
			san->hostile = true;
}

static void
read_ip(MiSan *san, const ASN1_OCTET_STRING *s)
{
	const unsigned char *d = s ? ASN1_STRING_get0_data(s) : NULL;
	int			len = s ? ASN1_STRING_length(s) : 0;
	char		buf[INET6_ADDRSTRLEN + 1];

	if (d != NULL && (len == 4 || len == 16))
	{
		memcpy(san->ip, d, (size_t) len);
		san->iplen = len;
		if (inet_ntop(len == 4 ? AF_INET : AF_INET6, d, buf, sizeof(buf)) != NULL)
		{
			san->value = mi_strdup(buf);
			san->len = (int) strlen(buf);
			return;
		}
	}
	/* malformed: show the bytes in hex, never match */
	san->hostile = true;
	san->iplen = 0;
	if (d == NULL || len <= 0)
	{
		san->value = mi_strdup("");
		san->len = 0;
		return;
	}
	if (len > 64)
		len = 64;
	san->value = (char *) mi_alloc0((size_t) len * 2 + 1);
	for (int i = 0; i < len; i++)
		snprintf(san->value + 2 * i, 3, "%02x", d[i]);
	san->len = len * 2;
}

static const char *
other_type_name(int type)
{
	switch (type)
	{
		case GEN_OTHERNAME:
			return "othername";
		case GEN_X400:
			return "x400";
		case GEN_DIRNAME:
			return "dirname";
		case GEN_EDIPARTY:
			return "ediparty";
		case GEN_RID:
			return "rid";
		default:
			return "unknown";
	}
}

static bool
read_sans(X509 *x, MiCert *out, char *err, size_t errlen)
{
	int			crit = -1;
	GENERAL_NAMES *gens;
	int			n;

	gens = (GENERAL_NAMES *) X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL)
	{
		if (crit == -1)
			return true;		/* no SAN extension */
		set_err(err, errlen, crit == -2
				? "certificate has more than one subjectAltName extension"
				: "certificate's subjectAltName extension cannot be decoded");
		return false;
	}

	n = sk_GENERAL_NAME_num(gens);
	if (n > MI_MAX_SANS)
	{
		out->sans_truncated = true;
		n = MI_MAX_SANS;
	}
	out->sans = (MiSan *) mi_alloc0(sizeof(MiSan) * (size_t) (n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
	{
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		MiSan	   *san = &out->sans[out->nsans];

		if (g == NULL)
			continue;
		switch (g->type)
		{
			case GEN_URI:
				san->kind = MI_SAN_URI;
				read_ia5(san, g->d.uniformResourceIdentifier);
				break;
			case GEN_DNS:
				san->kind = MI_SAN_DNS;
				read_ia5(san, g->d.dNSName);
				break;
			case GEN_EMAIL:
				san->kind = MI_SAN_EMAIL;
				read_ia5(san, g->d.rfc822Name);
				break;
			case GEN_IPADD:
				san->kind = MI_SAN_IP;
				read_ip(san, g->d.iPAddress);
				break;
			default:
				san->kind = MI_SAN_OTHER;
				san->value = mi_strdup(other_type_name(g->type));
				san->len = (int) strlen(san->value);
				san->hostile = true;
				break;
		}
		out->nsans++;
	}
	GENERAL_NAMES_free(gens);
	return true;
}

static void
read_cn(X509 *x, MiCert *out)
{
	X509_NAME  *name = X509_get_subject_name(x);
	int			idx;
	X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int			len;

	if (name == NULL)
		return;
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return;
	e = X509_NAME_get_entry(name, idx);
	len = e ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) : -1;
	if (len < 0 || utf8 == NULL)
	{
		out->cn = mi_strdup("");
		out->cn_len = 0;
		out->cn_hostile = true;
		return;
	}
	if (len > MI_MAX_VALUE_LEN)
	{
		len = MI_MAX_VALUE_LEN;
		out->cn_hostile = true;
	}
	out->cn = mi_strndup((const char *) utf8, (size_t) len);
	out->cn_len = len;
	OPENSSL_free(utf8);
	for (int i = 0; i < len; i++)
		if ((unsigned char) out->cn[i] < 0x20 || out->cn[i] == 0x7f)
			out->cn_hostile = true;
	/* more than one CN: ambiguous, never matched */
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		out->cn_hostile = true;
}

static void
read_eku(X509 *x, MiCert *out)
{
	int			crit = -1;
	EXTENDED_KEY_USAGE *eku;
	int			n;

	eku = (EXTENDED_KEY_USAGE *) X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	if (eku == NULL)
	{
		if (crit != -1)
		{
			/* duplicated or undecodable: an EKU we cannot read allows nothing */
			out->has_eku = true;
			out->eku_client_auth = false;
			out->eku = (char **) mi_alloc0(sizeof(char *));
		}
		return;
	}
	out->has_eku = true;
	n = sk_ASN1_OBJECT_num(eku);
	if (n < 0)
		n = 0;
	if (n > 64)
		n = 64;
	out->eku = (char **) mi_alloc0(sizeof(char *) * (size_t) (n + 1));
	for (int i = 0; i < n; i++)
	{
		const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
		int			nid = obj ? OBJ_obj2nid(obj) : NID_undef;
		char		buf[128];

		if (nid == NID_client_auth)
			out->eku_client_auth = true;
		if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
			snprintf(buf, sizeof(buf), "%s", OBJ_nid2sn(nid));
		else if (obj == NULL || OBJ_obj2txt(buf, sizeof(buf), obj, 1) <= 0)
			snprintf(buf, sizeof(buf), "unknown");
		out->eku[out->neku++] = mi_strdup(buf);
	}
	EXTENDED_KEY_USAGE_free(eku);
}

static void
add_chain_entry(MiCert *out, int cap, X509 *ca, const X509_NAME *dn_only)
{
	MiChainEntry *e;

	if (out->nchain >= cap)
		return;
	e = &out->chain[out->nchain++];
	if (ca != NULL)
	{
		unsigned int mdlen = 0;

		e->subject_dn = name_rfc2253(X509_get_subject_name(ca));
		e->has_sha256 = X509_digest(ca, EVP_sha256(), e->sha256, &mdlen) == 1 &&
			mdlen == 32;
	}
	else
		e->subject_dn = name_rfc2253(dn_only);
}

/* everything but the chain */
static bool
read_leaf(X509 *x, MiCert *out, char *err, size_t errlen)
{
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (x == NULL)
	{
		set_err(err, errlen, "no certificate");
		return false;
	}
	if (X509_digest(x, EVP_sha256(), out->sha256, &mdlen) != 1 || mdlen != 32)
	{
		set_err(err, errlen, "cannot compute the certificate's SHA-256 fingerprint");
		return false;
	}
	for (int i = 0; i < 32; i++)
	{
		out->fingerprint[2 * i] = hex[out->sha256[i] >> 4];
		out->fingerprint[2 * i + 1] = hex[out->sha256[i] & 0xf];
	}
	out->fingerprint[64] = '\0';

	if (!asn1_time_to_unix(X509_get0_notBefore(x), &out->not_before) ||
		!asn1_time_to_unix(X509_get0_notAfter(x), &out->not_after))
	{
		set_err(err, errlen, "certificate has an unreadable validity period");
		return false;
	}

	out->subject_dn = name_rfc2253(X509_get_subject_name(x));
	out->issuer_dn = name_rfc2253(X509_get_issuer_name(x));
	out->has_issuer_key = mi_name_key(X509_get_issuer_name(x), out->issuer_key);
	out->serial_hex = serial_hex(X509_get0_serialNumber(x));
	read_cn(x, out);
	read_eku(x, out);
	return read_sans(x, out, err, errlen);
}

static bool
finish(bool ok, MiCert *out)
{
	ERR_clear_error();
	if (!ok)
		mi_cert_free(out);
	return ok;
}

bool
mi_cert_from_x509(const void *x509, const void *chain_arg, MiCert *out,
				  char *err, size_t errlen)
{
	X509	   *x = (X509 *) x509;
	STACK_OF(X509) *chain = (STACK_OF(X509) *) chain_arg;
	int			n;

	memset(out, 0, sizeof(*out));
	if (!read_leaf(x, out, err, errlen))
		return finish(false, out);

	n = chain ? sk_X509_num(chain) : 0;
	out->chain = (MiChainEntry *) mi_alloc0(sizeof(MiChainEntry) * MI_MAX_CHAIN);
	if (n > 1)
	{
		for (int i = 1; i < n; i++)
			add_chain_entry(out, MI_MAX_CHAIN, sk_X509_value(chain, i), NULL);
	}
	else
		add_chain_entry(out, MI_MAX_CHAIN, NULL, X509_get_issuer_name(x));
	return finish(true, out);
}

bool
mi_cert_from_der(const unsigned char *der, size_t len, MiCert *out,
				 char *err, size_t errlen)
{
	const unsigned char *p = der;
	X509	   *x;
	bool		ok;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0 || len > (size_t) LONG_MAX)
	{
		set_err(err, errlen, "empty certificate");
		return finish(false, out);
	}
	x = d2i_X509(NULL, &p, (long) len);
	if (x == NULL)
	{
		set_err(err, errlen, "malformed DER certificate");
		return finish(false, out);
	}
	if ((size_t) (p - der) != len)
	{
		X509_free(x);
		set_err(err, errlen, "trailing bytes after the DER certificate");
		return finish(false, out);
	}
	ok = mi_cert_from_x509(x, NULL, out, err, errlen);
	X509_free(x);
	return finish(ok, out);
}

/*
 * PEM text: the first CERTIFICATE block is the leaf, any further ones its
 * (unverified) chain.  PEM_read_bio_X509 skips blocks of other types (a
 * private key, say), so text without any certificate block is "no PEM
 * certificate found"; a certificate block that does not decode is an error.
 */
bool
mi_cert_from_pem(const char *pem, size_t len, MiCert *out,
				 char *err, size_t errlen)
{
	BIO		   *bio;
	X509	   *leaf;
	X509	   *ca;
	bool		ok;

	memset(out, 0, sizeof(*out));
	if (pem == NULL || len == 0 || len > (size_t) INT_MAX)
	{
		set_err(err, errlen, "no PEM certificate found");
		return finish(false, out);
	}
	bio = BIO_new_mem_buf(pem, (int) len);
	if (bio == NULL)
	{
		set_err(err, errlen, "out of memory");
		return finish(false, out);
	}
	leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (leaf == NULL)
	{
		unsigned long e = ERR_peek_last_error();

		BIO_free(bio);
		set_err(err, errlen,
				ERR_GET_REASON(e) == PEM_R_NO_START_LINE
				? "no PEM certificate found"
				: "malformed PEM certificate");
		return finish(false, out);
	}
	ok = read_leaf(leaf, out, err, errlen);
	if (ok)
	{
		out->chain = (MiChainEntry *) mi_alloc0(sizeof(MiChainEntry) * MI_MAX_CHAIN);
		add_chain_entry(out, MI_MAX_CHAIN, NULL, X509_get_issuer_name(leaf));
		while (out->nchain < MI_MAX_CHAIN &&
			   (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		{
			add_chain_entry(out, MI_MAX_CHAIN, ca, NULL);
			X509_free(ca);
		}
	}
	X509_free(leaf);
	BIO_free(bio);
	return finish(ok, out);
}

void
mi_cert_free(MiCert *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->nsans; i++)
		mi_free(c->sans[i].value);
	mi_free(c->sans);
	mi_free(c->subject_dn);
	mi_free(c->cn);
	mi_free(c->issuer_dn);
	mi_free(c->serial_hex);
	for (int i = 0; i < c->neku; i++)
		mi_free(c->eku[i]);
	mi_free(c->eku);
	for (int i = 0; i < c->nchain; i++)
		mi_free(c->chain[i].subject_dn);
	mi_free(c->chain);
	memset(c, 0, sizeof(*c));
}

const char *
mi_san_kind_name(MiSanKind kind)
{
	switch (kind)
	{
		case MI_SAN_URI:
			return "uri";
		case MI_SAN_DNS:
			return "dns";
		case MI_SAN_EMAIL:
			return "email";
		case MI_SAN_IP:
			return "ip";
		default:
			return "other";
	}
}

char *
mi_san_typed(const MiSan *san)
{
	const char *kind = mi_san_kind_name(san->kind);
	size_t		klen = strlen(kind);
	int			len = san->value ? san->len : 0;
	char	   *out = (char *) mi_alloc0(klen + 1 + (size_t) (len > 0 ? len : 0) * 4 + 1);
	char	   *o = out;

	memcpy(o, kind, klen);
	o += klen;
	*o++ = ':';
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) san->value[i];

		if (c == '\\')
		{
			*o++ = '\\';
			*o++ = '\\';
		}
		else if (c < 0x20 || c > 0x7e)
		{
			snprintf(o, 5, "\\x%02x", c);
			o += 4;
		}
		else
			*o++ = (char) c;
	}
	*o = '\0';
	return out;
}
