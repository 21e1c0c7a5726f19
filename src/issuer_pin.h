/*-------------------------------------------------------------------------
 *
 * issuer_pin.h
 *		Issuer pins (issuer_pin.c).
 *
 * Pure logic: no backend dependencies.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_ISSUER_PIN_H
#define MI_ISSUER_PIN_H

#include "cert.h"

/*
 * Issuer pins: "sha256:<hex>" (colons optional, any case) or an RFC 2253
 * DN.  mi_issuer_normalize validates and returns the canonical stored form
 * (allocated), or NULL with a message in err.
 */
extern char *mi_issuer_normalize(const char *text, size_t len,
								 char *err, size_t errlen);

/*
 * The same pin?  Both NULL, equal text, or the same normalized form (a
 * sha256 pin in any case, with or without colons).  A DN pin compares as
 * written: see issuer_pin.c.
 */
extern bool mi_issuer_same(const char *a, const char *b);

/* does the certificate's chain contain the pinned CA? */
extern bool mi_issuer_match(const char *issuer_pin, const MiCert *cert);

#endif							/* MI_ISSUER_PIN_H */
