/*-------------------------------------------------------------------------
 *
 * bindings.h
 *		Bindings in the catalog: reading, writing and validating the
 *		mtls_ident security labels on roles.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_BINDINGS_H
#define MI_BINDINGS_H

#include "postgres.h"

#include "catalog/objectaddress.h"

#include "decision.h"
#include "label.h"
#include "pattern.h"

/* label provider check hook (SECURITY LABEL FOR mtls_ident ...) */
extern void mi_label_check_hook(const ObjectAddress *object, const char *seclabel);

/*
 * Read and parse a role's label.  Returns false (and an empty label) when
 * the role has none.  A label that does not parse raises an ERROR: it
 * cannot have been written through this extension.
 */
extern bool mi_read_role_label(Oid roleid, MiLabel *out);

/* write a role's label (deletes it when the label is empty) */
extern void mi_write_role_label(Oid roleid, const MiLabel *label);

/*
 * Every binding that applies to a login as roleid: all of the role's own
 * bindings, and the {role} bindings of every role it is a member of,
 * directly or indirectly.  Allocated in the current memory context.
 * With a certificate, the role's exact bindings that cannot match it are
 * counted (nskipped) rather than compiled (mi_san_index_may_match); pass
 * NULL to compile them all.  Returns NULL when a label stored out of line
 * cannot be read yet (before a database is selected, and not in the shared
 * label cache): the caller decides again once a database is selected.
 */
extern MiRuleSet *mi_collect_rules(Oid roleid, const char *rolename,
								   const MiCert *cert);

/*
 * The enforcer's sweep: between begin and end, each role's label is read
 * and parsed once and the same (cxt-allocated) copy handed out;
 * callers must not free or change it.  Labels changed during the sweep
 * are seen by the next one.
 */
extern void mi_sweep_labels_begin(MemoryContext cxt);
extern void mi_sweep_labels_end(void);


/* compile "kind:pattern", raising a clear ERROR when it is invalid */
extern MiPattern *mi_compile_identity(const char *identity);

/* validate and normalise an issuer pin, raising a clear ERROR */
extern char *mi_normalize_issuer(const char *issuer);

/* PostgreSQL's regex engine, as the pattern module's callback */
extern int	mi_pg_regex(const char *regex, const char *value, size_t vlen,
						void *arg, char *err, size_t errlen);

#endif							/* MI_BINDINGS_H */
