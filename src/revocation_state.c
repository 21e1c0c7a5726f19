/*-------------------------------------------------------------------------
 *
 * revocation_state.c
 *		The revocation state file, $PGDATA/pg_mtls_ident/revocation.state.
 *
 * A revocation once in force must stay in force across a reload, a restart
 * and a crash restart, until a newer valid CRL of the same issuer lifts it.
 * Shared memory does not survive a restart, and a CRL may not be verifiable
 * right after one (its intermediate CA was learnt from a client chain), so
 * the set in force and the learnt CA certificates are written here whenever
 * they change (by the enforcer, and by the postmaster at start), and read
 * back by the postmaster when it creates shared memory, before the first
 * login.
 *
 * Format (native byte order: the file never leaves the machine):
 *	  char magic[8] "MIREVST1", u32 payload length, u32 CRC-32C of payload,
 *	  payload = u32 len + revoked_set part, u32 len + ca_store part.
 * Written to a temporary file, fsync'ed, then durable_rename'd over the old
 * one, so a crash leaves the old or the new file, never half of one.
 *
 * A damaged file (bad magic, length or checksum, or a part that does not
 * import) is reported with a WARNING and renamed to revocation.state.damaged
 * for inspection; nothing of it is used.  The CRL files are then all there
 * is: when they load, their set is in force; when they do not, no set is
 * in force and every certificate login is refused (revoked_set.c) until
 * they do.  So a damaged file never admits a certificate that the CRL
 * files revoke.
 *
 * Locking: none of its own; the export and import functions of
 * revoked_set.c and ca_store.c take their modules' locks.  Only one process
 * writes at a time: the postmaster before the worker starts, then the
 * enforcer worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"

#include "ca_store.h"
#include "revocation_state.h"
#include "revoked_set.h"

#define MI_STATE_MAGIC	"MIREVST1"
#define MI_STATE_TMP	MI_STATE_FILE ".tmp"
#define MI_STATE_DAMAGED_FILE MI_STATE_FILE ".damaged"
#define MI_STATE_MAX	(64 * 1024 * 1024)

static void
append_part(StringInfo buf, StringInfo part)
{
	uint32		len = (uint32) part->len;

	appendBinaryStringInfo(buf, (const char *) &len, sizeof(len));
	appendBinaryStringInfo(buf, part->data, part->len);
}

bool
mi_revocation_state_write(void)
{
	StringInfoData payload;
	StringInfoData part;
	pg_crc32c	crc;
	uint32		hdr[2];
	int			fd;
	bool		ok = false;

	initStringInfo(&payload);
	initStringInfo(&part);
	mi_revoked_export(&part);
	append_part(&payload, &part);
	resetStringInfo(&part);
	mi_ca_store_export(&part);
	append_part(&payload, &part);
	pfree(part.data);

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, payload.data, payload.len);
	FIN_CRC32C(crc);
	hdr[0] = (uint32) payload.len;
	hdr[1] = crc;

	if (MakePGDirectory(MI_STATE_DIR) < 0 && errno != EEXIST)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("mtls_ident: could not create directory \"%s\": %m",
						MI_STATE_DIR)));
		pfree(payload.data);
		return false;
	}
	fd = open(MI_STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
			  pg_file_create_mode);
	if (fd >= 0)
	{
		errno = 0;
		ok = write(fd, MI_STATE_MAGIC, 8) == 8 &&
			write(fd, hdr, sizeof(hdr)) == sizeof(hdr) &&
			write(fd, payload.data, payload.len) == payload.len &&
			pg_fsync(fd) == 0;
		if (errno == 0 && !ok)
			errno = ENOSPC;
		if (close(fd) != 0)
			ok = false;
	}
	if (!ok)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("mtls_ident: could not write \"%s\": %m", MI_STATE_TMP),
				 errdetail("The revocation set in force is kept in shared memory; the previous state file stays.")));
	else
		ok = durable_rename(MI_STATE_TMP, MI_STATE_FILE, WARNING) == 0;
	pfree(payload.data);
	return ok;
}

static MiStateRead
damaged(const char *why)
{
	ereport(WARNING,
			(errmsg("mtls_ident: the revocation state file \"%s\" is damaged: %s",
					MI_STATE_FILE, why),
			 errdetail("It is kept as \"%s\" and the CRL files are loaded without it; while no revocation set is in force, every certificate login is refused as revoked.",
					   MI_STATE_DAMAGED_FILE),
			 errhint("Check that every CRL file loads; the state file is written again once they do.")));
	(void) durable_rename(MI_STATE_FILE, MI_STATE_DAMAGED_FILE, WARNING);
	return MI_STATE_DAMAGED;
}

MiStateRead
mi_revocation_state_read(void)
{
	struct stat st;
	char	   *data;
	int			fd;
	uint32		hdr[2];
	uint32		len;
	size_t		pos;
	pg_crc32c	crc;
	ssize_t		n;

	if (stat(MI_STATE_FILE, &st) != 0)
	{
		if (errno == ENOENT)
			return MI_STATE_ABSENT;
		return damaged(strerror(errno));
	}
	if (st.st_size < 16 || st.st_size > MI_STATE_MAX)
		return damaged("bad size");
	fd = open(MI_STATE_FILE, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
		return damaged(strerror(errno));
	data = palloc(st.st_size);
	n = read(fd, data, st.st_size);
	close(fd);
	if (n != st.st_size)
	{
		pfree(data);
		return damaged("short read");
	}
	if (memcmp(data, MI_STATE_MAGIC, 8) != 0)
	{
		pfree(data);
		return damaged("bad magic");
	}
	memcpy(hdr, data + 8, sizeof(hdr));
	if ((size_t) hdr[0] != (size_t) st.st_size - 16)
	{
		pfree(data);
		return damaged("bad length");
	}
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data + 16, hdr[0]);
	FIN_CRC32C(crc);
	if (crc != hdr[1])
	{
		pfree(data);
		return damaged("checksum mismatch");
	}

	/* the revoked set's part, then the CA store's part */
	pos = 16;
	memcpy(&len, data + pos, sizeof(len));
	pos += sizeof(len);
	if (len > st.st_size - pos || !mi_revoked_import(data + pos, len))
	{
		pfree(data);
		return damaged("the revoked set does not read back");
	}
	pos += len;
	if (st.st_size - pos < sizeof(len))
	{
		pfree(data);
		return damaged("truncated");
	}
	memcpy(&len, data + pos, sizeof(len));
	pos += sizeof(len);
	if (len != st.st_size - pos || !mi_ca_store_import(data + pos, len))
	{
		pfree(data);
		return damaged("the CA certificates do not read back");
	}
	pfree(data);
	return MI_STATE_LOADED;
}
