/*-------------------------------------------------------------------------
 *
 * sql_cert.h
 *		Helpers shared by the SQL functions that return certificate data.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_SQL_CERT_H
#define MI_SQL_CERT_H

#include "postgres.h"

#include "cert.h"

/* text[] from C strings */
extern Datum mi_text_array(char **items, int n);

/* text[] of the typed SANs of a certificate */
extern Datum mi_cert_sans_array(const MiCert *cert);

#endif							/* MI_SQL_CERT_H */
