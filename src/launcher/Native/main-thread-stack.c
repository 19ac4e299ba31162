/*
 * pthread_getattr_np for the main thread without reading /proc/self/maps. build/NativeStartup.targets links with
 * -Wl,--wrap=pthread_getattr_np, so the .NET runtime's call (PalGetMaximumStackBounds, when the main thread
 * attaches before Main) lands here and every other thread goes to glibc's own (__real_pthread_getattr_np).
 *
 * Why: for the main thread glibc opens /proc/self/maps and scans it with sscanf for the mapping that holds
 * __libc_stack_end (nptl/pthread_getattr_np.c), then asks for the CPU affinity: ~50 KB of text formatted by the
 * kernel and 0.1 M instructions, about 80 us of every start here (docs/cli-decisions.md, "Start-up").
 *
 * The answer is glibc's, computed from what the kernel already gave the process:
 *  - the stack's top is the page after the one holding __libc_stack_end (glibc's stackaddr);
 *  - the stack mapping ends just above the executable's file name, which exec copies first to the very top
 *    (fs/exec.c: bprm->p starts at vm_end - sizeof(void *); AT_EXECFN is where the name landed);
 *  - the size is RLIMIT_STACK less what lies between the two, rounded down to a page, as glibc computes it.
 * glibc also caps the size at the gap to the mapping below; with a finite limit the kernel keeps mmap_base at
 * least that far below the stack (mm/util.c, mmap_base()), so the cap does not bind. Where any of this may not
 * hold — an unlimited or >1 GiB limit, no AT_EXECFN, a top that is not page-aligned — glibc answers instead.
 * The runtime reads only the stack bounds from the attributes (pthread_attr_getstack); the rest are defaults.
 * tests/Launcher.Tests/Integration/RuntimeStartupTests.cs compares this with glibc's under several limits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>

extern void *__libc_stack_end;
int __real_pthread_getattr_np(pthread_t thread, pthread_attr_t *attr);
int __wrap_pthread_getattr_np(pthread_t thread, pthread_attr_t *attr);

int __wrap_pthread_getattr_np(pthread_t thread, pthread_attr_t *attr)
{
    if (gettid() != getpid() || !pthread_equal(thread, pthread_self()))
        return __real_pthread_getattr_np(thread, attr);
    uintptr_t page = (uintptr_t)getpagesize();
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    struct rlimit limit;
    if (execfn == NULL || getrlimit(RLIMIT_STACK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY
        || limit.rlim_cur > ((rlim_t)1 << 30))
        return __real_pthread_getattr_np(thread, attr);
    uintptr_t mapping_end = (uintptr_t)execfn + strlen(execfn) + 1 + sizeof(void *);
    uintptr_t top = ((uintptr_t)__libc_stack_end & -page) + page;
    if ((mapping_end & (page - 1)) != 0 || mapping_end < top || mapping_end - top >= limit.rlim_cur)
        return __real_pthread_getattr_np(thread, attr);
    size_t size = (limit.rlim_cur - (mapping_end - top)) & -page;
    int err = pthread_attr_init(attr);
    if (err == 0)
        err = pthread_attr_setstack(attr, (void *)(top - size), size);
    return err;
}
