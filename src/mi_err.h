/*-------------------------------------------------------------------------
 *
 * mi_err.h
 *		Error messages of the pure modules (pattern, label).
 *
 * The pure modules report errors by writing a message into a caller's
 * buffer.  Messages may quote user input and end up in the server log and
 * at the client, so they must stay valid UTF-8 when the input is: a
 * message cut by the buffer's size, or a quote cut to a maximum length,
 * never ends in half a multibyte character.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_ERR_H
#define MI_ERR_H

#include "mi_alloc.h"

#include <stdarg.h>
#include <stdio.h>

/* the longest prefix of s[0..len) of at most max bytes on a UTF-8 boundary */
static inline int
mi_utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t		n = len;

	if (n > max)
	{
		n = max;
		while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
			n--;
	}
	return (int) n;
}

/* drop a UTF-8 sequence left incomplete at the end of s by truncation */
static inline void
mi_trim_partial_utf8(char *s)
{
	size_t		n = strlen(s);
	size_t		i = n;
	size_t		need;
	unsigned char c;

	while (i > 0 && n - i < 3 && ((unsigned char) s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char) s[i - 1];
	if (c < 0xC0)
		return;
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* the backend's pg_attribute_printf; the stand-alone build's own */
#ifndef pg_attribute_printf
#define pg_attribute_printf(f, a) __attribute__((format(printf, f, a)))
#endif

/* printf into err (may be NULL); a truncated message stays valid UTF-8 */
static inline void mi_set_err(char *err, size_t errlen, const char *fmt,...) pg_attribute_printf(3, 4);

static inline void
mi_set_err(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= errlen)
		mi_trim_partial_utf8(err);
}

#endif							/* MI_ERR_H */
