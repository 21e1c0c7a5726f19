/*-------------------------------------------------------------------------
 *
 * tap.h
 *		A tiny TAP producer for the stand-alone unit tests.
 *
 * ok(cond, fmt, ...) prints "ok N - desc" or "not ok N - desc" (with the
 * source line of a failure as a TAP diagnostic); done_testing() prints the
 * plan "1..N" and returns the exit status from main.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MI_TAP_H
#define MI_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int	tap_count = 0;
static int	tap_failed = 0;

static void
tap_ok(int pass, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass)
	{
		tap_failed++;
		printf("#   failed at %s line %d\n", file, line);
	}
	fflush(stdout);
}

#define ok(cond, ...) tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define done_testing() \
	do { \
		printf("1..%d\n", tap_count); \
		return tap_failed ? 1 : 0; \
	} while (0)

#endif							/* MI_TAP_H */
