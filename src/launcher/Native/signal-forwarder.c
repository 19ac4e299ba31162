/*
 * The supervisor's signal forwarding as a plain C handler, the way bubblewrap and tini forward: a signal sent to
 * confine-exec is sent on to PROGRAM with kill(2) from whichever thread the kernel delivers it on.
 * Execution/SignalForwarder.cs installs it in the published image (a JIT host, which has no such object, keeps
 * the runtime's PosixSignalRegistration).
 *
 * Why: PosixSignalRegistration starts the runtime's signal machinery on first use, a pipe and a thread that
 * reads it and runs managed code: 0.34 ms of every default launch here (docs/cli-decisions.md, "Start-up"). A C
 * handler needs neither, and runs no managed code, so it may run on any thread, the finalizer thread included,
 * and while the launching thread sleeps in the memory-sharing clone.
 *
 * The child's pid is read from s_pid, which the kernel fills during the memory-sharing clone
 * (CLONE_PARENT_SETTID), so a signal reaches the child during its setup; a forked child's pid is stored once
 * known. A signal that arrives before any pid is known is kept as a pending bit and sent then: the handler sets
 * the bit before it reads the pid and clears it before it sends, and confine_exec_forward_to() stores the pid
 * before it takes the bits, so every such signal is sent exactly once whichever runs first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define MAX_SIGNAL 64

/* 0: no child yet; > 0: forward to it; -1: reaped, forward nothing. */
static int s_pid;
static uint64_t s_pending;
static uint64_t s_installed;

int *confine_exec_forward_pid_slot(void);
int confine_exec_forward_signals(const int *signals, int count);
void confine_exec_forward_to(int pid);
void confine_exec_forward_stop(void);

static void forward(int sig)
{
    int saved = errno;
    uint64_t bit = (uint64_t)1 << (sig - 1);
    __atomic_fetch_or(&s_pending, bit, __ATOMIC_SEQ_CST);
    int pid = __atomic_load_n(&s_pid, __ATOMIC_SEQ_CST);
    if (pid > 0 && (__atomic_fetch_and(&s_pending, ~bit, __ATOMIC_SEQ_CST) & bit) != 0)
        kill(pid, sig);
    errno = saved;
}

/* Where the memory-sharing clone writes the child's pid (0 until then). */
int *confine_exec_forward_pid_slot(void) { return &s_pid; }

/* Installs the handler for each signal the caller did not ignore (an ignored one stays ignored here and in
   PROGRAM, as nohup asks). 0, or the errno of the sigaction that failed. */
int confine_exec_forward_signals(const int *signals, int count)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < count; i++)
        sigaddset(&action.sa_mask, signals[i]);
    __atomic_store_n(&s_pid, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s_pending, 0, __ATOMIC_SEQ_CST);
    for (int i = 0; i < count; i++)
    {
        int sig = signals[i];
        struct sigaction old;
        if (sig < 1 || sig > MAX_SIGNAL || sigaction(sig, NULL, &old) != 0)
            return EINVAL;
        if (old.sa_handler == SIG_IGN)
            continue;
        if (sigaction(sig, &action, NULL) != 0)
            return errno;
        s_installed |= (uint64_t)1 << (sig - 1);
    }
    return 0;
}

/* The child's pid once known; sends what arrived before. */
void confine_exec_forward_to(int pid)
{
    __atomic_store_n(&s_pid, pid, __ATOMIC_SEQ_CST);
    uint64_t pending = __atomic_exchange_n(&s_pending, 0, __ATOMIC_SEQ_CST);
    for (int sig = 1; sig <= MAX_SIGNAL; sig++)
        if ((pending & ((uint64_t)1 << (sig - 1))) != 0)
            kill(pid, sig);
}

/* The child is reaped (its pid may be reused): forward nothing more, and give each signal its default back. */
void confine_exec_forward_stop(void)
{
    __atomic_store_n(&s_pid, -1, __ATOMIC_SEQ_CST);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig <= MAX_SIGNAL; sig++)
        if ((s_installed & ((uint64_t)1 << (sig - 1))) != 0)
            sigaction(sig, &dfl, NULL);
    s_installed = 0;
}
