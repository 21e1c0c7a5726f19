/*-------------------------------------------------------------------------
 *
 * crl_files.c
 *		The CRL files PostgreSQL is configured with: ssl_crl_file and
 *		every file of ssl_crl_dir.
 *
 * PostgreSQL reads its CRLs only at start and on reload.  mtls_ident reads
 * the same files itself: the postmaster loads them when shared memory is
 * created (crl.c), and the enforcer worker calls mi_crl_files_load(false)
 * on every wake-up, which stats the files and re-reads them only when
 * something changed (path, inode, size, mtime or ctime with nanoseconds,
 * of ssl_crl_file, ssl_ca_file, ssl_crl_dir and every file in it), or when
 * a CA certificate was learnt from a client chain (ca_store.c).
 *
 * Every file is read and verified (crl_verify.c); only when all of them
 * load is the result published as the "file" source of the revoked set
 * (revoked_set.c), replacing what the files published before.  When any
 * file fails, nothing is published: the last good set stays in force
 * entirely, and a WARNING names the file and why.  Each file's outcome is
 * kept for the revocation_sources view (the first MI_CRL_FILE_ROWS files
 * in name order have rows of their own).
 *
 * Locking: crl_files_lock(), the single lock of the tranche "mtls_ident crl
 * files" (never held while calling another module),
 * protects the change signature and the per-file statistics.  Only the
 * enforcer and the postmaster (before other processes exist) load, and a
 * backend at login while no set is in force (crl.c); a load in progress
 * holds no lock while it reads files.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/stat.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "ca_store.h"
#include "crl_files.h"
#include "crl_verify.h"
#include "revoked_set.h"

typedef struct MiCrlFileStat
{
	char		path[MAXPGPATH];
	char		issuer[MI_REVOKED_NAME_MAX];
	char		error[256];		/* "" when the last attempt succeeded */
	TimestampTz last_attempt;
	TimestampTz last_success;
	int64		this_update;	/* Unix seconds, 0 unknown */
	int64		next_update;
	int64		entries;
	int64		queries;
	int64		failures;
} MiCrlFileStat;

typedef struct MiCrlFiles
{
	uint64		signature;		/* of the files last read (good or not) */
	bool		attempted;
	int			nrows;
	int			nfiles;			/* files at the last attempt */
	MiCrlFileStat rows[MI_CRL_FILE_ROWS];
} MiCrlFiles;

static MiCrlFiles *crl_files = NULL;

/* the one place that names this module's lock */
#define MI_TRANCHE_NAME "mtls_ident crl files"

static LWLock *crl_files_lock_ptr = NULL;

static LWLock *
crl_files_lock(void)
{
	Assert(crl_files_lock_ptr != NULL);
	return crl_files_lock_ptr;
}

static void
lock(LWLockMode mode)
{
	if (IsUnderPostmaster)
		LWLockAcquire(crl_files_lock(), mode);
}

static void
unlock(void)
{
	if (IsUnderPostmaster)
		LWLockRelease(crl_files_lock());
}

Size
mi_crl_files_shmem_size(void)
{
	return sizeof(MiCrlFiles);
}

/* this module's lock: a tranche of its own */
void
mi_crl_files_shmem_request(void)
{
	RequestNamedLWLockTranche(MI_TRANCHE_NAME, 1);
}

void
mi_crl_files_shmem_init(void)
{
	bool		found;

	crl_files_lock_ptr = &(GetNamedLWLockTranche(MI_TRANCHE_NAME))[0].lock;
	crl_files = ShmemInitStruct("mtls_ident crl files", sizeof(MiCrlFiles), &found);
	if (!found)
		memset(crl_files, 0, sizeof(MiCrlFiles));
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
list_files(const char **dir_err)
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
	uint32		cagen = mi_ca_store_generation();
	ListCell   *lc;

	sig_add_path(&h, setting("ssl_ca_file"));
	if (dir[0] != '\0')
		sig_add_path(&h, dir);
	foreach(lc, files)
		sig_add_path(&h, (const char *) lfirst(lc));
	sig_add(&h, &cagen, sizeof(cagen));
	return h;
}

/* the whole file, or NULL (errno set) */
static char *
read_whole(const char *path, size_t *len)
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

/* ---------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------
 */

/* one file's outcome in this attempt */
typedef struct FileOutcome
{
	const char *path;
	bool		ok;
	char		err[256];
	MiCrlReadInfo info;
} FileOutcome;

/* fold this attempt into the per-file statistics; caller holds the lock */
static void
record_outcomes(FileOutcome *out, int n, TimestampTz now)
{
	MiCrlFileStat *old = palloc(sizeof(MiCrlFileStat) * MI_CRL_FILE_ROWS);
	int			nold = crl_files->nrows;
	int			nrows = Min(n, MI_CRL_FILE_ROWS);

	memcpy(old, crl_files->rows, sizeof(MiCrlFileStat) * nold);
	for (int i = 0; i < nrows; i++)
	{
		MiCrlFileStat *r = &crl_files->rows[i];
		MiCrlFileStat *prev = NULL;

		for (int j = 0; j < nold && prev == NULL; j++)
			if (strcmp(old[j].path, out[i].path) == 0)
				prev = &old[j];
		if (prev != NULL)
			*r = *prev;
		else
		{
			memset(r, 0, sizeof(*r));
			strlcpy(r->path, out[i].path, sizeof(r->path));
		}
		r->last_attempt = now;
		r->queries++;
		if (out[i].ok)
		{
			r->last_success = now;
			r->error[0] = '\0';
			strlcpy(r->issuer, out[i].info.issuer, sizeof(r->issuer));
			r->this_update = out[i].info.this_update;
			r->next_update = out[i].info.next_update;
			r->entries = out[i].info.entries;
		}
		else
		{
			r->failures++;
			strlcpy(r->error, out[i].err, sizeof(r->error));
		}
	}
	crl_files->nrows = nrows;
	crl_files->nfiles = n;
	pfree(old);
}

/*
 * No set is in force and the files failed only because some CRLs did not
 * verify (typically: of an intermediate CA that no client has shown yet):
 * publish what verified, with the issuers of the unverified CRLs pending
 * (all their certificates refused until a CRL of theirs verifies), so that
 * the other issuers' certificates need not wait.  Anything else wrong (a
 * file that does not read or parse) leaves no set in force: its issuers are
 * unknown.  Returns true when published.
 */
static bool
publish_provisional(MiRevokedBuild *b, FileOutcome *out, int nfiles)
{
	char		err[512];
	int			bad;
	bool		any = false;

	for (int i = 0; i < nfiles; i++)
		if (!out[i].ok && (out[i].info.other_failure || out[i].info.npending == 0))
			return false;
	for (int i = 0; i < nfiles; i++)
		for (int k = 0; k < out[i].info.npending; k++)
		{
			if (!mi_revoked_build_pending(b, out[i].info.pending_key[k],
										  out[i].info.pending_name[k]))
				return false;
			ereport(WARNING,
					(errmsg("mtls_ident: no verified CRL of \"%s\" yet: every certificate it issued is refused until one verifies",
							out[i].info.pending_name[k]),
					 errdetail("Its CRL in \"%s\" is not signed by a known CA certificate; a client presenting that CA in its chain teaches it.",
							   out[i].path),
					 errhint("Put that CA certificate in ssl_ca_file.")));
			any = true;
		}
	return any && mi_revoked_publish(MI_SOURCE_FILE, b, &bad, err, sizeof(err));
}

bool
mi_crl_files_load(bool force)
{
	const char *dir_err;
	List	   *files;
	uint64		sig;
	MiRevokedBuild *b;
	void	   *cas = NULL;
	FileOutcome *out;
	int			nfiles;
	int			i;
	int			ncrls = 0;
	bool		ok = true;
	const char *errfile = NULL;
	char		err[512];
	int			had_entries;
	int			had_issuers;
	int			nentries;
	int			nissuers;
	int			bad = -1;
	bool		cas_loaded = false;
	bool		provisional = false;

	if (crl_files == NULL)
		return false;
	files = list_files(&dir_err);
	sig = signature_of(files);
	if (!force)
	{
		bool		same;

		lock(LW_SHARED);
		same = crl_files->attempted && crl_files->signature == sig;
		unlock();
		if (same)
		{
			list_free_deep(files);
			return false;
		}
	}

	err[0] = '\0';
	nfiles = list_length(files);
	out = palloc0(sizeof(FileOutcome) * Max(nfiles, 1));
	b = mi_revoked_build_new();

	if (dir_err != NULL)
	{
		errfile = setting("ssl_crl_dir");
		strlcpy(err, dir_err, sizeof(err));
		ok = false;
	}
	if (ok && files != NIL)
	{
		cas = mi_ca_store_load(err, sizeof(err));
		cas_loaded = cas != NULL;
		if (cas == NULL)
		{
			errfile = setting("ssl_ca_file");
			ok = false;
		}
	}
	for (i = 0; i < nfiles; i++)
	{
		const char *path = (const char *) list_nth(files, i);
		size_t		len = 0;
		char	   *data;

		out[i].path = path;
		if (cas == NULL)
		{
			snprintf(out[i].err, sizeof(out[i].err), "%s", err);
			continue;
		}
		data = read_whole(path, &len);
		if (data == NULL)
		{
			snprintf(out[i].err, sizeof(out[i].err), "could not read file: %m");
			out[i].info.other_failure = true;
		}
		else
		{
			out[i].ok = mi_crl_read(b, cas, data, len, path, &out[i].info,
									out[i].err, sizeof(out[i].err));
			pfree(data);
		}
		ncrls += out[i].info.ncrls;
		if (!out[i].ok && ok)
		{
			ok = false;
			errfile = path;
			strlcpy(err, out[i].err, sizeof(err));
		}
	}
	mi_ca_store_free(cas);

	mi_revoked_counts(&had_entries, &had_issuers);
	if (!ok && dir_err == NULL && cas_loaded && !mi_revoked_in_force())
		provisional = publish_provisional(b, out, nfiles);
	if (ok && !mi_revoked_publish(MI_SOURCE_FILE, b, &bad, err, sizeof(err)))
	{
		ok = false;
		errfile = nfiles > 0 ? out[0].path : "";
		for (i = 0; i < nfiles && bad >= 0; i++)
		{
			/* charge the files that hold a CRL of that issuer */
			if (strstr(out[i].info.issuer, b->issuers[bad].name) != NULL)
			{
				out[i].ok = false;
				strlcpy(out[i].err, err, sizeof(out[i].err));
				errfile = out[i].path;
			}
		}
	}
	mi_revoked_counts(&nentries, &nissuers);

	lock(LW_EXCLUSIVE);
	crl_files->signature = sig;
	crl_files->attempted = true;
	record_outcomes(out, nfiles, GetCurrentTimestamp());
	unlock();

	if (!ok)
		ereport(WARNING,
				(errmsg("mtls_ident: could not load CRL file \"%s\": %s",
						errfile, err),
				 provisional ?
				 errdetail("No revocation set was in force: the CRLs that verified are in force, and every certificate of an issuer whose CRL did not verify is refused until it does.") :
				 errdetail("The previous revocation set (%d revoked certificates) stays in force.",
						   had_entries),
				 errhint("Every CRL must parse and be signed by a CA certificate in ssl_ca_file.")));
	else if (files != NIL || had_entries > 0 || had_issuers > 0)
		ereport(LOG,
				(errmsg("mtls_ident: revocation set loaded: %d revoked certificates from %d CRLs",
						b->nentries, ncrls),
				 b->nall > 0 ?
				 errdetail("Every certificate of %d issuers is treated as revoked because their CRLs did not fit.",
						   b->nall) : 0));

	mi_revoked_build_free(b);
	pfree(out);
	list_free_deep(files);
	return ok;
}

void
mi_crl_files_report(MiRevocationEmit emit, void *arg)
{
	MiCrlFileStat *rows;
	int			n;

	if (crl_files == NULL)
		return;
	rows = palloc(sizeof(MiCrlFileStat) * MI_CRL_FILE_ROWS);
	lock(LW_SHARED);
	n = crl_files->nrows;
	memcpy(rows, crl_files->rows, sizeof(MiCrlFileStat) * n);
	unlock();

	for (int i = 0; i < n; i++)
	{
		MiRevocationRow row;

		memset(&row, 0, sizeof(row));
		row.source = "file";
		row.location = rows[i].path;
		row.issuer = rows[i].issuer[0] ? rows[i].issuer : NULL;
		row.last_attempt = rows[i].last_attempt;
		row.last_success = rows[i].last_success;
		row.this_update = rows[i].this_update ?
			time_t_to_timestamptz((pg_time_t) rows[i].this_update) : 0;
		row.next_update = rows[i].next_update ?
			time_t_to_timestamptz((pg_time_t) rows[i].next_update) : 0;
		row.entries = rows[i].entries;
		row.queries = rows[i].queries;
		row.failures = rows[i].failures;
		row.error = rows[i].error[0] ? rows[i].error : NULL;
		emit(&row, arg);
	}
	pfree(rows);
}
