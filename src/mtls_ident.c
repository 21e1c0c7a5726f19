/*-------------------------------------------------------------------------
 *
 * mtls_ident.c
 *		Module entry point: _PG_init calls each module's init.
 *
 * mtls_ident must be loaded with shared_preload_libraries: it installs
 * ClientAuthentication_hook, reserves shared memory and starts a background
 * worker, none of which can happen later.  _PG_init refuses politely
 * otherwise.  This file is the top of the module layering (README,
 * "Layout"; test/check_layers.pl): it uses the modules, none uses it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/seclabel.h"
#include "fmgr.h"
#include "miscadmin.h"

#include "auth_hook.h"
#include "bindings.h"
#include "enforcer.h"
#include "expiry.h"
#include "settings.h"
#include "shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mtls_ident must be loaded via shared_preload_libraries"),
				 errhint("Add mtls_ident to shared_preload_libraries in postgresql.conf and restart the server.")));

	mi_define_settings();

	register_label_provider(MI_PROVIDER, mi_label_check_hook);

	mi_shmem_install();
	mi_auth_hook_install();
	mi_expiry_install();
	mi_enforcer_register();
}
