/*-------------------------------------------------------------------------
 *
 * crl_verify.c
 *		Reading CRLs from bytes and verifying them against trusted CAs.
 *
 * Input is one DER CRL or PEM text with one or more CRLs (nothing else:
 * trailing bytes after a DER CRL, a broken PEM block or no CRL at all are
 * errors).  Each CRL must be signed by a CA certificate (ca_store.c) whose
 * subject is the CRL's issuer as X.509 compares names (X509_NAME_cmp:
 * case, string type and spacing do not matter) and whose public key
 * verifies the signature; every candidate with that name is tried.  Its
 * revoked serials are then filed under mi_name_key of the CRL issuer,
 * which is the same key a certificate's issuer gets (cert.c), so that
 * spelling can never separate a CRL from the certificates it revokes.
 *
 * Entries with reason removeFromCRL (delta CRLs) are skipped.  A CRL past
 * its nextUpdate is still used (its revocations stand) with a WARNING.  A
 * CRL whose serials do not fit in the build makes its issuer "every
 * certificate revoked" (fail closed).
 *
 * No shared memory, no locks: the caller publishes the build
 * (revoked_set.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crl_verify.h"
#include "ssl_reason.h"

/* RFC 2253 text of an X509_NAME into buf (cut to size) */
static bool
name_text(const X509_NAME *name, char *buf, size_t size)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data;
	long		len;

	if (bio == NULL)
		return false;
	if (X509_NAME_print_ex(bio, (X509_NAME *) name, 0, XN_FLAG_RFC2253) < 0)
	{
		BIO_free(bio);
		return false;
	}
	len = BIO_get_mem_data(bio, &data);
	if (len < 0)
		len = 0;
	if ((size_t) len >= size)
		len = size - 1;
	memcpy(buf, data, len);
	buf[len] = '\0';
	for (long i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = '?';
	BIO_free(bio);
	return true;
}

/* ASN.1 time to Unix seconds; 0 when absent or unreadable */
static int64
time_of(const ASN1_TIME *t)
{
	struct tm	tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64) timegm(&tm);
}

static bool
crl_verified(const STACK_OF(X509) *cas, X509_CRL *crl)
{
	const X509_NAME *issuer = X509_CRL_get_issuer(crl);

	for (int i = 0; i < sk_X509_num(cas); i++)
	{
		X509	   *ca = sk_X509_value(cas, i);
		EVP_PKEY   *key;

		if (X509_NAME_cmp(X509_get_subject_name(ca), issuer) != 0)
			continue;
		key = X509_get0_pubkey(ca);
		if (key != NULL && X509_CRL_verify(crl, key) == 1)
			return true;
	}
	ERR_clear_error();
	return false;
}

/* the cRLNumber extension in uppercase hex, "" when absent */
static bool
crl_number(X509_CRL *crl, char *buf, size_t size)
{
	int			crit = 0;
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	BIGNUM	   *bn;
	char	   *hex;

	buf[0] = '\0';
	if (num == NULL)
		return crit == -1;		/* absent: fine; present but bad: not */
	bn = ASN1_INTEGER_to_BN(num, NULL);
	ASN1_INTEGER_free(num);
	if (bn == NULL)
		return false;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (hex == NULL || strlen(hex) >= size || hex[0] == '-')
	{
		OPENSSL_free(hex);
		return false;
	}
	strlcpy(buf, hex, size);
	OPENSSL_free(hex);
	return true;
}

static bool
serial_of(const ASN1_INTEGER *serial, uint64 *out)
{
	BIGNUM	   *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char	   *hex;

	if (bn == NULL)
		return false;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (hex == NULL)
		return false;
	*out = mi_revoked_serial_hash(hex);
	OPENSSL_free(hex);
	return true;
}

/*
 * One CRL: verify it and add its entries.  A CRL that parses but does not
 * verify sets *unverified (its claimed issuer noted in info).
 */
static bool
add_crl(MiRevokedBuild *b, const STACK_OF(X509) *cas, const char *label,
		X509_CRL *crl, MiCrlReadInfo *info, bool *unverified,
		char *err, size_t errlen)
{
	STACK_OF(X509_REVOKED) *revoked;
	char		issuer_dn[MI_REVOKED_NAME_MAX];
	unsigned char key[MI_NAME_KEY_LEN];
	char		number[MI_REVOKED_NUMBER_MAX];
	MiRevokedIssuer *is;
	int			n;
	int64		this_update;
	int64		next_update;

	if (!name_text(X509_CRL_get_issuer(crl), issuer_dn, sizeof(issuer_dn)) ||
		!mi_name_key(X509_CRL_get_issuer(crl), key))
	{
		snprintf(err, errlen, "cannot read the CRL issuer");
		return false;
	}
	if (!crl_verified(cas, crl))
	{
		snprintf(err, errlen,
				 "the CRL issued by \"%s\" is not signed by a CA certificate of ssl_ca_file with that subject",
				 issuer_dn);
		if (info->npending < MI_CRL_PENDING_MAX)
		{
			memcpy(info->pending_key[info->npending], key, MI_NAME_KEY_LEN);
			strlcpy(info->pending_name[info->npending], issuer_dn,
					MI_CRL_PENDING_NAME);
			info->npending++;
			*unverified = true;
		}
		return false;
	}
	if (!crl_number(crl, number, sizeof(number)))
	{
		snprintf(err, errlen, "the CRL issued by \"%s\" has an unreadable cRLNumber",
				 issuer_dn);
		return false;
	}
	this_update = time_of(X509_CRL_get0_lastUpdate(crl));
	next_update = time_of(X509_CRL_get0_nextUpdate(crl));
	revoked = X509_CRL_get_REVOKED(crl);
	n = revoked != NULL ? sk_X509_REVOKED_num(revoked) : 0;

	/* issuers in file order ("; " between), oldest thisUpdate */
	if (info->ncrls++ > 0)
		strlcat(info->issuer, "; ", sizeof(info->issuer));
	strlcat(info->issuer, issuer_dn, sizeof(info->issuer));
	if (info->this_update == 0 || this_update < info->this_update)
		info->this_update = this_update;
	if (next_update != 0 && (info->next_update == 0 || next_update < info->next_update))
		info->next_update = next_update;
	info->entries += n;

	is = mi_revoked_build_issuer(b, key, issuer_dn);
	if (is == NULL)
	{
		snprintf(err, errlen, "the CRLs name more than %d issuers",
				 MI_REVOKED_MAX_ISSUERS);
		return false;
	}
	/* several CRLs of one issuer: the union, dated by the newest */
	if (number[0] != '\0' &&
		(is->crl_number[0] == '\0' || strlen(number) > strlen(is->crl_number) ||
		 (strlen(number) == strlen(is->crl_number) &&
		  strcmp(number, is->crl_number) > 0)))
		strlcpy(is->crl_number, number, sizeof(is->crl_number));
	if (this_update > is->this_update)
		is->this_update = this_update;
	if (next_update != 0 && (is->next_update == 0 || next_update < is->next_update))
		is->next_update = next_update;

	/* a stale CRL still lists revoked certificates: use it, but say so */
	if (next_update != 0 && X509_cmp_time(X509_CRL_get0_nextUpdate(crl), NULL) < 0)
		ereport(WARNING,
				(errmsg("mtls_ident: the CRL issued by \"%s\" in \"%s\" is past its nextUpdate time",
						issuer_dn, label),
				 errdetail("Its revoked certificates are still refused; PostgreSQL's own TLS handshake refuses every certificate of that CA until the CRL is renewed.")));

	if (is->all_revoked)
		return true;
	if (b->nentries + n > b->capacity)
	{
		/* fail closed: this issuer's certificates are all refused */
		mi_revoked_build_all(b, is);
		ereport(WARNING,
				(errmsg("mtls_ident: the CRLs list more than %d revoked certificates; every certificate issued by \"%s\" is treated as revoked",
						b->capacity, issuer_dn),
				 errdetail("The CRL in \"%s\" lists %d revoked certificates that do not fit in the revocation set.",
						   label, n),
				 errhint("Use short-lived certificates or fewer, smaller CRLs.")));
		return true;
	}

	for (int i = 0; i < n; i++)
	{
		X509_REVOKED *r = sk_X509_REVOKED_value(revoked, i);
		ASN1_ENUMERATED *reason;
		int			crit;
		uint64		serial;

		/* removeFromCRL (delta CRLs) un-revokes: skip it */
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		if (reason != NULL)
		{
			long		code = ASN1_ENUMERATED_get(reason);

			ASN1_ENUMERATED_free(reason);
			if (code == CRL_REASON_REMOVE_FROM_CRL)
				continue;
		}
		if (!serial_of(X509_REVOKED_get0_serialNumber(r), &serial) ||
			!mi_revoked_build_add(b, is, serial))
		{
			snprintf(err, errlen,
					 "cannot read a revoked serial number in the CRL issued by \"%s\"",
					 issuer_dn);
			return false;
		}
	}
	return true;
}

bool
mi_crl_read(MiRevokedBuild *b, const void *cas_arg, const char *data,
			size_t len, const char *label, MiCrlReadInfo *info,
			char *err, size_t errlen)
{
	const STACK_OF(X509) *cas = (const STACK_OF(X509) *) cas_arg;
	BIO		   *bio;
	X509_CRL   *crl;
	bool		ok = true;

	memset(info, 0, sizeof(*info));
	err[0] = '\0';
	if (len > INT_MAX)
	{
		snprintf(err, errlen, "the CRL data is too large");
		return false;
	}
	bio = BIO_new_mem_buf(data, (int) len);
	if (bio == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}

	ERR_clear_error();
	if (memmem(data, len, "-----BEGIN", 10) != NULL)
	{
		/* an unverified CRL is noted and the next one read all the same */
		while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL)
		{
			bool		unv = false;
			char		e[512];

			if (!add_crl(b, cas, label, crl, info, &unv, e, sizeof(e)))
			{
				if (ok)
					strlcpy(err, e, errlen);
				ok = false;
				if (!unv)
				{
					info->other_failure = true;
					X509_CRL_free(crl);
					break;
				}
			}
			X509_CRL_free(crl);
		}
		if (!info->other_failure)
		{
			unsigned long e = ERR_peek_last_error();

			/* the loop must end at a clean end of file */
			if (!(ERR_GET_LIB(e) == ERR_LIB_PEM &&
				  ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
			{
				if (ok)
					snprintf(err, errlen, "invalid PEM CRL: %s",
							 mi_ssl_reason("parse error"));
				ok = false;
				info->other_failure = true;
			}
		}
	}
	else
	{
		crl = d2i_X509_CRL_bio(bio, NULL);
		if (crl == NULL || BIO_pending(bio) > 0)
		{
			snprintf(err, errlen, "not a PEM or DER CRL: %s",
					 crl ? "trailing data" : mi_ssl_reason("parse error"));
			ok = false;
			info->other_failure = true;
		}
		else
		{
			bool		unv = false;

			ok = add_crl(b, cas, label, crl, info, &unv, err, errlen);
			if (!ok && !unv)
				info->other_failure = true;
		}
		if (crl != NULL)
			X509_CRL_free(crl);
	}
	if (ok && info->ncrls == 0)
	{
		snprintf(err, errlen, "the file holds no CRL");
		ok = false;
		info->other_failure = true;
	}
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}
