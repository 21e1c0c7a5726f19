/*-------------------------------------------------------------------------
 *
 * cert.h
 *		The facts mtls_ident reads from an X.509 certificate.
 *
 * MiCert is the one representation of a client certificate that every
 * other module works on: the login hook builds it from the peer certificate
 * and verified chain, cert_info()/check() build it from PEM text, the
 * session slots store it and the enforcer rebuilds it from a slot.
 *
 * Every ASN.1 string is read with its length; values are kept as raw bytes
 * (they may contain NUL) plus a "hostile" flag.  A hostile SAN never matches
 * any binding (see SPEC section 3 and doc/matching.md).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CERT_H
#define MI_CERT_H

#include "mi_alloc.h"

/* SAN kinds we read; OTHER covers otherName, x400, dirName, RID, ... */
typedef enum MiSanKind
{
	MI_SAN_URI,
	MI_SAN_DNS,
	MI_SAN_EMAIL,
	MI_SAN_IP,
	MI_SAN_OTHER
} MiSanKind;

/* Bounds on what we read from one certificate (documented in doc/) */
#define MI_MAX_SANS			4096	/* SANs past this are dropped, cert flagged */
#define MI_MAX_VALUE_LEN	4096	/* a longer SAN/CN value is hostile */
#define MI_MAX_CHAIN		16		/* chain entries kept */

/* length of mi_name_key's digest */
#define MI_NAME_KEY_LEN		32

typedef struct MiSan
{
	MiSanKind	kind;
	char	   *value;			/* raw bytes, NUL-terminated for convenience;
								 * for IP: canonical text (inet form) */
	int			len;			/* length of value in bytes (excl. final NUL) */
	bool		hostile;		/* never matches any binding */
	unsigned char ip[16];		/* IP SAN: network-order address */
	int			iplen;			/* 4 or 16 for a valid IP SAN, else 0 */
} MiSan;

typedef struct MiChainEntry
{
	char	   *subject_dn;		/* RFC 2253 */
	unsigned char sha256[32];	/* of the DER of this CA certificate */
	bool		has_sha256;		/* false when only the DN is known */
} MiChainEntry;

typedef struct MiCert
{
	MiSan	   *sans;
	int			nsans;
	bool		sans_truncated; /* more than MI_MAX_SANS in the certificate */

	char	   *subject_dn;		/* RFC 2253 (XN_FLAG_RFC2253), "" if empty */
	char	   *cn;				/* first CN of the subject, raw UTF-8; NULL if
								 * none (a second CN makes it hostile) */
	int			cn_len;
	bool		cn_hostile;		/* embedded NUL, over-long, ... */
	char	   *issuer_dn;		/* RFC 2253 */
	unsigned char issuer_key[MI_NAME_KEY_LEN];	/* mi_name_key of the issuer */
	bool		has_issuer_key;
	char	   *serial_hex;		/* uppercase hex as openssl x509 -serial prints
								 * it: whole bytes ("00" for 0, "0A"), "-"
								 * for a negative serial */
	unsigned char sha256[32];	/* fingerprint of the DER */
	char		fingerprint[65];	/* lowercase hex of sha256 */

	int64_t		not_before;		/* Unix seconds */
	int64_t		not_after;		/* Unix seconds */

	bool		has_eku;		/* extendedKeyUsage present */
	bool		eku_client_auth;	/* ... and contains clientAuth
									 * (anyExtendedKeyUsage does not count) */
	char	  **eku;			/* EKU names (short names or dotted OIDs) */
	int			neku;

	/*
	 * CA certificates of the verified chain, nearest first (the leaf is not
	 * included).  Built from PEM text without verification, only the DN of
	 * the leaf's issuer is known (has_sha256 = false) plus any CA
	 * certificates that followed the leaf in the PEM text.
	 */
	MiChainEntry *chain;
	int			nchain;
} MiCert;

/*
 * Build an MiCert.  The X509 arguments are OpenSSL objects (declared void *
 * here so that users of this header need not include OpenSSL); chain is a
 * STACK_OF(X509) * as returned by SSL_get0_verified_chain (leaf first), or
 * NULL.  Return false and write a message to err on failure (out is then
 * left empty and needs no free).
 */
extern bool mi_cert_from_x509(const void *x509, const void *chain,
							  MiCert *out, char *err, size_t errlen);

/* one DER certificate */
extern bool mi_cert_from_der(const unsigned char *der, size_t len,
							 MiCert *out, char *err, size_t errlen);

/*
 * PEM text: the first certificate is the leaf; any further certificates
 * are taken as its chain (unverified).
 */
extern bool mi_cert_from_pem(const char *pem, size_t len,
							 MiCert *out, char *err, size_t errlen);

extern void mi_cert_free(MiCert *cert);

/*
 * The key an X.509 name (an X509_NAME *) is filed under wherever names are
 * compared (the revoked set): equal for two names exactly when
 * X509_NAME_cmp holds them equal.  False when the name cannot be read.
 */
extern bool mi_name_key(const void *name, unsigned char key[MI_NAME_KEY_LEN]);

/*
 * Typed, printable form of a SAN: "uri:...", "dns:...", "email:...",
 * "ip:...", "other:<type>".  Bytes outside printable ASCII are written as
 * \xNN and a backslash as \\, so the result is always valid ASCII and
 * never contains NUL.  Returns a newly allocated string.
 */
extern char *mi_san_typed(const MiSan *san);

/* the typed prefix of a SAN kind, without the colon */
extern const char *mi_san_kind_name(MiSanKind kind);

#endif							/* MI_CERT_H */
