/*-------------------------------------------------------------------------
 *
 * ca_store.c
 *		The CA certificates a CRL may be verified with.
 *
 * A CRL must be signed by a CA certificate whose subject is the CRL's
 * issuer.  The roots (and any intermediates) of ssl_ca_file are read from
 * the file each time a set is built.  Intermediate CAs that are not in
 * ssl_ca_file are learnt from client chains that OpenSSL has just verified
 * up to a CA of ssl_ca_file (so they are as trustworthy as the file): the
 * login hook hands each verified chain to mi_ca_store_note_chain, which
 * keeps up to MI_CA_STORE_SLOTS of them in shared memory (oldest replaced
 * first).  They are also written into the revocation state file
 * (revocation_state.c), so that after a restart or a crash restart the CRL
 * of such an intermediate verifies before its next client logs in.
 *
 * Locking: ca_store_lock(), the single lock of the tranche "mtls_ident ca store"
 * (never held while calling another module).  Readers take it shared; a login that learns a new
 * certificate takes it exclusive for one copy.  Import runs in the
 * postmaster before any other process exists.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "ca_store.h"
#include "ssl_reason.h"

typedef struct MiCaSlot
{
	unsigned char sha256[32];
	int			len;			/* 0: empty */
	unsigned char der[MI_CA_DER_MAX];
} MiCaSlot;

typedef struct MiCaStore
{
	uint32		generation;
	int			next;			/* next slot to (re)use */
	MiCaSlot	slots[MI_CA_STORE_SLOTS];
} MiCaStore;

static MiCaStore *ca_store = NULL;

/* the one place that names this module's lock */
#define MI_TRANCHE_NAME "mtls_ident ca store"

static LWLock *ca_store_lock_ptr = NULL;

static LWLock *
ca_store_lock(void)
{
	Assert(ca_store_lock_ptr != NULL);
	return ca_store_lock_ptr;
}

Size
mi_ca_store_shmem_size(void)
{
	return sizeof(MiCaStore);
}

/* this module's lock: a tranche of its own */
void
mi_ca_store_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_TRANCHE_NAME, 1);
}

void
mi_ca_store_shmem_init(void)
{
	bool		found;

	ca_store_lock_ptr = &(GetNamedLWLockTranche(MI_TRANCHE_NAME))[0].lock;
	ca_store = ShmemInitStruct("mtls_ident ca store", sizeof(MiCaStore), &found);
	if (!found)
		memset(ca_store, 0, sizeof(MiCaStore));
}

static bool
known(const unsigned char *md)
{
	for (int j = 0; j < MI_CA_STORE_SLOTS; j++)
		if (ca_store->slots[j].len > 0 &&
			memcmp(ca_store->slots[j].sha256, md, 32) == 0)
			return true;
	return false;
}

/* copy one DER certificate into the next slot; caller holds the lock */
static void
store(const unsigned char *der, int len, const unsigned char *md)
{
	MiCaSlot   *slot = &ca_store->slots[ca_store->next];

	memcpy(slot->der, der, len);
	slot->len = len;
	memcpy(slot->sha256, md, 32);
	ca_store->next = (ca_store->next + 1) % MI_CA_STORE_SLOTS;
	ca_store->generation++;
}

bool
mi_ca_store_note_chain(const void *chain_arg)
{
	STACK_OF(X509) *chain = (STACK_OF(X509) *) chain_arg;
	bool		learnt = false;

	if (ca_store == NULL || chain == NULL)
		return false;
	for (int i = 1; i < sk_X509_num(chain); i++)
	{
		X509	   *x = sk_X509_value(chain, i);
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		unsigned char *der = NULL;
		int			len;
		bool		have;

		/* roots are in ssl_ca_file already */
		if (X509_check_ca(x) <= 0 || X509_check_issued(x, x) == X509_V_OK)
			continue;
		if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32)
			continue;

		LWLockAcquire(ca_store_lock(), LW_SHARED);
		have = known(md);
		LWLockRelease(ca_store_lock());
		if (have)
			continue;

		len = i2d_X509(x, &der);	/* OpenSSL allocates */
		if (len <= 0 || len > MI_CA_DER_MAX)
		{
			OPENSSL_free(der);
			continue;
		}
		LWLockAcquire(ca_store_lock(), LW_EXCLUSIVE);
		if (!known(md))
		{
			store(der, len, md);
			learnt = true;
		}
		LWLockRelease(ca_store_lock());
		OPENSSL_free(der);
	}
	ERR_clear_error();
	return learnt;
}

uint32
mi_ca_store_generation(void)
{
	uint32		g;

	if (ca_store == NULL)
		return 0;
	LWLockAcquire(ca_store_lock(), LW_SHARED);
	g = ca_store->generation;
	LWLockRelease(ca_store_lock());
	return g;
}

void *
mi_ca_store_load(char *err, size_t errlen)
{
	const char *path = GetConfigOption("ssl_ca_file", true, false);
	STACK_OF(X509) *cas = sk_X509_new_null();
	BIO		   *bio;
	X509	   *x;

	if (cas == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ca_store != NULL)
	{
		/* no lock before other processes exist (postmaster start) */
		if (IsUnderPostmaster)
			LWLockAcquire(ca_store_lock(), LW_SHARED);
		for (int j = 0; j < MI_CA_STORE_SLOTS; j++)
		{
			const unsigned char *p = ca_store->slots[j].der;

			if (ca_store->slots[j].len <= 0)
				continue;
			x = d2i_X509(NULL, &p, ca_store->slots[j].len);
			if (x != NULL && !sk_X509_push(cas, x))
				X509_free(x);
		}
		if (IsUnderPostmaster)
			LWLockRelease(ca_store_lock());
	}
	if (path == NULL || path[0] == '\0')
	{
		ERR_clear_error();
		return cas;
	}
	bio = BIO_new_file(path, "r");
	if (bio == NULL)
	{
		snprintf(err, errlen, "could not read ssl_ca_file \"%s\": %s", path,
				 mi_ssl_reason("cannot open file"));
		sk_X509_pop_free(cas, X509_free);
		ERR_clear_error();
		return NULL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
	{
		if (!sk_X509_push(cas, x))
		{
			X509_free(x);
			break;
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	return cas;
}

void
mi_ca_store_free(void *cas)
{
	if (cas != NULL)
		sk_X509_pop_free((STACK_OF(X509) *) cas, X509_free);
}

/*
 * State file part: u32 count, then { u32 len, der } per certificate, oldest
 * first (so that import keeps the replacement order).
 */
void
mi_ca_store_export(StringInfo out)
{
	uint32		n = 0;
	int			count_at = out->len;

	appendBinaryStringInfo(out, (const char *) &n, sizeof(n));
	LWLockAcquire(ca_store_lock(), LW_SHARED);
	for (int k = 0; k < MI_CA_STORE_SLOTS; k++)
	{
		MiCaSlot   *slot = &ca_store->slots[(ca_store->next + k) % MI_CA_STORE_SLOTS];
		uint32		len = (uint32) slot->len;

		if (slot->len <= 0)
			continue;
		appendBinaryStringInfo(out, (const char *) &len, sizeof(len));
		appendBinaryStringInfo(out, (const char *) slot->der, slot->len);
		n++;
	}
	LWLockRelease(ca_store_lock());
	memcpy(out->data + count_at, &n, sizeof(n));
}

bool
mi_ca_store_import(const char *data, size_t len)
{
	size_t		pos = 0;
	uint32		n;

	if (len < sizeof(n))
		return false;
	memcpy(&n, data, sizeof(n));
	pos = sizeof(n);
	for (uint32 i = 0; i < n; i++)
	{
		uint32		clen;
		const unsigned char *p;
		X509	   *x;
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;

		if (len - pos < sizeof(clen))
			return false;
		memcpy(&clen, data + pos, sizeof(clen));
		pos += sizeof(clen);
		if (clen == 0 || clen > MI_CA_DER_MAX || len - pos < clen)
			return false;
		p = (const unsigned char *) data + pos;
		x = d2i_X509(NULL, &p, clen);
		if (x == NULL || p != (const unsigned char *) data + pos + clen ||
			!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32)
		{
			X509_free(x);
			ERR_clear_error();
			return false;
		}
		X509_free(x);
		if (!known(md))
			store((const unsigned char *) data + pos, (int) clen, md);
		pos += clen;
	}
	return pos == len;
}
