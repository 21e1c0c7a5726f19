/*-------------------------------------------------------------------------
 *
 * auth_hook.h
 *		The login hook, and what it remembers about this session.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_AUTH_HOOK_H
#define MI_AUTH_HOOK_H

#include "postgres.h"

#include "cert.h"
#include "decision.h"

/* "ssl_peer_verified(port)": the verified peer certificate, read into an MiCert */
struct Port;
extern bool mi_read_peer_certificate(struct Port *port, MiCert *out,
									 char *err, size_t errlen);

/* _PG_init: install the ClientAuthentication_hook */
extern void mi_auth_hook_install(void);

#endif							/* MI_AUTH_HOOK_H */
