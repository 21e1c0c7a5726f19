/*-------------------------------------------------------------------------
 *
 * crl.c
 *		Revocation: the CRLs PostgreSQL is configured with (ssl_crl_file,
 *		ssl_crl_dir), re-read when they change on disk, verified, and
 *		published in shared memory as a sorted set of (issuer, serial).
 *
 * PostgreSQL reads its CRLs only at start and on reload.  mtls_ident reads
 * the same files itself: the postmaster loads them once when shared memory
 * is created (so the set is in force before the first login, also after a
 * crash restart), and the enforcer worker calls mi_crl_refresh() on every
 * wake-up, which stats the files and re-reads them only when something
 * changed (path, inode, size, mtime or ctime with nanoseconds, of
 * ssl_crl_file, ssl_ca_file, ssl_crl_dir and every file in it).
 *
 * Every CRL must be signed by a CA certificate of ssl_ca_file whose subject
 * equals the CRL's issuer (intermediate CAs included).  When any file fails
 * to read, parse or verify, nothing is published: the last good set stays
 * in force entirely, and a WARNING names the file and why.
 *
 * The set holds at most MI_CRL_CAPACITY revoked certificates.  A CRL whose
 * entries do not fit fails closed: its issuer is recorded as "every
 * certificate revoked" (up to MI_CRL_MAX_ALL issuers; past that the whole
 * refresh fails and the last good set stays).
 *
 * An entry is two 64-bit hashes: of the issuer DN in RFC 2253 form (as
 * MiCert.issuer_dn) and of the serial in uppercase hex without leading
 * zeros.  A hash collision could only make a good certificate look revoked
 * (fail closed); with 64-bit hashes it does not happen in practice.
 *
 * Locking: MI_LWLOCK_CRL.  Lookups take it shared; the enforcer builds a
 * new set in local memory and copies it in under the exclusive lock.  Only
 * the enforcer (and the postmaster, before any other process exists)
 * writes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "crl.h"
#include "shmem.h"

/* capacity of the published set (documented in doc/enforcement.md) */
#define MI_CRL_CAPACITY		100000
#define MI_CRL_MAX_ALL		256
#define MI_CRL_MAX_FILES	10000	/* files read from ssl_crl_dir */

/* CA certificates learnt from verified client chains */
#define MI_CRL_CHAIN_CAS	64
#define MI_CRL_CA_DER_MAX	8192

#define MI_SEED_ISSUER	UINT64CONST(0x6d746c735f697373)
#define MI_SEED_SERIAL	UINT64CONST(0x6d746c735f736572)

typedef struct MiCrlEntry
{
	uint64		issuer;
	uint64		serial;
} MiCrlEntry;

typedef struct MiChainCa
{
	unsigned char sha256[32];
	int			len;			/* 0: empty */
	unsigned char der[MI_CRL_CA_DER_MAX];
} MiChainCa;

typedef struct MiCrlShared
{
	uint64		signature;		/* of the files last read (good or not) */
	bool		attempted;		/* files were read at least once */
	uint64		generation;		/* successful publications */
	int			nentries;
	int			nall;			/* issuers with every certificate revoked */
	uint32		ca_generation;	/* bumped when a chain CA is learnt */
	int			ca_next;		/* next chain_cas slot to (re)use */
	MiChainCa	chain_cas[MI_CRL_CHAIN_CAS];
	uint64		all[MI_CRL_MAX_ALL];	/* sorted issuer hashes */
	MiCrlEntry	entries[MI_CRL_CAPACITY];	/* sorted, unique */
} MiCrlShared;

static MiCrlShared *mi_crl = NULL;

/* a set being built in local memory */
typedef struct CrlBuild
{
	MiCrlEntry *entries;
	int			nentries;
	int			capacity;
	uint64		all[MI_CRL_MAX_ALL];
	int			nall;
	int			ncrls;
	STACK_OF(X509) *cas;
	char		errfile[MAXPGPATH];
	char		err[512];
} CrlBuild;

Size
mi_crl_shmem_size(void)
{
	return sizeof(MiCrlShared);
}

static void crl_load(bool initial);

void
mi_crl_shmem_init(void)
{
	bool		found;

	mi_crl = ShmemInitStruct("mtls_ident crl", sizeof(MiCrlShared), &found);
	if (found)
		return;
	memset(mi_crl, 0, offsetof(MiCrlShared, entries));

	/*
	 * We run in the postmaster (or a single-user backend) before any
	 * session exists: load the CRLs now, so the set is in force for the
	 * very first login.  No lock is needed yet.
	 */
	if (!IsUnderPostmaster)
		crl_load(true);
}

/* strip leading zeros and hash an uppercase hex serial */
static uint64
serial_hash(const char *hex)
{
	char		buf[256];
	bool		neg = false;
	int			n = 0;

	if (*hex == '-')
	{
		neg = true;
		hex++;
	}
	while (*hex == '0' && hex[1] != '\0')
		hex++;
	if (neg)
		buf[n++] = '-';
	for (; *hex && n < (int) sizeof(buf) - 1; hex++)
		buf[n++] = (*hex >= 'a' && *hex <= 'f') ? *hex - 'a' + 'A' : *hex;
	return hash_bytes_extended((const unsigned char *) buf, n, MI_SEED_SERIAL);
}

static uint64
issuer_hash(const char *dn)
{
	return hash_bytes_extended((const unsigned char *) dn, (int) strlen(dn),
							   MI_SEED_ISSUER);
}

static int
entry_cmp(const void *a, const void *b)
{
	const MiCrlEntry *x = a;
	const MiCrlEntry *y = b;

	if (x->issuer != y->issuer)
		return x->issuer < y->issuer ? -1 : 1;
	if (x->serial != y->serial)
		return x->serial < y->serial ? -1 : 1;
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

bool
mi_crl_is_revoked(const MiCert *cert)
{
	MiCrlEntry	key;
	bool		revoked;

	if (mi_crl == NULL || cert == NULL || cert->issuer_dn == NULL ||
		cert->serial_hex == NULL)
		return false;
	key.issuer = issuer_hash(cert->issuer_dn);
	key.serial = serial_hash(cert->serial_hex);

	LWLockAcquire(mi_lwlock(MI_LWLOCK_CRL), LW_SHARED);
	revoked = bsearch(&key, mi_crl->entries, mi_crl->nentries,
					  sizeof(MiCrlEntry), entry_cmp) != NULL ||
		bsearch(&key.issuer, mi_crl->all, mi_crl->nall, sizeof(uint64),
				u64_cmp) != NULL;
	LWLockRelease(mi_lwlock(MI_LWLOCK_CRL));
	return revoked;
}

/*
 * Login hook: remember the CA certificates of a verified client chain
 * (leaf first), so that CRLs issued by intermediate CAs that are not in
 * ssl_ca_file can still be verified.  Those certificates are trustworthy:
 * OpenSSL has just verified the chain up to a CA of ssl_ca_file.
 */
void
mi_crl_note_chain(const void *chain_arg)
{
	STACK_OF(X509) *chain = (STACK_OF(X509) *) chain_arg;

	if (mi_crl == NULL || chain == NULL)
		return;
	for (int i = 1; i < sk_X509_num(chain); i++)
	{
		X509	   *x = sk_X509_value(chain, i);
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		unsigned char *p;
		int			len;
		bool		known = false;

		/* roots are in ssl_ca_file already */
		if (X509_check_ca(x) <= 0 || X509_check_issued(x, x) == X509_V_OK)
			continue;
		len = i2d_X509(x, NULL);
		if (len <= 0 || len > MI_CRL_CA_DER_MAX ||
			!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32)
			continue;

		LWLockAcquire(mi_lwlock(MI_LWLOCK_CRL), LW_SHARED);
		for (int j = 0; j < MI_CRL_CHAIN_CAS && !known; j++)
			known = mi_crl->chain_cas[j].len > 0 &&
				memcmp(mi_crl->chain_cas[j].sha256, md, 32) == 0;
		LWLockRelease(mi_lwlock(MI_LWLOCK_CRL));
		if (known)
			continue;

		LWLockAcquire(mi_lwlock(MI_LWLOCK_CRL), LW_EXCLUSIVE);
		for (int j = 0; j < MI_CRL_CHAIN_CAS && !known; j++)
			known = mi_crl->chain_cas[j].len > 0 &&
				memcmp(mi_crl->chain_cas[j].sha256, md, 32) == 0;
		if (!known)
		{
			MiChainCa  *slot = &mi_crl->chain_cas[mi_crl->ca_next];

			p = slot->der;
			slot->len = i2d_X509(x, &p);
			if (slot->len > 0)
			{
				memcpy(slot->sha256, md, 32);
				mi_crl->ca_next = (mi_crl->ca_next + 1) % MI_CRL_CHAIN_CAS;
				mi_crl->ca_generation++;
			}
			else
				slot->len = 0;
		}
		LWLockRelease(mi_lwlock(MI_LWLOCK_CRL));
	}
	ERR_clear_error();
}

/* ---------------------------------------------------------------------
 * What is on disk: paths and a signature of their stat() facts
 * ---------------------------------------------------------------------
 */

static const char *
setting(const char *name)
{
	const char *v = GetConfigOption(name, true, false);

	return v != NULL ? v : "";
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * The CRL files: ssl_crl_file and every regular file of ssl_crl_dir (names
 * not starting with a dot), sorted.  Sets *dir_err when the directory
 * cannot be read.
 */
static List *
crl_files(const char **dir_err)
{
	const char *file = setting("ssl_crl_file");
	const char *dir = setting("ssl_crl_dir");
	List	   *files = NIL;

	*dir_err = NULL;
	if (file[0] != '\0')
		files = lappend(files, pstrdup(file));
	if (dir[0] != '\0')
	{
		DIR		   *d = opendir(dir);
		struct dirent *de;
		char	  **names;
		int			n = 0;
		int			cap = 16;

		if (d == NULL)
		{
			*dir_err = psprintf("could not open directory \"%s\": %m", dir);
			return files;
		}
		names = palloc(sizeof(char *) * cap);
		while ((de = readdir(d)) != NULL)
		{
			char		path[MAXPGPATH];
			struct stat st;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (n == MI_CRL_MAX_FILES)
			{
				/* refuse rather than silently ignore revocations */
				*dir_err = psprintf("directory \"%s\" holds more than %d files",
									dir, MI_CRL_MAX_FILES);
				break;
			}
			if (n == cap)
			{
				cap *= 2;
				names = repalloc(names, sizeof(char *) * cap);
			}
			names[n++] = pstrdup(path);
		}
		closedir(d);
		qsort(names, n, sizeof(char *), name_cmp);
		for (int i = 0; i < n; i++)
			files = lappend(files, names[i]);
		pfree(names);
	}
	return files;
}

/* FNV-1a, 64-bit */
static void
sig_add(uint64 *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
	{
		*h ^= p[i];
		*h *= UINT64CONST(0x100000001b3);
	}
}

static void
sig_add_path(uint64 *h, const char *path)
{
	struct stat st;
	int64		facts[8];

	sig_add(h, path, strlen(path) + 1);
	memset(facts, 0, sizeof(facts));
	if (stat(path, &st) == 0)
	{
		facts[0] = (int64) st.st_dev;
		facts[1] = (int64) st.st_ino;
		facts[2] = (int64) st.st_size;
		facts[3] = (int64) st.st_mtim.tv_sec;
		facts[4] = (int64) st.st_mtim.tv_nsec;
		facts[5] = (int64) st.st_ctim.tv_sec;
		facts[6] = (int64) st.st_ctim.tv_nsec;
	}
	else
		facts[7] = errno;
	sig_add(h, facts, sizeof(facts));
}

static uint64
signature_of(List *files)
{
	uint64		h = UINT64CONST(0xcbf29ce484222325);
	const char *dir = setting("ssl_crl_dir");
	ListCell   *lc;

	sig_add_path(&h, setting("ssl_ca_file"));
	if (dir[0] != '\0')
		sig_add_path(&h, dir);
	foreach(lc, files)
		sig_add_path(&h, (const char *) lfirst(lc));
	return h;
}

/* ---------------------------------------------------------------------
 * Loading and verifying
 * ---------------------------------------------------------------------
 */

static void
set_error(CrlBuild *b, const char *file, const char *fmt,...)
	pg_attribute_printf(3, 4);

static void
set_error(CrlBuild *b, const char *file, const char *fmt,...)
{
	va_list		ap;

	if (b->err[0] != '\0')
		return;					/* the first problem is the one reported */
	strlcpy(b->errfile, file, sizeof(b->errfile));
	va_start(ap, fmt);
	vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
}

/* the reason of the last OpenSSL error, or a default */
static const char *
ssl_reason(const char *dflt)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : dflt;
}

/* the whole file, or NULL (errno set) */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	StringInfoData buf;
	char		chunk[8192];
	size_t		n;

	if (f == NULL)
		return NULL;
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryStringInfo(&buf, chunk, (int) n);
	if (ferror(f))
	{
		int			save = errno;

		fclose(f);
		pfree(buf.data);
		errno = save;
		return NULL;
	}
	fclose(f);
	*len = buf.len;
	return buf.data;
}

static bool
load_cas(CrlBuild *b)
{
	const char *path = setting("ssl_ca_file");
	BIO		   *bio;
	X509	   *x;

	b->cas = sk_X509_new_null();
	if (b->cas == NULL)
	{
		set_error(b, path, "out of memory");
		return false;
	}
	/* CA certificates learnt from verified client chains */
	if (IsUnderPostmaster)
	{
		LWLockAcquire(mi_lwlock(MI_LWLOCK_CRL), LW_SHARED);
		for (int j = 0; j < MI_CRL_CHAIN_CAS; j++)
		{
			const unsigned char *p = mi_crl->chain_cas[j].der;

			if (mi_crl->chain_cas[j].len <= 0)
				continue;
			x = d2i_X509(NULL, &p, mi_crl->chain_cas[j].len);
			if (x != NULL && !sk_X509_push(b->cas, x))
				X509_free(x);
		}
		LWLockRelease(mi_lwlock(MI_LWLOCK_CRL));
	}
	if (path[0] == '\0')
		return true;
	bio = BIO_new_file(path, "r");
	if (bio == NULL)
	{
		set_error(b, path, "could not read ssl_ca_file: %s",
				  ssl_reason("cannot open file"));
		return false;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
	{
		if (!sk_X509_push(b->cas, x))
		{
			X509_free(x);
			break;
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	return true;
}

/* RFC 2253 text of an X509_NAME, palloc'd (as cert.c prints DNs) */
static char *
name_text(const X509_NAME *name)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data;
	long		len;
	char	   *out;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, (X509_NAME *) name, 0, XN_FLAG_RFC2253) < 0)
	{
		BIO_free(bio);
		return NULL;
	}
	len = BIO_get_mem_data(bio, &data);
	out = palloc(len + 1);
	memcpy(out, data, len);
	out[len] = '\0';
	BIO_free(bio);
	return out;
}

static bool
crl_verified(CrlBuild *b, X509_CRL *crl)
{
	const X509_NAME *issuer = X509_CRL_get_issuer(crl);

	for (int i = 0; i < sk_X509_num(b->cas); i++)
	{
		X509	   *ca = sk_X509_value(b->cas, i);
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

static bool
add_entry(CrlBuild *b, uint64 issuer, const ASN1_INTEGER *serial)
{
	BIGNUM	   *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char	   *hex;

	if (bn == NULL)
		return false;
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (hex == NULL)
		return false;
	b->entries[b->nentries].issuer = issuer;
	b->entries[b->nentries].serial = serial_hash(hex);
	b->nentries++;
	OPENSSL_free(hex);
	return true;
}

/* one CRL: verify it and add its entries */
static bool
add_crl(CrlBuild *b, const char *file, X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revoked;
	char	   *issuer_dn;
	uint64		issuer;
	int			n;
	const ASN1_TIME *next;

	issuer_dn = name_text(X509_CRL_get_issuer(crl));
	if (issuer_dn == NULL)
	{
		set_error(b, file, "cannot print the CRL issuer");
		return false;
	}
	if (!crl_verified(b, crl))
	{
		set_error(b, file,
				  "the CRL issued by \"%s\" is not signed by a CA certificate of ssl_ca_file with that subject",
				  issuer_dn);
		pfree(issuer_dn);
		return false;
	}
	issuer = issuer_hash(issuer_dn);
	b->ncrls++;

	/* a stale CRL still lists revoked certificates: use it, but say so */
	next = X509_CRL_get0_nextUpdate(crl);
	if (next != NULL && X509_cmp_time(next, NULL) < 0)
		ereport(WARNING,
				(errmsg("mtls_ident: the CRL issued by \"%s\" in \"%s\" is past its nextUpdate time",
						issuer_dn, file),
				 errdetail("Its revoked certificates are still refused; PostgreSQL's own TLS handshake refuses every certificate of that CA until the CRL is renewed.")));

	revoked = X509_CRL_get_REVOKED(crl);
	n = revoked != NULL ? sk_X509_REVOKED_num(revoked) : 0;

	if (b->nentries + n > b->capacity)
	{
		/* fail closed: this issuer's certificates are all refused */
		if (b->nall >= MI_CRL_MAX_ALL)
		{
			set_error(b, file,
					  "the CRLs list more than %d revoked certificates and too many issuers to refuse outright",
					  MI_CRL_CAPACITY);
			pfree(issuer_dn);
			return false;
		}
		b->all[b->nall++] = issuer;
		ereport(WARNING,
				(errmsg("mtls_ident: the CRLs list more than %d revoked certificates; every certificate issued by \"%s\" is treated as revoked",
						MI_CRL_CAPACITY, issuer_dn),
				 errdetail("The CRL in \"%s\" lists %d revoked certificates that do not fit in the revocation set.",
						   file, n),
				 errhint("Use short-lived certificates or fewer, smaller CRLs.")));
		pfree(issuer_dn);
		return true;
	}

	for (int i = 0; i < n; i++)
	{
		X509_REVOKED *r = sk_X509_REVOKED_value(revoked, i);
		ASN1_ENUMERATED *reason;
		int			crit;

		/* removeFromCRL (delta CRLs) un-revokes: skip it */
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		if (reason != NULL)
		{
			long		code = ASN1_ENUMERATED_get(reason);

			ASN1_ENUMERATED_free(reason);
			if (code == CRL_REASON_REMOVE_FROM_CRL)
				continue;
		}
		if (!add_entry(b, issuer, X509_REVOKED_get0_serialNumber(r)))
		{
			set_error(b, file, "cannot read a revoked serial number in the CRL issued by \"%s\"",
					  issuer_dn);
			pfree(issuer_dn);
			return false;
		}
	}
	pfree(issuer_dn);
	return true;
}

/* every CRL of one file (PEM, possibly several, or one DER) */
static bool
load_crl_file(CrlBuild *b, const char *path)
{
	size_t		len = 0;
	char	   *data;
	BIO		   *bio;
	X509_CRL   *crl;
	int			count = 0;
	bool		ok = true;

	data = read_file(path, &len);
	if (data == NULL)
	{
		set_error(b, path, "could not read file: %m");
		return false;
	}
	bio = BIO_new_mem_buf(data, (int) len);
	if (bio == NULL)
	{
		pfree(data);
		set_error(b, path, "out of memory");
		return false;
	}

	if (memmem(data, len, "-----BEGIN", 10) != NULL)
	{
		while (ok && (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL)
		{
			count++;
			ok = add_crl(b, path, crl);
			X509_CRL_free(crl);
		}
		if (ok)
		{
			unsigned long e = ERR_peek_last_error();

			/* the loop must end at a clean end of file */
			if (!(ERR_GET_LIB(e) == ERR_LIB_PEM &&
				  ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
			{
				set_error(b, path, "invalid PEM CRL: %s",
						  ssl_reason("parse error"));
				ok = false;
			}
		}
	}
	else
	{
		crl = d2i_X509_CRL_bio(bio, NULL);
		if (crl == NULL || BIO_pending(bio) > 0)
		{
			set_error(b, path, "not a PEM or DER CRL: %s",
					  crl ? "trailing data" : ssl_reason("parse error"));
			ok = false;
		}
		else
		{
			count++;
			ok = add_crl(b, path, crl);
		}
		if (crl != NULL)
			X509_CRL_free(crl);
	}
	if (ok && count == 0)
	{
		set_error(b, path, "the file holds no CRL");
		ok = false;
	}
	BIO_free(bio);
	pfree(data);
	ERR_clear_error();
	return ok;
}

/* sort and remove duplicates */
static void
build_finish(CrlBuild *b)
{
	int			n = 0;

	if (b->nentries > 0)
	{
		qsort(b->entries, b->nentries, sizeof(MiCrlEntry), entry_cmp);
		for (int i = 0; i < b->nentries; i++)
			if (n == 0 || entry_cmp(&b->entries[n - 1], &b->entries[i]) != 0)
				b->entries[n++] = b->entries[i];
	}
	b->nentries = n;
	qsort(b->all, b->nall, sizeof(uint64), u64_cmp);
}

/*
 * Read the files if they changed (always when initial) and publish a new
 * set when all of them loaded.
 */
static void
crl_load(bool initial)
{
	const char *dir_err;
	List	   *files;
	uint64		sig;
	CrlBuild   *b;
	ListCell   *lc;
	bool		ok = true;
	bool		had_entries;

	files = crl_files(&dir_err);
	sig = signature_of(files);

	if (initial)
		sig_add(&sig, &mi_crl->ca_generation, sizeof(mi_crl->ca_generation));
	else
	{
		bool		same;

		LWLockAcquire(mi_lwlock(MI_LWLOCK_CRL), LW_SHARED);
		sig_add(&sig, &mi_crl->ca_generation, sizeof(mi_crl->ca_generation));
		same = mi_crl->attempted && mi_crl->signature == sig;
		LWLockRelease(mi_lwlock(MI_LWLOCK_CRL));
		if (same)
		{
			list_free_deep(files);
			return;
		}
	}

	b = palloc0(sizeof(CrlBuild));
	b->capacity = MI_CRL_CAPACITY;
	b->entries = palloc(sizeof(MiCrlEntry) * MI_CRL_CAPACITY);

	if (dir_err != NULL)
	{
		set_error(b, setting("ssl_crl_dir"), "%s", dir_err);
		ok = false;
	}
	if (ok && files != NIL)
		ok = load_cas(b);
	if (ok)
	{
		foreach(lc, files)
		{
			if (!load_crl_file(b, (const char *) lfirst(lc)))
			{
				ok = false;
				break;
			}
		}
	}

	if (ok)
		build_finish(b);

	/* publish (or only remember that these files were seen) */
	if (!initial)
		LWLockAcquire(mi_lwlock(MI_LWLOCK_CRL), LW_EXCLUSIVE);
	had_entries = mi_crl->nentries > 0 || mi_crl->nall > 0;
	mi_crl->signature = sig;
	mi_crl->attempted = true;
	if (ok)
	{
		memcpy(mi_crl->entries, b->entries, sizeof(MiCrlEntry) * b->nentries);
		mi_crl->nentries = b->nentries;
		memcpy(mi_crl->all, b->all, sizeof(uint64) * b->nall);
		mi_crl->nall = b->nall;
		mi_crl->generation++;
	}
	if (!initial)
		LWLockRelease(mi_lwlock(MI_LWLOCK_CRL));

	if (!ok)
		ereport(WARNING,
				(errmsg("mtls_ident: could not load CRL file \"%s\": %s",
						b->errfile, b->err),
				 errdetail("The previous revocation set (%d revoked certificates) stays in force.",
						   mi_crl->nentries),
				 errhint("Every CRL must parse and be signed by a CA certificate in ssl_ca_file.")));
	else if (files != NIL || had_entries)
		ereport(LOG,
				(errmsg("mtls_ident: revocation set loaded: %d revoked certificates from %d CRLs",
						b->nentries, b->ncrls),
				 b->nall > 0 ?
				 errdetail("Every certificate of %d issuers is treated as revoked because their CRLs did not fit.",
						   b->nall) : 0));

	if (b->cas != NULL)
		sk_X509_pop_free(b->cas, X509_free);
	pfree(b->entries);
	pfree(b);
	list_free_deep(files);
	ERR_clear_error();
}

void
mi_crl_refresh(void)
{
	if (mi_crl == NULL)
		return;
	crl_load(false);
}

bool
mi_crl_verify_signature(const void *crl_arg)
{
	CrlBuild   *b = palloc0(sizeof(CrlBuild));
	bool		ok;

	ok = load_cas(b) && crl_verified(b, (X509_CRL *) crl_arg);
	if (b->cas != NULL)
		sk_X509_pop_free(b->cas, X509_free);
	pfree(b);
	ERR_clear_error();
	return ok;
}
