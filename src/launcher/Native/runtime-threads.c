/*
 * The .NET runtime's own threads, by kernel thread id, for the in-process exec (Execution/RuntimeThreads.cs).
 * build/NativeStartup.targets links with -Wl,--wrap=pthread_create, so every thread the runtime starts (the
 * finalizer thread at start-up, any other later) starts in trampoline(), which records its tid while it runs.
 *
 * Why: execve in a process with more threads first kills the others and waits for them to exit (fs/exec.c,
 * de_thread). The finalizer thread sleeps on whichever CPU it last ran on; waking it there to die costs an
 * inter-processor interrupt and a wake-up on the other CPU, and this exec waits for both. A chroot-only launch
 * therefore moves those threads onto the CPU it is running on, holds itself there while it sets up the root, and
 * restores its own mask in the exec step, so PROGRAM starts with the caller's affinity (docs/cli-decisions.md,
 * "Start-up").
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* More than the runtime starts in a launch (one or two); a thread past the table is simply not moved. */
#define MAX_THREADS 16

static pid_t s_tids[MAX_THREADS];
static int s_started;

struct start
{
    void *(*fn)(void *);
    void *arg;
};

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int confine_exec_runtime_threads(pid_t *tids, int max);

static void *trampoline(void *p)
{
    struct start start = *(struct start *)p;
    free(p);
    int slot = __atomic_fetch_add(&s_started, 1, __ATOMIC_RELAXED);
    if (slot < MAX_THREADS)
        __atomic_store_n(&s_tids[slot], gettid(), __ATOMIC_RELEASE);
    void *result = start.fn(start.arg);
    /* A thread that returns no longer counts (one that calls pthread_exit keeps its slot: the caller checks that
       a tid still belongs to this process before using it). */
    if (slot < MAX_THREADS)
        __atomic_store_n(&s_tids[slot], 0, __ATOMIC_RELEASE);
    return result;
}

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct start *start = malloc(sizeof *start);
    if (start == NULL)
        return __real_pthread_create(thread, attr, fn, arg);
    start->fn = fn;
    start->arg = arg;
    int err = __real_pthread_create(thread, attr, trampoline, start);
    if (err != 0)
        free(start);
    return err;
}

/* Copies up to max recorded tids of threads that have not returned; returns how many. */
int confine_exec_runtime_threads(pid_t *tids, int max)
{
    int n = __atomic_load_n(&s_started, __ATOMIC_ACQUIRE), count = 0;
    for (int i = 0; i < n && i < MAX_THREADS && count < max; i++)
    {
        pid_t tid = __atomic_load_n(&s_tids[i], __ATOMIC_ACQUIRE);
        if (tid > 0)
            tids[count++] = tid;
    }
    return count;
}
