/*-------------------------------------------------------------------------
 *
 * compat.h
 *		The few places where PostgreSQL 15..19 differ for mtls_ident.
 *
 * 16 has no Debian package to test with; its differences are a subset of
 * 17's (IS_AF_UNIX gone, ADMIN OPTION rules) and are guarded here too.
 * ExecutorStart_hook returns void in every supported major: the bool
 * signature existed only in 18's development versions (reverted before
 * 18.0), and 19 keeps void.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_COMPAT_H
#define MI_COMPAT_H

#include "postgres.h"

#include <sys/socket.h>

/* IS_AF_UNIX went away in PostgreSQL 16 */
#define MI_IS_UNIX_SOCKET(ss_family) ((ss_family) == AF_UNIX)

/* our slot index: MyBackendId (1-based) before 17, MyProcNumber (0-based) since */
#if PG_VERSION_NUM >= 170000
#include "storage/proc.h"
#define MI_MY_SLOT_INDEX() (MyProcNumber)
#else
#include "storage/backendid.h"
#define MI_MY_SLOT_INDEX() (MyBackendId - 1)
#endif

/* check_object_ownership() for roles: CREATEROLE (PG15), ADMIN OPTION (16+) */

/*
 * The PGPROC of the backend whose slot index (as MI_MY_SLOT_INDEX numbers
 * them) is i, or NULL: ProcNumberGetProc from 17, BackendIdGetProc before.
 */
#if PG_VERSION_NUM >= 170000
#include "storage/procarray.h"
#define MI_SLOT_PROC(i) ProcNumberGetProc(i)
#else
#include "storage/sinvaladt.h"
#define MI_SLOT_PROC(i) BackendIdGetProc((i) + 1)
#endif

/*
 * A pending interrupt inside the regex engine: PostgreSQL 15's returns
 * REG_CANCEL (the caller then runs CHECK_FOR_INTERRUPTS); since 16 the
 * engine runs CHECK_FOR_INTERRUPTS itself and REG_CANCEL is gone.  Include
 * regex/regex.h before this header.
 */
#ifdef REG_CANCEL
#define MI_REG_CANCELLED(rc) ((rc) == REG_CANCEL)
#else
#define MI_REG_CANCELLED(rc) false
#endif

#endif							/* MI_COMPAT_H */
