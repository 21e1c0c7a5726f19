/*-------------------------------------------------------------------------
 *
 * settings.h
 *		Settings and module-wide declarations of mtls_ident.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_SETTINGS_H
#define MI_SETTINGS_H

#include "postgres.h"

/* label provider name, and the name used in messages */
#define MI_PROVIDER "mtls_ident"

typedef enum MiMode
{
	MI_MODE_OFF,
	MI_MODE_AUDIT,
	MI_MODE_ENFORCE
} MiMode;

/* GUCs (settings.c) */
extern int	mi_mode;
extern int	mi_enforce_interval_ms;
extern bool mi_exempt_local;
extern bool mi_require_client_auth_eku;
extern int	mi_expiry_warning_s;
extern int	mi_max_certificate_lifetime_s;
extern int	mi_auth_log_size;
extern char *mi_database;
extern int	mi_label_cache_size_kb;

typedef enum MiOcspMode
{
	MI_OCSP_OFF,
	MI_OCSP_SOFT,
	MI_OCSP_HARD
} MiOcspMode;

extern int	mi_ocsp_mode;
extern char *mi_ocsp_responder;
extern int	mi_ocsp_timeout_ms;
extern bool mi_crl_fetch;
extern int	mi_crl_fetch_interval_s;

/* _PG_init: define every setting, then reserve the prefix */
extern void mi_define_settings(void);

#endif							/* MI_SETTINGS_H */
