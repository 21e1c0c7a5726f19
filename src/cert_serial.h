/*-------------------------------------------------------------------------
 *
 * cert_serial.h
 *		A compact, bounded byte form of MiCert, for shared memory.
 *
 * Session slots and auth_log events have a fixed size.  The serializer
 * always produces something that fits: names are cut at a fifth of the
 * buffer, the issuer at two fifths (at most MI_SER_MAX_STRING bytes; a cut
 * DN or serial ends in "...", a cut CN is flagged hostile), then SANs and chain entries are written while
 * they fit, and the "truncated" flag (MiCert.sans_truncated once read
 * back) says whether anything was dropped or cut.  SANs keep certificate
 * order; one SAN (the one that matched a binding) can be given priority:
 * room is kept for it so that it survives truncation.  A SAN value cut at
 * MI_SER_MAX_STRING is flagged hostile, so it can never match.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_CERT_SERIAL_H
#define MI_CERT_SERIAL_H

#include "cert.h"

#define MI_SER_MAX_STRING 8192

/*
 * Write cert into buf (cap bytes; 0 is returned below MI_SER_MIN_CAP).  priority_san
 * is a SAN index that must survive truncation, or -1.  Returns the bytes used.
 */
#define MI_SER_MIN_CAP 1024
extern size_t mi_cert_serialize(const MiCert *cert, int priority_san,
								char *buf, size_t cap);

/* read it back; false if buf is not a valid serialization */
extern bool mi_cert_deserialize(const char *buf, size_t len, MiCert *out);

#endif							/* MI_CERT_SERIAL_H */
