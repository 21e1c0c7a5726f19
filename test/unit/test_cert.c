/*-------------------------------------------------------------------------
 *
 * test_cert.c
 *		Unit tests of cert.c: reading an X.509 certificate into an MiCert.
 *
 * Every certificate is built here, at test time, with the OpenSSL 3 API
 * (EC P-256 keys, X509_new, hand-made GENERAL_NAMES with raw ASN.1 string
 * contents), signed, serialized to DER or PEM and read back with
 * mi_cert_from_der / mi_cert_from_pem / mi_cert_from_x509.  Each field of
 * the MiCert is checked against what was put in, and against OpenSSL's own
 * view where that is the documented form (RFC 2253 names, the SHA-256
 * fingerprint, the serial as i2a_ASN1_INTEGER prints it).
 *
 * The test frees everything it allocates, so that a build with
 * -fsanitize=address reports any leak in cert.c itself.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include <stdio.h>

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
#include "tap.h"

#define T_NB	INT64_C(1700000000)	/* 2023-11-14T22:13:20Z */
#define T_NA	INT64_C(1800000000)	/* 2027-01-15T08:00:00Z */

static EVP_PKEY *leaf_key;
static EVP_PKEY *ca_key;

/* ---------------------------------------------------------------------
 * Building certificates
 * ---------------------------------------------------------------------
 */

/*
 * A name from "/C=US/O=Example/CN=alice" (RDNs in encoding order, so the
 * RFC 2253 form is reversed).  Values are UTF-8 and may not contain '/'.
 */
static X509_NAME *
mkname(const char *spec)
{
	X509_NAME  *n = X509_NAME_new();
	char	   *copy = mi_strdup(spec);
	char	   *save = NULL;

	for (char *tok = strtok_r(copy, "/", &save); tok != NULL;
		 tok = strtok_r(NULL, "/", &save))
	{
		char	   *eq = strchr(tok, '=');

		if (eq == NULL)
			abort();
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8,
										(const unsigned char *) eq + 1, -1, -1, 0))
			abort();
	}
	mi_free(copy);
	return n;
}

/* add one RDN with raw UTF8String content (any bytes, any length) */
static void
add_raw_entry(X509_NAME *n, int nid, const void *bytes, int len)
{
	if (!X509_NAME_add_entry_by_NID(n, nid, V_ASN1_UTF8STRING,
									(const unsigned char *) bytes, len, -1, 0))
		abort();
}

/* a v3 certificate: serial 1, valid T_NB..T_NA, the leaf key, unsigned */
static X509 *
new_cert_names(X509_NAME *subject, X509_NAME *issuer)
{
	X509	   *x = X509_new();

	if (x == NULL || !X509_set_version(x, X509_VERSION_3) ||
		!ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
		!ASN1_TIME_set(X509_getm_notBefore(x), (time_t) T_NB) ||
		!ASN1_TIME_set(X509_getm_notAfter(x), (time_t) T_NA) ||
		!X509_set_subject_name(x, subject) ||
		!X509_set_issuer_name(x, issuer) ||
		!X509_set_pubkey(x, leaf_key))
		abort();
	return x;
}

static X509 *
new_cert(const char *subject, const char *issuer)
{
	X509_NAME  *s = mkname(subject);
	X509_NAME  *i = mkname(issuer);
	X509	   *x = new_cert_names(s, i);

	X509_NAME_free(s);
	X509_NAME_free(i);
	return x;
}

static void
sign(X509 *x, EVP_PKEY *key)
{
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		abort();
}

/* DER of x, allocated by OpenSSL */
static unsigned char *
der_of(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int			n = i2d_X509(x, &der);

	if (n <= 0)
		abort();
	*len = (size_t) n;
	return der;
}

/* PEM of x appended to buf (mi_realloc'd), *len updated */
static char *
pem_append(char *buf, size_t *len, X509 *x)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data = NULL;
	long		n;

	if (bio == NULL || !PEM_write_bio_X509(bio, x))
		abort();
	n = BIO_get_mem_data(bio, &data);
	buf = (char *) mi_realloc(buf, *len + (size_t) n + 1);
	memcpy(buf + *len, data, (size_t) n);
	*len += (size_t) n;
	buf[*len] = '\0';
	BIO_free(bio);
	return buf;
}

static GENERAL_NAME *
gn_ia5(int type, const void *bytes, int len)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (g == NULL || s == NULL || !ASN1_STRING_set(s, bytes, len))
		abort();
	GENERAL_NAME_set0_value(g, type, s);
	return g;
}

static GENERAL_NAME *
gn_str(int type, const char *s)
{
	return gn_ia5(type, s, (int) strlen(s));
}

static GENERAL_NAME *
gn_ip(const void *bytes, int len)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();

	if (g == NULL || s == NULL || !ASN1_OCTET_STRING_set(s, bytes, len))
		abort();
	GENERAL_NAME_set0_value(g, GEN_IPADD, s);
	return g;
}

/* otherName: a Microsoft UPN (1.3.6.1.4.1.311.20.2.3) as a UTF8String */
static GENERAL_NAME *
gn_othername(const char *upn)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1);
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
	ASN1_TYPE  *v = ASN1_TYPE_new();

	if (g == NULL || oid == NULL || s == NULL || v == NULL ||
		!ASN1_STRING_set(s, upn, (int) strlen(upn)))
		abort();
	ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
	if (!GENERAL_NAME_set0_othername(g, oid, v))
		abort();
	return g;
}

static GENERAL_NAME *
gn_dirname(const char *spec)
{
	GENERAL_NAME *g = GENERAL_NAME_new();

	if (g == NULL)
		abort();
	GENERAL_NAME_set0_value(g, GEN_DIRNAME, mkname(spec));
	return g;
}

static GENERAL_NAME *
gn_rid(const char *oid)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);

	if (g == NULL || o == NULL)
		abort();
	GENERAL_NAME_set0_value(g, GEN_RID, o);
	return g;
}

/* add a subjectAltName extension holding gens (consumed) */
static void
add_sans(X509 *x, GENERAL_NAMES *gens)
{
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND) != 1)
		abort();
	GENERAL_NAMES_free(gens);
}

static GENERAL_NAMES *
new_gens(void)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	if (gens == NULL)
		abort();
	return gens;
}

static void
push(GENERAL_NAMES *gens, GENERAL_NAME *g)
{
	if (sk_GENERAL_NAME_push(gens, g) <= 0)
		abort();
}

/* add an extendedKeyUsage extension with the given OIDs (dotted) */
static void
add_eku(X509 *x, int n, const char *const *oids)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();

	for (int i = 0; i < n; i++)
	{
		ASN1_OBJECT *o = OBJ_txt2obj(oids[i], 1);

		if (o == NULL || sk_ASN1_OBJECT_push(eku, o) <= 0)
			abort();
	}
	if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_APPEND) != 1)
		abort();
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

/* add an extension whose content is raw bytes (need not decode) */
static void
add_raw_ext(X509 *x, int nid, const void *bytes, int len)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;

	if (os == NULL || !ASN1_OCTET_STRING_set(os, bytes, len))
		abort();
	ext = X509_EXTENSION_create_by_NID(NULL, nid, 0, os);
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
}

/* r, after a diagnostic with err when r is false */
static bool
said(bool r, const char *err)
{
	if (!r)
		printf("# refused: %s\n", err);
	return r;
}

/* sign with the CA key, DER round trip, read with mi_cert_from_der */
static bool
read_der(X509 *x, MiCert *c, char *err, size_t errlen)
{
	size_t		len;
	unsigned char *der;
	bool		r;

	sign(x, ca_key);
	der = der_of(x, &len);
	err[0] = '\0';
	r = said(mi_cert_from_der(der, len, c, err, errlen), err);
	OPENSSL_free(der);
	return r;
}

/* ---------------------------------------------------------------------
 * OpenSSL's own view, and small checks
 * ---------------------------------------------------------------------
 */

static char *
ossl_dn(const X509_NAME *n)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data = NULL;
	long		len;
	char	   *out;

	if (bio == NULL || X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253) < 0)
		abort();
	len = BIO_get_mem_data(bio, &data);
	out = mi_strndup(data ? data : "", len > 0 ? (size_t) len : 0);
	BIO_free(bio);
	return out;
}

static bool
dn_is(const char *got, const X509_NAME *n)
{
	char	   *want = ossl_dn(n);
	bool		r = got != NULL && strcmp(got, want) == 0;

	if (!r)
		printf("#   DN: got \"%s\", OpenSSL prints \"%s\"\n", got ? got : "(null)", want);
	mi_free(want);
	return r;
}

static char *
ossl_serial(const ASN1_INTEGER *s)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data = NULL;
	long		len;
	char	   *out;

	if (bio == NULL || i2a_ASN1_INTEGER(bio, s) < 0)
		abort();
	len = BIO_get_mem_data(bio, &data);
	out = mi_strndup(data ? data : "", len > 0 ? (size_t) len : 0);
	BIO_free(bio);
	return out;
}

/* Unix seconds of an ASN1_TIME according to OpenSSL (ASN1_TIME_diff) */
static int64_t
ossl_unix(const ASN1_TIME *t)
{
	ASN1_TIME  *epoch = ASN1_TIME_set(NULL, 0);
	int			day = 0;
	int			sec = 0;

	if (epoch == NULL || !ASN1_TIME_diff(&day, &sec, epoch, t))
		abort();
	ASN1_TIME_free(epoch);
	return (int64_t) day * 86400 + sec;
}

static bool
str_is(const char *got, const char *want)
{
	bool		r = got != NULL && strcmp(got, want) == 0;

	if (!r)
		printf("#   got \"%s\", want \"%s\"\n", got ? got : "(null)", want);
	return r;
}

static bool
san_is(const MiSan *s, MiSanKind kind, const void *value, int len, bool hostile)
{
	bool		r = s->kind == kind && s->len == len && s->value != NULL &&
		memcmp(s->value, value, (size_t) len) == 0 && s->value[len] == '\0' &&
		s->hostile == hostile;

	if (!r)
		printf("#   SAN: kind %d len %d hostile %d value \"%.*s\"\n",
			   (int) s->kind, s->len, (int) s->hostile, s->len > 200 ? 200 : s->len,
			   s->value ? s->value : "");
	return r;
}

static bool
typed_is(const MiSan *s, const char *want)
{
	char	   *t = mi_san_typed(s);
	bool		r = strcmp(t, want) == 0;

	if (!r)
		printf("#   typed: got \"%s\", want \"%s\"\n", t, want);
	mi_free(t);
	return r;
}

/* a failed read left out empty and wrote a message */
static bool
refused(bool r, const MiCert *c, const char *err)
{
	return !r && err[0] != '\0' && c->sans == NULL && c->nsans == 0 &&
		c->subject_dn == NULL && c->issuer_dn == NULL && c->serial_hex == NULL &&
		c->cn == NULL && c->eku == NULL && c->chain == NULL && c->nchain == 0;
}

static bool
all_zero(const MiCert *c)
{
	static const MiCert zero;

	return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* ---------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------
 */

/* an ordinary client certificate: every field */
static void
test_basic(void)
{
	X509	   *x = new_cert("/C=US/O=Example/OU=eng/CN=alice",
							 "/O=Example/CN=Client CA");
	GENERAL_NAMES *gens = new_gens();
	static const unsigned char v4[4] = {10, 1, 2, 3};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 1};
	static const char *const eku[] = {"1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"};
	unsigned char md[32];
	unsigned int mdlen = 0;
	char		hex[65];
	char	   *want_serial;
	char	   *pem = NULL;
	size_t		pemlen = 0;
	size_t		derlen;
	unsigned char *der;
	MiCert		c;
	MiCert		p;
	char		err[256];
	bool		r;

	push(gens, gn_str(GEN_URI, "spiffe://example.org/ns/prod/sa/billing"));
	push(gens, gn_str(GEN_DNS, "db.example.com"));
	push(gens, gn_str(GEN_EMAIL, "dave@example.com"));
	push(gens, gn_ip(v4, 4));
	push(gens, gn_ip(v6, 16));
	push(gens, gn_str(GEN_DNS, "a.example.com"));
	push(gens, gn_str(GEN_URI, "https://example.org/x"));
	add_sans(x, gens);
	add_eku(x, 2, eku);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1A2B3C);
	sign(x, ca_key);

	der = der_of(x, &derlen);
	err[0] = '\0';
	r = said(mi_cert_from_der(der, derlen, &c, err, sizeof(err)), err);
	ok(r, "basic certificate: DER read");
	if (!r)
	{
		OPENSSL_free(der);
		X509_free(x);
		return;
	}

	/* SANs: order and kinds */
	ok(c.nsans == 7 && !c.sans_truncated, "basic: 7 SANs, not truncated");
	ok(san_is(&c.sans[0], MI_SAN_URI, "spiffe://example.org/ns/prod/sa/billing", 39, false),
	   "SAN 0 is the URI, as written");
	ok(san_is(&c.sans[1], MI_SAN_DNS, "db.example.com", 14, false), "SAN 1 is the DNS name");
	ok(san_is(&c.sans[2], MI_SAN_EMAIL, "dave@example.com", 16, false), "SAN 2 is the email");
	ok(san_is(&c.sans[3], MI_SAN_IP, "10.1.2.3", 8, false) &&
	   c.sans[3].iplen == 4 && memcmp(c.sans[3].ip, v4, 4) == 0,
	   "SAN 3 is IPv4 10.1.2.3, iplen 4, network-order bytes");
	ok(san_is(&c.sans[4], MI_SAN_IP, "2001:db8::1", 11, false) &&
	   c.sans[4].iplen == 16 && memcmp(c.sans[4].ip, v6, 16) == 0,
	   "SAN 4 is IPv6 in canonical text 2001:db8::1, iplen 16");
	ok(san_is(&c.sans[5], MI_SAN_DNS, "a.example.com", 13, false) &&
	   san_is(&c.sans[6], MI_SAN_URI, "https://example.org/x", 21, false),
	   "SANs 5 and 6 keep certificate order after the IPs");
	ok(c.sans[0].iplen == 0 && c.sans[1].iplen == 0 && c.sans[2].iplen == 0,
	   "non-IP SANs have iplen 0");

	/* names */
	ok(str_is(c.subject_dn, "CN=alice,OU=eng,O=Example,C=US"),
	   "subject DN in RFC 2253 order");
	ok(dn_is(c.subject_dn, X509_get_subject_name(x)), "subject DN as OpenSSL prints it");
	ok(str_is(c.issuer_dn, "CN=Client CA,O=Example") &&
	   dn_is(c.issuer_dn, X509_get_issuer_name(x)), "issuer DN");
	ok(str_is(c.cn, "alice") && c.cn_len == 5 && !c.cn_hostile, "CN alice, not hostile");

	/* serial, fingerprint, validity */
	want_serial = ossl_serial(X509_get0_serialNumber(x));
	ok(str_is(c.serial_hex, "1A2B3C") && str_is(c.serial_hex, want_serial),
	   "serial 0x1A2B3C as uppercase hex, as i2a_ASN1_INTEGER prints it");
	mi_free(want_serial);
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
		abort();
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ok(memcmp(c.sha256, md, 32) == 0, "sha256 is X509_digest(sha256)");
	ok(str_is(c.fingerprint, hex), "fingerprint is its lowercase hex");
	{
		unsigned char md2[32];

		if (EVP_Digest(der, derlen, md2, NULL, EVP_sha256(), NULL) != 1)
			abort();
		ok(memcmp(c.sha256, md2, 32) == 0, "sha256 is the digest of the DER bytes read");
	}
	ok(c.not_before == T_NB && c.not_after == T_NA, "notBefore/notAfter in Unix seconds");

	/* EKU */
	ok(c.has_eku && c.eku_client_auth, "EKU clientAuth+serverAuth: has_eku, client_auth");
	ok(c.neku == 2 && str_is(c.eku[0], "clientAuth") && str_is(c.eku[1], "serverAuth"),
	   "EKU names are short names, in order");

	/* chain: from DER only the issuer DN */
	ok(c.nchain == 1 && str_is(c.chain[0].subject_dn, "CN=Client CA,O=Example") &&
	   !c.chain[0].has_sha256,
	   "DER alone: one chain entry, the issuer DN, without sha256");

	/* typed forms */
	ok(typed_is(&c.sans[0], "uri:spiffe://example.org/ns/prod/sa/billing") &&
	   typed_is(&c.sans[1], "dns:db.example.com") &&
	   typed_is(&c.sans[2], "email:dave@example.com") &&
	   typed_is(&c.sans[3], "ip:10.1.2.3") &&
	   typed_is(&c.sans[4], "ip:2001:db8::1"),
	   "typed forms of ordinary SANs");

	/* the same certificate as PEM gives the same facts */
	pem = pem_append(pem, &pemlen, x);
	err[0] = '\0';
	r = said(mi_cert_from_pem(pem, pemlen, &p, err, sizeof(err)), err);
	ok(r, "basic certificate: PEM read");
	if (r)
	{
		bool		same = p.nsans == c.nsans &&
			strcmp(p.subject_dn, c.subject_dn) == 0 &&
			strcmp(p.issuer_dn, c.issuer_dn) == 0 &&
			strcmp(p.serial_hex, c.serial_hex) == 0 &&
			strcmp(p.fingerprint, c.fingerprint) == 0 &&
			p.not_before == c.not_before && p.not_after == c.not_after &&
			p.neku == c.neku && p.eku_client_auth == c.eku_client_auth &&
			p.cn_len == c.cn_len && strcmp(p.cn, c.cn) == 0;

		for (int i = 0; same && i < c.nsans; i++)
			same = p.sans[i].kind == c.sans[i].kind && p.sans[i].len == c.sans[i].len &&
				memcmp(p.sans[i].value, c.sans[i].value, (size_t) c.sans[i].len) == 0;
		ok(same, "PEM and DER give the same facts");
		ok(p.nchain == 1 && !p.chain[0].has_sha256 &&
		   str_is(p.chain[0].subject_dn, "CN=Client CA,O=Example"),
		   "PEM with the leaf alone: chain is the issuer DN only");
		/* PEM text need not be NUL-terminated: the length is what counts */
		mi_cert_free(&p);
		ok(mi_cert_from_pem(pem, pemlen - 30, &p, err, sizeof(err)) == false &&
		   err[0] != '\0' && all_zero(&p),
		   "PEM cut 30 bytes before its end is refused (%s)", err);
	}

	/* mi_cert_free on a filled MiCert empties it; twice is harmless */
	mi_cert_free(&c);
	ok(all_zero(&c), "mi_cert_free zeroes a filled MiCert");
	mi_cert_free(&c);
	ok(all_zero(&c), "mi_cert_free on the emptied MiCert again");

	mi_free(pem);
	OPENSSL_free(der);
	X509_free(x);
}

/* certificates without SANs or EKU, empty subject, odd names */
static void
test_names(void)
{
	X509	   *x;
	X509_NAME  *s;
	X509_NAME  *i;
	MiCert		c;
	char		err[256];

	x = new_cert("/CN=legacy-app", "/CN=Client CA");
	ok(read_der(x, &c, err, sizeof(err)), "no SAN, no EKU: read");
	ok(c.nsans == 0 && !c.sans_truncated, "no SAN extension: no SANs");
	ok(!c.has_eku && !c.eku_client_auth && c.neku == 0, "no EKU extension: has_eku false");
	ok(str_is(c.cn, "legacy-app") && c.cn_len == 10 && !c.cn_hostile, "CN legacy-app");
	mi_cert_free(&c);
	X509_free(x);

	/* empty subject (SPIFFE-style), SAN only */
	s = X509_NAME_new();
	i = mkname("/CN=Client CA");
	x = new_cert_names(s, i);
	{
		GENERAL_NAMES *g = new_gens();

		push(g, gn_str(GEN_URI, "spiffe://example.org/w"));
		add_sans(x, g);
	}
	ok(read_der(x, &c, err, sizeof(err)), "empty subject: read");
	ok(str_is(c.subject_dn, "") && c.cn == NULL && c.cn_len == 0 && !c.cn_hostile,
	   "empty subject: DN \"\", no CN");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);
	X509_NAME_free(i);

	/* RFC 2253 escaping of special characters and multi-byte UTF-8 */
	s = mkname("/O=a,b+c;d<e>\"f\\g/OU= lead#/CN=#hash");
	if (!X509_NAME_add_entry_by_txt(s, "UID", MBSTRING_UTF8,
									(const unsigned char *) "u1", -1, -1, -1))	/* CN=...+UID=u1 */
		abort();
	i = mkname("/O=Caf\xc3\xa9/CN=Client CA");
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)), "special characters in names: read");
	ok(dn_is(c.subject_dn, X509_get_subject_name(x)),
	   "subject with , + ; < > \" \\ # and a leading space: as OpenSSL prints it");
	ok(strstr(c.subject_dn, "O=a\\,b\\+c\\;d\\<e\\>\\\"f\\\\g") != NULL &&
	   strstr(c.subject_dn, "CN=\\#hash") != NULL,
	   "special characters are backslash-escaped (%s)", c.subject_dn);
	ok(dn_is(c.issuer_dn, X509_get_issuer_name(x)) &&
	   str_is(c.issuer_dn, "CN=Client CA,O=Caf\\C3\\A9"),
	   "non-ASCII issuer bytes escaped as \\XX, as OpenSSL prints them");
	ok(str_is(c.cn, "#hash") && !c.cn_hostile, "CN of a multi-valued RDN");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);
	X509_NAME_free(i);
}

/* CN: embedded NUL, control bytes, over-long, several CNs, UTF-8, BMPString */
static void
test_cn(void)
{
	X509	   *x;
	X509_NAME  *s;
	X509_NAME  *i = mkname("/CN=Client CA");
	MiCert		c;
	char		err[256];
	char	   *big;

	/* embedded NUL */
	s = mkname("/O=Example");
	add_raw_entry(s, NID_commonName, "alice\0evil", 10);
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)), "CN with NUL: read");
	ok(c.cn != NULL && c.cn_len == 10 && memcmp(c.cn, "alice\0evil", 11) == 0,
	   "CN with NUL: all 10 bytes kept, NUL-terminated");
	ok(c.cn_hostile, "CN with NUL is hostile");
	ok(c.subject_dn != NULL && strlen(c.subject_dn) > 0 &&
	   dn_is(c.subject_dn, X509_get_subject_name(x)) &&
	   strstr(c.subject_dn, "alice\\00evil") != NULL,
	   "subject DN shows the NUL escaped (%s)", c.subject_dn ? c.subject_dn : "");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);

	/* control byte */
	s = X509_NAME_new();
	add_raw_entry(s, NID_commonName, "bob\x01", 4);
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && c.cn_len == 4 && c.cn_hostile,
	   "CN with a control byte is hostile");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);

	/* DEL */
	s = X509_NAME_new();
	add_raw_entry(s, NID_commonName, "bob\x7f", 4);
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && c.cn_len == 4 && c.cn_hostile,
	   "CN with DEL is hostile");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);

	/* UTF-8 is fine in a CN */
	s = mkname("/CN=Jos\xc3\xa9");
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && str_is(c.cn, "Jos\xc3\xa9") &&
	   c.cn_len == 5 && !c.cn_hostile,
	   "UTF-8 CN kept as raw UTF-8, not hostile");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);

	/* BMPString CN is converted to UTF-8 */
	s = X509_NAME_new();
	{
		static const unsigned char bmp[] = {0, 'J', 0, 'o', 0, 's', 0, 0xe9};

		if (!X509_NAME_add_entry_by_NID(s, NID_commonName, V_ASN1_BMPSTRING,
										bmp, sizeof(bmp), -1, 0))
			abort();
	}
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && str_is(c.cn, "Jos\xc3\xa9") && c.cn_len == 5 &&
	   !c.cn_hostile, "BMPString CN read as UTF-8");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);

	/* over-long CN, and exactly the limit */
	big = (char *) mi_alloc0(5001);
	memset(big, 'c', 5000);
	s = X509_NAME_new();
	add_raw_entry(s, NID_commonName, big, 5000);
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && c.cn_len == MI_MAX_VALUE_LEN && c.cn_hostile &&
	   c.cn[MI_MAX_VALUE_LEN] == '\0' && c.cn[0] == 'c',
	   "5000-byte CN: cut at MI_MAX_VALUE_LEN and hostile");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);
	s = X509_NAME_new();
	add_raw_entry(s, NID_commonName, big, MI_MAX_VALUE_LEN);
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && c.cn_len == MI_MAX_VALUE_LEN && !c.cn_hostile,
	   "CN of exactly MI_MAX_VALUE_LEN bytes is not hostile");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);
	mi_free(big);

	/* several CNs: ambiguous */
	s = mkname("/CN=first/O=Example/CN=second");
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && c.cn_hostile,
	   "two CNs: cn_hostile");
	/*
	 * cert.h documents cn as the *last* CN; cert.c returns the first (see
	 * the report).  Only what both agree on is checked here.
	 */
	ok(c.cn != NULL && (strcmp(c.cn, "first") == 0 || strcmp(c.cn, "second") == 0),
	   "two CNs: cn is one of them (%s)", c.cn ? c.cn : "(null)");
	ok(str_is(c.subject_dn, "CN=second,O=Example,CN=first"), "two CNs: both in the DN");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);

	/* empty CN */
	s = X509_NAME_new();
	add_raw_entry(s, NID_commonName, "", 0);
	x = new_cert_names(s, i);
	ok(read_der(x, &c, err, sizeof(err)) && c.cn != NULL && c.cn_len == 0,
	   "empty CN: cn is \"\" (present, length 0)");
	mi_cert_free(&c);
	X509_free(x);
	X509_NAME_free(s);

	X509_NAME_free(i);
}

/* hostile SANs: flagged, kept in order, never crashing */
static void
test_hostile_sans(void)
{
	X509	   *x = new_cert("/CN=h", "/CN=Client CA");
	GENERAL_NAMES *gens = new_gens();
	char	   *a4097 = (char *) mi_alloc0(4098);
	char	   *uri = (char *) mi_alloc0(10001);
	static const unsigned char ip5[5] = {1, 2, 3, 4, 5};
	static const unsigned char ip8[8] = {10, 0, 0, 0, 255, 0, 0, 0};
	static const unsigned char ipv4[4] = {192, 0, 2, 1};
	static const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	192, 0, 2, 1};
	unsigned char ip100[100];
	char		hex100[129];
	MiCert		c;
	char		err[256];
	bool		r;

	memset(a4097, 'a', 4097);
	memcpy(uri, "spiffe://example.org/", 21);
	memset(uri + 21, 'u', 10000 - 21);
	for (int k = 0; k < 100; k++)
		ip100[k] = (unsigned char) (k * 7);
	for (int k = 0; k < 64; k++)
		snprintf(hex100 + 2 * k, 3, "%02x", ip100[k]);

	push(gens, gn_str(GEN_DNS, "ok.example.com"));	/* 0 */
	push(gens, gn_ia5(GEN_DNS, "good.example.com\0.evil.com", 26));	/* 1 */
	push(gens, gn_str(GEN_URI, "spiffe://example.org/caf\xc3\xa9"));	/* 2 */
	push(gens, gn_str(GEN_EMAIL, "dave@exa\nmple.com"));	/* 3 */
	push(gens, gn_str(GEN_DNS, "a b.example.com"));	/* 4 */
	push(gens, gn_str(GEN_DNS, "del\x7f.example.com"));	/* 5 */
	push(gens, gn_ia5(GEN_DNS, "", 0));	/* 6 */
	push(gens, gn_ia5(GEN_DNS, a4097, 4096));	/* 7 */
	push(gens, gn_ia5(GEN_DNS, a4097, 4097));	/* 8 */
	push(gens, gn_ia5(GEN_URI, uri, 10000));	/* 9 */
	push(gens, gn_ip(ip5, 5));	/* 10 */
	push(gens, gn_ip("", 0));	/* 11 */
	push(gens, gn_ip(ip8, 8));	/* 12 */
	push(gens, gn_ip(ip100, 100));	/* 13 */
	push(gens, gn_othername("alice@example.com"));	/* 14 */
	push(gens, gn_dirname("/O=Example/CN=dir"));	/* 15 */
	push(gens, gn_rid("1.2.3.4"));	/* 16 */
	push(gens, gn_ip(ipv4, 4));	/* 17 */
	push(gens, gn_ip(mapped, 16));	/* 18 */
	push(gens, gn_str(GEN_EMAIL, "back\\slash@example.com"));	/* 19 */
	push(gens, gn_str(GEN_EMAIL, "erin@example.com"));	/* 20 */
	add_sans(x, gens);

	r = read_der(x, &c, err, sizeof(err));
	ok(r, "hostile SANs: the certificate is still read");
	if (!r)
		goto out;
	ok(c.nsans == 21 && !c.sans_truncated, "hostile SANs: all 21 kept");
	ok(san_is(&c.sans[0], MI_SAN_DNS, "ok.example.com", 14, false),
	   "a good SAN among hostile ones is not hostile");
	ok(san_is(&c.sans[1], MI_SAN_DNS, "good.example.com\0.evil.com", 26, true),
	   "DNS with embedded NUL: hostile, every byte kept (len 26)");
	ok(san_is(&c.sans[2], MI_SAN_URI, "spiffe://example.org/caf\xc3\xa9", 26, true),
	   "URI with non-ASCII bytes: hostile");
	ok(san_is(&c.sans[3], MI_SAN_EMAIL, "dave@exa\nmple.com", 17, true),
	   "email with a newline: hostile");
	ok(san_is(&c.sans[4], MI_SAN_DNS, "a b.example.com", 15, true),
	   "DNS with a space: hostile");
	ok(san_is(&c.sans[5], MI_SAN_DNS, "del\x7f.example.com", 16, true),
	   "DNS with DEL: hostile");
	ok(san_is(&c.sans[6], MI_SAN_DNS, "", 0, true), "empty DNS: hostile");
	ok(san_is(&c.sans[7], MI_SAN_DNS, a4097, 4096, false),
	   "DNS of exactly MI_MAX_VALUE_LEN bytes: kept whole, not hostile");
	ok(san_is(&c.sans[8], MI_SAN_DNS, a4097, MI_MAX_VALUE_LEN, true),
	   "DNS of 4097 bytes: cut at MI_MAX_VALUE_LEN, hostile");
	ok(san_is(&c.sans[9], MI_SAN_URI, uri, MI_MAX_VALUE_LEN, true),
	   "10000-byte URI: hostile, first MI_MAX_VALUE_LEN bytes kept");
	ok(san_is(&c.sans[10], MI_SAN_IP, "0102030405", 10, true) && c.sans[10].iplen == 0,
	   "5-byte IP: hostile, hex of the bytes, iplen 0");
	ok(san_is(&c.sans[11], MI_SAN_IP, "", 0, true) && c.sans[11].iplen == 0,
	   "0-byte IP: hostile, empty");
	ok(san_is(&c.sans[12], MI_SAN_IP, "0a000000ff000000", 16, true) && c.sans[12].iplen == 0,
	   "8-byte IP (address+mask form): hostile");
	ok(san_is(&c.sans[13], MI_SAN_IP, hex100, 128, true) && c.sans[13].iplen == 0,
	   "100-byte IP: hostile, hex cut at 64 bytes");
	ok(san_is(&c.sans[14], MI_SAN_OTHER, "othername", 9, true),
	   "otherName: kind other, \"othername\", hostile");
	ok(san_is(&c.sans[15], MI_SAN_OTHER, "dirname", 7, true),
	   "dirName: kind other, \"dirname\", hostile");
	ok(san_is(&c.sans[16], MI_SAN_OTHER, "rid", 3, true),
	   "registeredID: kind other, \"rid\", hostile");
	ok(san_is(&c.sans[17], MI_SAN_IP, "192.0.2.1", 9, false) && c.sans[17].iplen == 4,
	   "a good IPv4 after bad IPs is not hostile");
	ok(san_is(&c.sans[18], MI_SAN_IP, "::ffff:192.0.2.1", 16, false) &&
	   c.sans[18].iplen == 16 && memcmp(c.sans[18].ip, mapped, 16) == 0,
	   "IPv4-mapped IPv6: 16 bytes, canonical text");
	ok(san_is(&c.sans[19], MI_SAN_EMAIL, "back\\slash@example.com", 22, false),
	   "a backslash is printable ASCII: not hostile at this level");
	ok(san_is(&c.sans[20], MI_SAN_EMAIL, "erin@example.com", 16, false),
	   "the last SAN is read after all the hostile ones");

	/* typed forms escape everything non-printable */
	ok(typed_is(&c.sans[1], "dns:good.example.com\\x00.evil.com"), "typed: NUL as \\x00");
	ok(typed_is(&c.sans[2], "uri:spiffe://example.org/caf\\xc3\\xa9"),
	   "typed: non-ASCII bytes as \\xNN");
	ok(typed_is(&c.sans[3], "email:dave@exa\\x0ample.com"), "typed: newline as \\x0a");
	ok(typed_is(&c.sans[5], "dns:del\\x7f.example.com"), "typed: DEL as \\x7f");
	ok(typed_is(&c.sans[4], "dns:a b.example.com"), "typed: a space stays a space");
	ok(typed_is(&c.sans[6], "dns:"), "typed: empty value");
	ok(typed_is(&c.sans[10], "ip:0102030405"), "typed: bad IP shows its hex");
	ok(typed_is(&c.sans[14], "other:othername") && typed_is(&c.sans[15], "other:dirname") &&
	   typed_is(&c.sans[16], "other:rid"), "typed: other:<type>");
	ok(typed_is(&c.sans[18], "ip:::ffff:192.0.2.1"), "typed: IPv6");
	ok(typed_is(&c.sans[19], "email:back\\\\slash@example.com"), "typed: backslash doubled");
	{
		bool		clean = true;

		for (int k = 0; k < c.nsans; k++)
		{
			char	   *t = mi_san_typed(&c.sans[k]);

			for (const char *q = t; *q; q++)
				if (*q < 0x20 || *q > 0x7e)
					clean = false;
			if (k == 9 && strlen(t) != 4 + MI_MAX_VALUE_LEN)
				clean = false;
			mi_free(t);
		}
		ok(clean, "every typed form is printable ASCII; the 10000-byte URI prints 4096 bytes");
	}
	mi_cert_free(&c);
out:
	X509_free(x);
	mi_free(a4097);
	mi_free(uri);
}

/* 5000 SANs: MI_MAX_SANS kept, flagged; exactly MI_MAX_SANS not flagged */
static void
test_many_sans(void)
{
	int			counts[2] = {5000, MI_MAX_SANS};

	for (int t = 0; t < 2; t++)
	{
		X509	   *x = new_cert("/CN=many", "/CN=Client CA");
		GENERAL_NAMES *gens = new_gens();
		MiCert		c;
		char		err[256];
		char		name[64];
		bool		order = true;

		for (int k = 0; k < counts[t]; k++)
		{
			snprintf(name, sizeof(name), "h%d.example.com", k);
			push(gens, gn_str(GEN_DNS, name));
		}
		add_sans(x, gens);
		ok(read_der(x, &c, err, sizeof(err)), "%d SANs: read", counts[t]);
		ok(c.nsans == MI_MAX_SANS, "%d SANs: %d kept", counts[t], c.nsans);
		ok(c.sans_truncated == (counts[t] > MI_MAX_SANS),
		   "%d SANs: sans_truncated is %s", counts[t],
		   counts[t] > MI_MAX_SANS ? "true" : "false");
		for (int k = 0; k < c.nsans && order; k++)
		{
			snprintf(name, sizeof(name), "h%d.example.com", k);
			order = c.sans[k].kind == MI_SAN_DNS && !c.sans[k].hostile &&
				strcmp(c.sans[k].value, name) == 0;
		}
		ok(order, "%d SANs: the first %d, in certificate order", counts[t], MI_MAX_SANS);
		mi_cert_free(&c);
		X509_free(x);
	}
}

/* extendedKeyUsage variants */
static void
test_eku(void)
{
	static const char *const server[] = {"1.3.6.1.5.5.7.3.1"};
	static const char *const any[] = {"2.5.29.37.0"};
	static const char *const client[] = {"1.3.6.1.5.5.7.3.2"};
	static const char *const custom[] = {"1.3.6.1.4.1.99999.1", "1.3.6.1.5.5.7.3.2"};
	static const unsigned char garbage[] = {0x30, 0x03, 0x06, 0x01};
	X509	   *x;
	MiCert		c;
	char		err[256];

	x = new_cert("/CN=srv", "/CN=Client CA");
	add_eku(x, 1, server);
	ok(read_der(x, &c, err, sizeof(err)) && c.has_eku && !c.eku_client_auth &&
	   c.neku == 1 && str_is(c.eku[0], "serverAuth"),
	   "EKU serverAuth only: has_eku, not client_auth");
	mi_cert_free(&c);
	X509_free(x);

	x = new_cert("/CN=any", "/CN=Client CA");
	add_eku(x, 1, any);
	ok(read_der(x, &c, err, sizeof(err)) && c.has_eku && !c.eku_client_auth &&
	   c.neku == 1 && str_is(c.eku[0], "anyExtendedKeyUsage"),
	   "anyExtendedKeyUsage does not count as clientAuth");
	mi_cert_free(&c);
	X509_free(x);

	x = new_cert("/CN=cli", "/CN=Client CA");
	add_eku(x, 1, client);
	ok(read_der(x, &c, err, sizeof(err)) && c.has_eku && c.eku_client_auth &&
	   c.neku == 1 && str_is(c.eku[0], "clientAuth"),
	   "EKU clientAuth alone");
	mi_cert_free(&c);
	X509_free(x);

	x = new_cert("/CN=custom", "/CN=Client CA");
	add_eku(x, 2, custom);
	ok(read_der(x, &c, err, sizeof(err)) && c.has_eku && c.eku_client_auth &&
	   c.neku == 2 && str_is(c.eku[0], "1.3.6.1.4.1.99999.1") &&
	   str_is(c.eku[1], "clientAuth"),
	   "an unknown EKU OID is named by its dotted form");
	mi_cert_free(&c);
	X509_free(x);

	/* an EKU that does not decode allows nothing */
	x = new_cert("/CN=bad-eku", "/CN=Client CA");
	add_raw_ext(x, NID_ext_key_usage, garbage, sizeof(garbage));
	ok(read_der(x, &c, err, sizeof(err)) && c.has_eku && !c.eku_client_auth && c.neku == 0,
	   "undecodable EKU: read, has_eku, no clientAuth, no names");
	mi_cert_free(&c);
	X509_free(x);

	/* two EKU extensions: ambiguous, allows nothing */
	x = new_cert("/CN=two-eku", "/CN=Client CA");
	add_eku(x, 1, client);
	add_eku(x, 1, client);
	ok(read_der(x, &c, err, sizeof(err)) && c.has_eku && !c.eku_client_auth && c.neku == 0,
	   "two EKU extensions (both clientAuth): has_eku, no clientAuth");
	mi_cert_free(&c);
	X509_free(x);
}

/* serial numbers, as openssl x509 -serial prints them */
static void
test_serial(void)
{
	static const char *const hex[] = {
		"0",
		"A",
		"7F",
		"80",
		"0102",
		"7FEEDDCCBBAA99887766554433221100FFEEDDCC",	/* 20 bytes */
		"8000000000000000000000000000000000000000",	/* 20 bytes, top bit */
	};
	static const char *const want[] = {
		"00", "0A", "7F", "80", "0102",
		"7FEEDDCCBBAA99887766554433221100FFEEDDCC",
		"8000000000000000000000000000000000000000",
	};

	for (size_t k = 0; k < sizeof(hex) / sizeof(hex[0]); k++)
	{
		X509	   *x = new_cert("/CN=serial", "/CN=Client CA");
		BIGNUM	   *bn = NULL;
		char	   *o;
		MiCert		c;
		char		err[256];

		if (!BN_hex2bn(&bn, hex[k]) ||
			BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
			abort();
		BN_free(bn);
		ok(read_der(x, &c, err, sizeof(err)), "serial %s: read", hex[k]);
		o = ossl_serial(X509_get0_serialNumber(x));
		ok(str_is(c.serial_hex, want[k]) && str_is(c.serial_hex, o),
		   "serial 0x%s reads as %s, as i2a_ASN1_INTEGER prints it", hex[k], want[k]);
		mi_free(o);
		mi_cert_free(&c);
		X509_free(x);
	}

	/* a negative serial (not allowed by RFC 5280, seen in the wild) */
	{
		X509	   *x = new_cert("/CN=serial", "/CN=Client CA");
		char	   *o;
		MiCert		c;
		char		err[256];

		ASN1_INTEGER_set(X509_get_serialNumber(x), -5);
		ok(read_der(x, &c, err, sizeof(err)), "negative serial: read");
		o = ossl_serial(X509_get0_serialNumber(x));
		ok(str_is(c.serial_hex, "-05") && str_is(c.serial_hex, o),
		   "serial -5 reads as -05, as i2a_ASN1_INTEGER prints it");
		mi_free(o);
		mi_cert_free(&c);
		X509_free(x);
	}
}

/* validity: UTCTime and GeneralizedTime, before 1970 and after 2050 */
static void
test_validity(void)
{
	static const struct
	{
		const char *nb;
		const char *na;
		int64_t		want_nb;
		int64_t		want_na;
	}			cases[] = {
		{"600101000000Z", "491231235959Z", INT64_C(-315619200), INT64_C(2524607999)},
		{"500101000000Z", "20500101000000Z", INT64_C(-631152000), INT64_C(2524608000)},
		{"19000101000000Z", "99991231235959Z", INT64_C(-2208988800), INT64_C(253402300799)},
		{"19691231235959Z", "700101000000Z", INT64_C(-1), INT64_C(0)},
		{"000229120000Z", "21000301000000Z", INT64_C(951825600), INT64_C(4107542400)},
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
	{
		X509	   *x = new_cert("/CN=time", "/CN=Client CA");
		MiCert		c;
		char		err[256];

		if (!ASN1_TIME_set_string(X509_getm_notBefore(x), cases[k].nb) ||
			!ASN1_TIME_set_string(X509_getm_notAfter(x), cases[k].na))
			abort();
		ok(read_der(x, &c, err, sizeof(err)), "validity %s..%s: read",
		   cases[k].nb, cases[k].na);
		ok(c.not_before == cases[k].want_nb && c.not_after == cases[k].want_na &&
		   c.not_before == ossl_unix(X509_get0_notBefore(x)) &&
		   c.not_after == ossl_unix(X509_get0_notAfter(x)),
		   "validity %s..%s: %lld..%lld, as OpenSSL computes them",
		   cases[k].nb, cases[k].na, (long long) c.not_before, (long long) c.not_after);
		mi_cert_free(&c);
		X509_free(x);
	}

	/* a time that is not a time: refused, not guessed */
	{
		X509	   *x = new_cert("/CN=time", "/CN=Client CA");
		MiCert		c;
		char		err[256];
		bool		r;

		if (!ASN1_STRING_set(X509_getm_notAfter(x), "20501301000000Z", 15))
			abort();
		r = read_der(x, &c, err, sizeof(err));
		ok(refused(r, &c, err), "notAfter with month 13: refused (%s)", err);
		mi_cert_free(&c);
		X509_free(x);
	}
}

/* certificates that cannot be read unambiguously, garbage input */
static void
test_refused(void)
{
	X509	   *x;
	MiCert		c;
	char		err[256];
	bool		r;
	size_t		len;
	unsigned char *der;
	static const unsigned char garbage[] = {0x30, 0x82, 0xff, 0xff, 0x01, 0x02};

	/* two subjectAltName extensions */
	x = new_cert("/CN=two-sans", "/CN=Client CA");
	{
		GENERAL_NAMES *g = new_gens();

		push(g, gn_str(GEN_DNS, "a.example.com"));
		add_sans(x, g);
		g = new_gens();
		push(g, gn_str(GEN_DNS, "b.example.com"));
		add_sans(x, g);
	}
	r = read_der(x, &c, err, sizeof(err));
	ok(refused(r, &c, err) && strstr(err, "more than one subjectAltName") != NULL,
	   "two subjectAltName extensions: refused (%s)", err);
	X509_free(x);

	/* a subjectAltName that does not decode */
	x = new_cert("/CN=bad-san", "/CN=Client CA");
	add_raw_ext(x, NID_subject_alt_name, garbage, sizeof(garbage));
	r = read_der(x, &c, err, sizeof(err));
	ok(refused(r, &c, err) && strstr(err, "cannot be decoded") != NULL,
	   "undecodable subjectAltName: refused (%s)", err);
	X509_free(x);

	/* garbage DER */
	err[0] = '\0';
	r = mi_cert_from_der((const unsigned char *) "hello, world", 12, &c, err, sizeof(err));
	ok(refused(r, &c, err) && all_zero(&c), "garbage DER: refused (%s)", err);
	err[0] = '\0';
	r = mi_cert_from_der(garbage, sizeof(garbage), &c, err, sizeof(err));
	ok(refused(r, &c, err), "DER with a length past the end: refused (%s)", err);
	err[0] = '\0';
	r = mi_cert_from_der(NULL, 0, &c, err, sizeof(err));
	ok(refused(r, &c, err), "NULL DER: refused (%s)", err);
	err[0] = '\0';
	r = mi_cert_from_der(garbage, 0, &c, err, sizeof(err));
	ok(refused(r, &c, err), "zero-length DER: refused (%s)", err);

	/* truncations and trailing bytes of a valid certificate */
	x = new_cert("/CN=cut", "/CN=Client CA");
	{
		GENERAL_NAMES *g = new_gens();

		push(g, gn_str(GEN_URI, "spiffe://example.org/cut"));
		add_sans(x, g);
	}
	sign(x, ca_key);
	der = der_of(x, &len);
	{
		int			accepted = 0;
		int			silent = 0;

		for (size_t n = 1; n < len; n++)
		{
			err[0] = '\0';
			r = mi_cert_from_der(der, n, &c, err, sizeof(err));
			if (r)
			{
				accepted++;
				mi_cert_free(&c);
			}
			else if (!refused(r, &c, err))
				silent++;
		}
		ok(accepted == 0 && silent == 0,
		   "every truncation of a %zu-byte DER is refused with a message", len);
	}
	{
		unsigned char *longer = (unsigned char *) mi_alloc0(len + 1);

		memcpy(longer, der, len);
		err[0] = '\0';
		r = mi_cert_from_der(longer, len + 1, &c, err, sizeof(err));
		ok(refused(r, &c, err) && strstr(err, "trailing") != NULL,
		   "DER followed by a byte: refused (%s)", err);
		mi_free(longer);
	}
	/* flip each byte: whatever the outcome, no crash, and a failure says why */
	{
		unsigned char *mut = (unsigned char *) mi_alloc0(len);
		int			silent = 0;
		int			accepted = 0;

		for (size_t n = 0; n < len; n++)
		{
			memcpy(mut, der, len);
			mut[n] ^= 0xff;
			err[0] = '\0';
			r = mi_cert_from_der(mut, len, &c, err, sizeof(err));
			if (r)
			{
				accepted++;
				if (c.subject_dn == NULL || c.issuer_dn == NULL || c.serial_hex == NULL)
					silent++;
				mi_cert_free(&c);
			}
			else if (!refused(r, &c, err))
				silent++;
		}
		ok(silent == 0, "each of %zu byte flips: read whole or refused with a message "
		   "(%d read)", len, accepted);
		mi_free(mut);
	}

	/* error buffers: NULL, and one too small */
	r = mi_cert_from_der(garbage, sizeof(garbage), &c, NULL, 0);
	ok(!r && all_zero(&c), "NULL err buffer: refused without writing");
	memset(err, 'x', sizeof(err));
	r = mi_cert_from_der(garbage, sizeof(garbage), &c, err, 8);
	ok(!r && strlen(err) == 7 && err[8] == 'x',
	   "err buffer of 8 bytes: message cut to 7 and terminated, nothing past it");

	/* PEM */
	{
		static const char *const bad[] = {
			"",
			"this is not PEM at all\n",
			"-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
			"-----BEGIN CERTIFICATE-----\naGVsbG8sIHdvcmxk\n-----END CERTIFICATE-----\n",
			"-----BEGIN CERTIFICATE-----\nMIIB\n",
			"-----BEGIN PRIVATE KEY-----\naGVsbG8sIHdvcmxk\n-----END PRIVATE KEY-----\n",
		};
		static const char *const what[] = {
			"empty PEM", "text without PEM", "PEM with bad base64",
			"PEM of garbage DER", "PEM without END line", "PEM with only a key block",
		};

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		{
			err[0] = '\0';
			r = mi_cert_from_pem(bad[k], strlen(bad[k]), &c, err, sizeof(err));
			ok(refused(r, &c, err) && all_zero(&c), "%s: refused (%s)", what[k], err);
		}
		err[0] = '\0';
		r = mi_cert_from_pem(NULL, 0, &c, err, sizeof(err));
		ok(refused(r, &c, err), "NULL PEM: refused (%s)", err);
	}
	{
		char	   *pem = NULL;
		size_t		pemlen = 0;
		int			accepted = 0;
		int			silent = 0;

		pem = pem_append(pem, &pemlen, x);
		for (size_t n = 1; n + 1 < pemlen; n += 7)
		{
			err[0] = '\0';
			r = mi_cert_from_pem(pem, n, &c, err, sizeof(err));
			if (r)
			{
				accepted++;
				mi_cert_free(&c);
			}
			else if (!refused(r, &c, err))
				silent++;
		}
		ok(accepted == 0 && silent == 0, "truncated PEM (every 7th length): refused with a message");
		mi_free(pem);
	}
	OPENSSL_free(der);
	X509_free(x);

	/* mi_cert_from_x509 without a certificate */
	err[0] = '\0';
	r = mi_cert_from_x509(NULL, NULL, &c, err, sizeof(err));
	ok(refused(r, &c, err), "mi_cert_from_x509(NULL): refused (%s)", err);

	/* the OpenSSL error queue is left empty, failure or not */
	ERR_raise(ERR_LIB_USER, 1);
	r = mi_cert_from_der((const unsigned char *) "junk", 4, &c, err, sizeof(err));
	ok(!r && ERR_peek_error() == 0, "the OpenSSL error queue is cleared after a refusal");
}

/* a CA certificate for the chain tests */
static X509 *
new_ca(const char *subject, const char *issuer)
{
	X509	   *x = new_cert(subject, issuer);
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

	bc->ca = 1;
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) != 1)
		abort();
	BASIC_CONSTRAINTS_free(bc);
	X509_set_pubkey(x, ca_key);
	sign(x, ca_key);
	return x;
}

static bool
chain_entry_is(const MiChainEntry *e, X509 *ca)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (X509_digest(ca, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
		abort();
	return e->has_sha256 && memcmp(e->sha256, md, 32) == 0 &&
		dn_is(e->subject_dn, X509_get_subject_name(ca));
}

/* leaf + CA certificates in PEM, and a verified-chain stack */
static void
test_chain(void)
{
	X509	   *root = new_ca("/O=Example/CN=Root CA", "/O=Example/CN=Root CA");
	X509	   *inter = new_ca("/O=Example/OU=Clients/CN=Client CA", "/O=Example/CN=Root CA");
	X509	   *leaf = new_cert("/CN=leaf", "/O=Example/OU=Clients/CN=Client CA");
	char	   *pem = NULL;
	size_t		pemlen = 0;
	MiCert		c;
	char		err[256];
	bool		r;

	sign(leaf, ca_key);
	pem = pem_append(pem, &pemlen, leaf);
	pem = pem_append(pem, &pemlen, inter);
	pem = pem_append(pem, &pemlen, root);

	err[0] = '\0';
	r = said(mi_cert_from_pem(pem, pemlen, &c, err, sizeof(err)), err);
	ok(r, "PEM leaf + 2 CA certificates: read");
	if (r)
	{
		int			with_sha = 0;

		for (int k = 0; k < c.nchain; k++)
			with_sha += c.chain[k].has_sha256;
		ok(with_sha == 2, "2 chain entries with sha256 (of %d)", c.nchain);
		/* cert.h: the issuer DN first (DN only), then the CAs that followed */
		ok(c.nchain == 3 && !c.chain[0].has_sha256 &&
		   str_is(c.chain[0].subject_dn, "CN=Client CA,OU=Clients,O=Example"),
		   "chain[0]: the leaf's issuer DN, without sha256");
		ok(ERR_peek_error() == 0,
		   "the OpenSSL error queue is cleared after reading to the end of the PEM");
		ok(c.nchain >= 2 && chain_entry_is(&c.chain[1], inter),
		   "chain[1]: the intermediate, DN and sha256 of its DER");
		ok(c.nchain >= 3 && chain_entry_is(&c.chain[2], root) &&
		   str_is(c.chain[2].subject_dn, "CN=Root CA,O=Example"),
		   "chain[2]: the root, DN and sha256 of its DER");
		ok(str_is(c.subject_dn, "CN=leaf"), "the leaf is the first certificate");
		mi_cert_free(&c);
	}

	/* other PEM blocks before the leaf are skipped */
	{
		BIO		   *bio = BIO_new(BIO_s_mem());
		char	   *data = NULL;
		long		n;
		char	   *both;

		if (bio == NULL || !PEM_write_bio_PrivateKey(bio, leaf_key, NULL, NULL, 0, NULL, NULL))
			abort();
		n = BIO_get_mem_data(bio, &data);
		both = (char *) mi_alloc0((size_t) n + pemlen + 1);
		memcpy(both, data, (size_t) n);
		memcpy(both + n, pem, pemlen);
		err[0] = '\0';
		r = said(mi_cert_from_pem(both, (size_t) n + pemlen, &c, err, sizeof(err)), err);
		ok(r && str_is(c.subject_dn, "CN=leaf") && c.nchain == 3,
		   "a private key block before the leaf is skipped");
		if (r)
			mi_cert_free(&c);
		mi_free(both);
		BIO_free(bio);
	}

	/* garbage after the leaf: the leaf is read, the rest ignored */
	{
		char	   *one = NULL;
		size_t		onelen = 0;
		static const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

		one = pem_append(one, &onelen, leaf);
		one = (char *) mi_realloc(one, onelen + sizeof(junk));
		memcpy(one + onelen, junk, sizeof(junk));
		onelen += sizeof(junk) - 1;
		err[0] = '\0';
		r = said(mi_cert_from_pem(one, onelen, &c, err, sizeof(err)), err);
		ok(r && c.nchain == 1 && !c.chain[0].has_sha256,
		   "a broken certificate after the leaf: leaf read, chain is the issuer DN");
		if (r)
			mi_cert_free(&c);
		mi_free(one);
	}

	/* 20 CA certificates after the leaf: MI_MAX_CHAIN entries */
	{
		char	   *many = NULL;
		size_t		manylen = 0;

		many = pem_append(many, &manylen, leaf);
		for (int k = 0; k < 20; k++)
			many = pem_append(many, &manylen, k % 2 ? root : inter);
		err[0] = '\0';
		r = mi_cert_from_pem(many, manylen, &c, err, sizeof(err));
		/* chain[k] for k >= 1 is the (k-1)th CA of the text */
		ok(r && c.nchain == MI_MAX_CHAIN &&
		   chain_entry_is(&c.chain[MI_MAX_CHAIN - 1], (MI_MAX_CHAIN - 2) % 2 ? root : inter),
		   "20 CAs in PEM: %d chain entries kept (MI_MAX_CHAIN)", r ? c.nchain : -1);
		if (r)
			mi_cert_free(&c);
		mi_free(many);
	}

	/* a verified chain as SSL_get0_verified_chain returns it (leaf first) */
	{
		STACK_OF(X509) *sk = sk_X509_new_null();

		sk_X509_push(sk, leaf);
		sk_X509_push(sk, inter);
		sk_X509_push(sk, root);
		err[0] = '\0';
		r = said(mi_cert_from_x509(leaf, sk, &c, err, sizeof(err)), err);
		ok(r && c.nchain == 2 && chain_entry_is(&c.chain[0], inter) &&
		   chain_entry_is(&c.chain[1], root),
		   "verified chain leaf,inter,root: 2 entries, nearest first, with sha256");
		if (r)
			mi_cert_free(&c);

		/* a chain of the leaf alone: the issuer DN */
		sk_X509_pop(sk);
		sk_X509_pop(sk);
		r = said(mi_cert_from_x509(leaf, sk, &c, err, sizeof(err)), err);
		ok(r && c.nchain == 1 && !c.chain[0].has_sha256 &&
		   str_is(c.chain[0].subject_dn, "CN=Client CA,OU=Clients,O=Example"),
		   "verified chain of the leaf alone: the issuer DN only");
		if (r)
			mi_cert_free(&c);

		for (int k = 0; k < 20; k++)
			sk_X509_push(sk, root);
		r = said(mi_cert_from_x509(leaf, sk, &c, err, sizeof(err)), err);
		ok(r && c.nchain == MI_MAX_CHAIN, "verified chain of 21: MI_MAX_CHAIN entries kept");
		if (r)
			mi_cert_free(&c);
		sk_X509_free(sk);
	}

	mi_free(pem);
	X509_free(leaf);
	X509_free(inter);
	X509_free(root);
}

/* mi_san_typed and mi_san_kind_name on hand-made SANs; mi_cert_free */
static void
test_typed(void)
{
	MiSan		s;
	MiCert		c;
	char		all[256];
	char	   *t;
	bool		r = true;

	memset(&s, 0, sizeof(s));
	s.kind = MI_SAN_URI;
	s.value = NULL;
	s.len = 5;
	ok(typed_is(&s, "uri:"), "typed: a NULL value prints as empty");

	s.kind = MI_SAN_DNS;
	s.value = (char *) " ~\x1f\x20\x7e\x7f\x80\xff\\";
	s.len = 9;
	ok(typed_is(&s, "dns: ~\\x1f ~\\x7f\\x80\\xff\\\\"),
	   "typed: 0x20 and 0x7e stay, 0x1f 0x7f 0x80 0xff escaped, backslash doubled");

	/* every byte value: the result is printable, and reads back to the bytes */
	for (int k = 0; k < 256; k++)
		all[k] = (char) k;
	s.kind = MI_SAN_EMAIL;
	s.value = all;
	s.len = 256;
	t = mi_san_typed(&s);
	{
		const char *q = t + strlen("email:");
		int			k = 0;

		r = strncmp(t, "email:", 6) == 0;
		while (r && *q && k < 256)
		{
			unsigned int b;

			if (q[0] == '\\' && q[1] == '\\')
			{
				b = '\\';
				q += 2;
			}
			else if (q[0] == '\\' && q[1] == 'x' && sscanf(q + 2, "%2x", &b) == 1)
				q += 4;
			else
				b = (unsigned char) *q++;
			r = b == (unsigned int) k++ &&
				(b < 0x20 || b > 0x7e || b == '\\' || (unsigned char) q[-1] == b);
		}
		r = r && k == 256 && *q == '\0';
	}
	ok(r, "typed: all 256 byte values escaped unambiguously and read back");
	mi_free(t);

	s.value = (char *) "x";
	s.len = 1;
	s.kind = MI_SAN_IP;
	ok(typed_is(&s, "ip:x"), "typed: ip prefix");
	s.kind = MI_SAN_OTHER;
	ok(typed_is(&s, "other:x"), "typed: other prefix");
	ok(strcmp(mi_san_kind_name(MI_SAN_URI), "uri") == 0 &&
	   strcmp(mi_san_kind_name(MI_SAN_DNS), "dns") == 0 &&
	   strcmp(mi_san_kind_name(MI_SAN_EMAIL), "email") == 0 &&
	   strcmp(mi_san_kind_name(MI_SAN_IP), "ip") == 0 &&
	   strcmp(mi_san_kind_name(MI_SAN_OTHER), "other") == 0 &&
	   strcmp(mi_san_kind_name((MiSanKind) 42), "other") == 0,
	   "kind names, an unknown kind is other");

	/* mi_cert_free on a zeroed MiCert and on NULL */
	memset(&c, 0, sizeof(c));
	mi_cert_free(&c);
	mi_cert_free(NULL);
	ok(all_zero(&c), "mi_cert_free on a zeroed MiCert leaves it zeroed");
}

/* ---------------------------------------------------------------------
 * mi_name_key: equal exactly when X509_NAME_cmp says the names are equal
 * ---------------------------------------------------------------------
 */

/* a name of (oid short name, string type, bytes) entries, each its own RDN */
static X509_NAME *
typed_name(int n, const char *const *fields, const int *types,
		   const char *const *values)
{
	X509_NAME  *nm = X509_NAME_new();

	for (int i = 0; i < n; i++)
	{
		ASN1_STRING *v = ASN1_STRING_type_new(types[i]);
		X509_NAME_ENTRY *e;

		ASN1_STRING_set(v, values[i], (int) strlen(values[i]));
		e = X509_NAME_ENTRY_create_by_txt(NULL, fields[i], V_ASN1_UTF8STRING,
										  (const unsigned char *) "x", 1);
		X509_NAME_ENTRY_set_data(e, types[i], ASN1_STRING_get0_data(v),
								 ASN1_STRING_length(v));
		X509_NAME_add_entry(nm, e, -1, 0);
		X509_NAME_ENTRY_free(e);
		ASN1_STRING_free(v);
	}
	return nm;
}

static void
check_name_pair(X509_NAME *a, X509_NAME *b, bool equal, const char *what)
{
	unsigned char ka[MI_NAME_KEY_LEN];
	unsigned char kb[MI_NAME_KEY_LEN];
	bool		keys_ok = mi_name_key(a, ka) && mi_name_key(b, kb);

	ok(keys_ok, "mi_name_key reads both names (%s)", what);
	ok((X509_NAME_cmp(a, b) == 0) == equal,
	   "X509_NAME_cmp says %s (%s)", equal ? "equal" : "different", what);
	ok(keys_ok && (memcmp(ka, kb, MI_NAME_KEY_LEN) == 0) == equal,
	   "mi_name_key keys are %s (%s)", equal ? "equal" : "different", what);
	X509_NAME_free(a);
	X509_NAME_free(b);
}

static void
test_name_key(void)
{
	static const char *const f2[] = {"O", "CN"};
	static const char *const f1[] = {"CN"};
	static const int utf8[] = {V_ASN1_UTF8STRING, V_ASN1_UTF8STRING};
	static const int prt[] = {V_ASN1_PRINTABLESTRING, V_ASN1_PRINTABLESTRING};
	static const int mixed[] = {V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING};
	static const char *const v_a[] = {"Eval PKI", "Eval Client CA A1"};
	static const char *const v_upper[] = {"EVAL PKI", "EVAL CLIENT CA A1"};
	static const char *const v_lower[] = {"eval pki", "eval client ca a1"};
	static const char *const v_space[] = {"  Eval   PKI ", "Eval\tClient  CA A1  "};
	static const char *const v_other[] = {"Eval PKI", "Eval Client CA A2"};
	static const char *const v_utf[] = {"Eval PKI", "\xc3\x89val Client CA A1"};
	static const char *const v_utf_up[] = {"Eval PKI", "\xc3\xa9val Client CA A1"};
	static const char *const v_cn[] = {"Eval Client CA A1"};
	unsigned char k[MI_NAME_KEY_LEN];

	check_name_pair(typed_name(2, f2, utf8, v_a), typed_name(2, f2, utf8, v_upper),
					true, "case");
	check_name_pair(typed_name(2, f2, utf8, v_a), typed_name(2, f2, prt, v_a),
					true, "UTF8String vs PrintableString");
	check_name_pair(typed_name(2, f2, prt, v_lower), typed_name(2, f2, mixed, v_upper),
					true, "case and string type");
	check_name_pair(typed_name(2, f2, utf8, v_a), typed_name(2, f2, utf8, v_space),
					true, "white space runs, leading and trailing");
	check_name_pair(typed_name(2, f2, utf8, v_a), typed_name(2, f2, utf8, v_other),
					false, "another CN");
	check_name_pair(typed_name(2, f2, utf8, v_a), typed_name(1, f1, utf8, v_cn),
					false, "a missing RDN");
	check_name_pair(typed_name(2, f2, utf8, v_utf), typed_name(2, f2, utf8, v_utf_up),
					false, "non-ASCII letters keep their case");
	check_name_pair(X509_NAME_new(), X509_NAME_new(), true, "two empty names");
	ok(!mi_name_key(NULL, k), "mi_name_key(NULL) fails");
}

int
main(void)
{
	leaf_key = EVP_EC_gen("P-256");
	ca_key = EVP_EC_gen("P-256");
	if (leaf_key == NULL || ca_key == NULL)
	{
		printf("Bail out! EC P-256 key generation failed\n");
		return 1;
	}

	test_basic();
	test_names();
	test_cn();
	test_hostile_sans();
	test_many_sans();
	test_eku();
	test_serial();
	test_validity();
	test_refused();
	test_chain();
	test_typed();
	test_name_key();

	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(ca_key);
	done_testing();
}
