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

/* does the certificate's chain contain the pinned CA? */
extern bool mi_issuer_match(const char *issuer_pin, const MiCert *cert);

#endif							/* MI_ISSUER_PIN_H */
