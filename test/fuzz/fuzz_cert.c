/*-------------------------------------------------------------------------
 *
 * fuzz_cert.c
 *		libFuzzer target: certificate reading (cert.c) on arbitrary bytes,
 *		as DER and as PEM, then everything that reads the result: the
 *		typed SAN form, the well-formedness check, the bounded
 *		serialization and its reader.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "cert.h"
#include "cert_serial.h"
#include "pattern.h"

static void
exercise(const MiCert *c)
{
	static char buf[4096];
	size_t		len;
	MiCert		back;

	for (int i = 0; i < c->nsans; i++)
	{
		char	   *t = mi_san_typed(&c->sans[i]);

		/* the typed form is printable ASCII, never longer than 4x + prefix */
		for (char *p = t; *p; p++)
			if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
				abort();
		mi_free(t);
		(void) mi_san_wellformed(&c->sans[i]);
	}
	len = mi_cert_serialize(c, c->nsans > 0 ? c->nsans - 1 : -1, buf, sizeof(buf));
	if (len > sizeof(buf))
		abort();
	if (len > 0)
	{
		if (!mi_cert_deserialize(buf, len, &back))
			abort();			/* what we write we must read */
		if (back.not_after != c->not_after || back.nsans > c->nsans)
			abort();
		mi_cert_free(&back);
	}
}

int			LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	MiCert		c;
	char		err[256];

	if (mi_cert_from_der(data, size, &c, err, sizeof(err)))
	{
		exercise(&c);
		mi_cert_free(&c);
	}
	if (mi_cert_from_pem((const char *) data, size, &c, err, sizeof(err)))
	{
		exercise(&c);
		mi_cert_free(&c);
	}
	return 0;
}
