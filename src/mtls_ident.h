/*-------------------------------------------------------------------------
 *
 * mtls_ident.h
 *		Settings and module-wide declarations of mtls_ident.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTLS_IDENT_H
#define MTLS_IDENT_H

#include "postgres.h"

/* label provider name, and the name used in messages */
#define MI_PROVIDER "mtls_ident"

typedef enum MiMode
{
	MI_MODE_OFF,
	MI_MODE_AUDIT,
	MI_MODE_ENFORCE
} MiMode;

/* GUCs (mtls_ident.c) */
extern int	mi_mode;
extern int	mi_enforce_interval_ms;
extern bool mi_exempt_local;
extern bool mi_require_client_auth_eku;
extern int	mi_expiry_warning_s;
extern int	mi_max_certificate_lifetime_s;
extern int	mi_auth_log_size;
extern char *mi_database;
extern int	mi_label_cache_size_kb;

/* auth_hook.c */
extern void mi_auth_hook_install(void);

#endif							/* MTLS_IDENT_H */
