/*-------------------------------------------------------------------------
 *
 * expiry.h
 *		A backend's own watch over its certificate: the timeout at
 *		notAfter, the statement-start check, and the FATAL that says why
 *		the enforcer ended the session.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_EXPIRY_H
#define MI_EXPIRY_H

#include "postgres.h"

#include "cert.h"

/* _PG_init: install the statement-start expiry check and the log hook */
extern void mi_expiry_install(void);

/* at login, for an admitted certificate session: arm the notAfter timeout */
extern void mi_expiry_arm(const MiCert *cert);

#endif							/* MI_EXPIRY_H */
