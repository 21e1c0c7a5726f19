/*
 * asan_initfirst.c -- start the ASan runtime before any other ELF constructor.
 *
 * test/sanitize.sh builds this into a shared object linked with
 * -Wl,-z,initfirst and the ASan runtime, and preloads it right after that
 * runtime:
 *
 *     LD_PRELOAD="$(gcc -print-file-name=libasan.so) .../asan_initfirst.so"
 *
 * Why: when the runtime is preloaded into a program that is not itself built
 * with ASan (Debian's postgres), nothing puts __asan_init in the program's
 * .preinit_array, and glibc runs libasan's own constructor in dependency
 * order -- for postgres, after libgpg-error's (postgres -> libsystemd ->
 * libgcrypt -> libgpg-error).  That constructor calls bindtextdomain(), which
 * holds glibc's gettext lock (_nl_state_lock) for writing while it calls
 * malloc(); ASan's malloc interceptor then initializes the runtime on the
 * spot, and the runtime's dlsym("swift_demangle") fails and is followed by
 * dlerror(), which translates its message with dcgettext() -- taking the same
 * lock again.  The nested pthread_rwlock_rdlock() fails with EDEADLK (ignored
 * by glibc), the matching unlock releases the writer's lock, the writer's own
 * unlock then makes the reader count negative, and the next bindtextdomain()
 * (postgres's set_pglocale_pgservice()) waits forever: `postgres -V` hangs.
 *
 * DF_1_INITFIRST makes ld.so call this constructor before every other one
 * (glibc honours it for one object, and none of postgres's libraries sets
 * it), so the runtime is initialized while no lock is held, as it would be
 * from an instrumented program's .preinit_array.  A second call of
 * __asan_init() -- from libasan's own constructor -- does nothing.
 */
extern void __asan_init(void);

__attribute__((constructor)) static void
asan_initfirst(void)
{
	__asan_init();
}
