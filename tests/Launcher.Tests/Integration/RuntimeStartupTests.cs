using ConfineExec.Launcher.Tests.Fixtures;
using static ConfineExec.Launcher.Tests.Hardening.HardeningTools;

namespace ConfineExec.Launcher.Tests.Integration;

/// <summary>
/// What the published image does before Main. build/NativeStartup.targets links src/launcher/Native/*.c ahead of
/// the .NET runtime's archive, replacing its cgroup and NUMA probes, answering the main thread's
/// pthread_getattr_np without /proc/self/maps and leaving $ORIGIN unresolved (docs/cli-decisions.md, "Start-up"):
/// a start reads none of the files those read (strace -f, as root and as uid 65534), and the main thread's stack
/// bounds are glibc's own.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class RuntimeStartupTests(ConfineExecFixture fixture) : HostCheckedTest
{
    public static TheoryData<bool, string[]> Starts => new()
    {
        { false, ["--version"] },
        { true, ["--version"] },
        { false, ["--bin-sh", "none", "--mode", "chroot-only", "--", "/usr/bin/true"] },
        { false, ["--bin-sh", "none", "--", "/usr/bin/true"] },
        { true, ["--bin-sh", "none", "--", "/usr/bin/true"] },
    };

    /// <summary>The paths and calls of the runtime's cgroup probes (cgroup.cpp, cgroupcpu.cpp: the memory and CPU
    /// controllers found through the mount table), its NUMA probe (numasupport.cpp), glibc's main-thread
    /// pthread_getattr_np and glibc's static start-up resolving $ORIGIN (_dl_get_origin).</summary>
    private static readonly string[] s_probes =
    [
        "/proc/self/mountinfo", "/proc/self/cgroup", "/sys/fs/cgroup", "memory.stat", "cpu.cfs_quota_us", "cpu.max",
        "/sys/devices/system/node", "get_mempolicy(", "/proc/self/maps", "/proc/self/exe",
    ];

    /// <summary>A file of src/launcher/Native, the C the image links (build/NativeStartup.targets).</summary>
    private static string NativeSource(string name) =>
        Path.Combine(ConfineExecFixture.FindRepository(), "src", "launcher", "Native", name);

    [Theory]
    [MemberData(nameof(Starts))]
    public void Start_RuntimeProbes_ReadNoneOfTheirFiles(bool asNobody, string[] args)
    {
        string[] launcher = asNobody ? ProcessRunner.AsNobody([fixture.Binary]) : [fixture.Binary];
        var (r, calls) = Strace(Dir.Path, "openat,open,statfs,readlink,get_mempolicy", [.. launcher, .. args]);
        Assert.True(r.ExitCode == 0, r.ToString());
        // The GC's own /proc/meminfo read is still there: the trace saw the runtime start.
        Assert.Contains(calls, l => l.Contains("\"/proc/meminfo\"", StringComparison.Ordinal));
        foreach (string probe in s_probes)
            Assert.False(calls.Any(l => l.Contains(probe, StringComparison.Ordinal)),
                $"'{probe}' in the trace:\n" + string.Join('\n', calls));
    }

    /// <summary>A static program linked like confine-exec (main-thread-stack.c, --wrap=pthread_getattr_np) that
    /// prints glibc's answer for the main thread and then the wrapper's: "addr size" twice.</summary>
    private const string StackChecker = """
        #define _GNU_SOURCE
        #include <pthread.h>
        #include <stdio.h>
        int __real_pthread_getattr_np(pthread_t, pthread_attr_t *);
        int __wrap_pthread_getattr_np(pthread_t, pthread_attr_t *);
        static void show(int (*get)(pthread_t, pthread_attr_t *)) {
            pthread_attr_t a; void *addr; size_t size;
            if (get(pthread_self(), &a) != 0 || pthread_attr_getstack(&a, &addr, &size) != 0) { puts("error"); return; }
            printf("%p %zu\n", addr, size);
            pthread_attr_destroy(&a);
        }
        int main(void) { show(__real_pthread_getattr_np); show(__wrap_pthread_getattr_np); return 0; }
        """;

    /// <summary>The wrapper's main-thread stack equals glibc's under small, default, large and unlimited stack
    /// limits (the last two at and past its 1 GiB bound, where it hands over to glibc), and with a long argument
    /// list above the stack's top.</summary>
    [Theory]
    [InlineData("1024", 1)]
    [InlineData("8192", 1)]
    [InlineData("8192", 30000)]
    [InlineData("65536", 1)]
    [InlineData("1048576", 1)]
    [InlineData("2097152", 1)]
    [InlineData("unlimited", 1)]
    public void MainThreadStack_UnderStackLimit_IsGlibcsAnswer(string limitKiB, int arguments)
    {
        string checker = CompileStatic(Dir.Path, "check", StackChecker, NativeSource("main-thread-stack.c"), "-Wl,--wrap=pthread_getattr_np");
        RunResult r = ProcessRunner.Run(["sh", "-c", $"ulimit -s {limitKiB} && exec \"$0\" \"$@\"", checker,
            .. Enumerable.Range(1, arguments - 1).Select(i => "argument" + i)]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.DoesNotContain("error", lines[0], StringComparison.Ordinal);
        Assert.Equal(lines[0], lines[1]);
    }

    /// <summary>A static program that prints its CPU mask as a list ("0 1 "), bound into the root with --package.</summary>
    private const string MaskPrinter = """
        #define _GNU_SOURCE
        #include <sched.h>
        #include <stdio.h>
        int main(void) {
            cpu_set_t s;
            if (sched_getaffinity(0, sizeof s, &s) != 0) return 1;
            for (int i = 0; i < CPU_SETSIZE; i++) if (CPU_ISSET(i, &s)) printf("%d ", i);
            printf("\n");
            return 0;
        }
        """;

    public static TheoryData<bool, string, string> Masks => new()
    {
        // taskset's list ("" for the caller's own mask); the in-process path (root, chroot-only) holds its thread on
        // one CPU during setup (Execution/RuntimeThreads.cs), the forked ones do not.
        { false, "chroot-only", "" },
        { false, "chroot-only", "0" },
        { false, "chroot-only", "last" },
        { false, "full-apivfs", "" },
        { true, "full-apivfs", "" },
        { true, "chroot-only", "last" },
    };

    /// <summary>PROGRAM starts with its caller's CPU mask, whatever the launcher did with its own threads.</summary>
    [Theory]
    [MemberData(nameof(Masks))]
    public void Exec_ProgramCpuMask_IsTheCallers(bool asNobody, string mode, string cpus)
    {
        string printer = CompileStatic(Dir.Path, "mask", MaskPrinter);
        string[] prefix = [];
        if (cpus.Length > 0)
            prefix = ["taskset", "-c", cpus == "last" ? (Environment.ProcessorCount - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : cpus];
        RunResult caller = ProcessRunner.Run([.. prefix, printer]);
        Assert.True(caller.ExitCode == 0, caller.ToString());
        string[] launcher = asNobody ? ProcessRunner.AsNobody([fixture.Binary]) : [fixture.Binary];
        RunResult r = ProcessRunner.Run([.. prefix, .. launcher, "--bin-sh", "none", "--mode", mode, "--package", printer, "--", printer]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(caller.Stdout, r.Stdout);
    }

    /// <summary>The in-process exec (root, chroot-only) moves the runtime's thread onto its own CPU, holds itself
    /// there, and sets the caller's mask again just before execve; a forked launch does none of it. The finalizer
    /// thread records its tid when it first runs, so a launch on a loaded machine may find it not yet recorded
    /// and move nothing: of three launches, one must show the move, and every one the restore.</summary>
    [Theory]
    [InlineData("chroot-only", true)]
    [InlineData("full-apivfs", false)]
    public void InProcessExec_RuntimeThreads_GatheredOnOneCpuThenMaskRestored(string mode, bool inProcess)
    {
        bool moved = false;
        var traces = new List<string>();
        for (int attempt = 0; attempt < 3 && !moved; attempt++)
        {
            var (r, log) = Strace(Dir.Path, "sched_setaffinity,execve", [fixture.Binary, "--bin-sh", "none", "--mode", mode, "--", "/usr/bin/true"]);
            Assert.True(r.ExitCode == 0, r.ToString());
            string[] calls = [.. log.Where(l => l.Contains("sched_setaffinity(", StringComparison.Ordinal)
                || l.Contains("execve(\"/usr/bin/true\"", StringComparison.Ordinal))];
            string trace = string.Join('\n', calls);
            traces.Add(trace);
            if (!inProcess)
            {
                Assert.DoesNotContain("sched_setaffinity", trace, StringComparison.Ordinal);
                return;
            }
            // Self onto one CPU, then (if recorded) another thread onto the same, then self back to the caller's
            // mask, then the exec.
            Assert.True(calls.Length >= 3, trace);
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(calls[0], @"sched_setaffinity\(0, \d+, \[\d+\]\)\s+= 0"), trace);
            string one = calls[0][calls[0].IndexOf('[')..(calls[0].IndexOf(']') + 1)];
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(calls[^2], @"sched_setaffinity\(0, \d+, \["), trace);
            Assert.Contains("execve(\"/usr/bin/true\"", calls[^1], StringComparison.Ordinal);
            string callerMask = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            if (callerMask.Contains('-') || callerMask.Contains(','))
                Assert.NotEqual(one, calls[^2][calls[^2].IndexOf('[')..(calls[^2].IndexOf(']') + 1)]);
            moved = calls[1..^2].Any(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"sched_setaffinity\([1-9]\d*, \d+, ")
                && l.Contains(one, StringComparison.Ordinal));
        }
        Assert.True(moved, "no launch moved the runtime's thread:\n" + string.Join("\n--\n", traces));
    }

    /// <summary>signal-forwarder.c driven directly: a signal raised before the child's pid is known is sent once
    /// the pid is given, one raised after goes straight through, an ignored signal stays ignored, and stopping
    /// gives each signal its default action back. The child reports, in order, the signals it got.</summary>
    private const string ForwarderHarness = """
        #define _GNU_SOURCE
        #include <signal.h>
        #include <stdio.h>
        #include <unistd.h>
        #include <sys/wait.h>
        int *confine_exec_forward_pid_slot(void);
        int confine_exec_forward_signals(const int *signals, int count);
        void confine_exec_forward_to(int pid);
        void confine_exec_forward_stop(void);
        static int report;
        static volatile sig_atomic_t got;
        static void on(int sig) { char c = (char)sig; write(report, &c, 1); got++; }
        static const char *disposition(int sig) {
            struct sigaction a; sigaction(sig, NULL, &a);
            return a.sa_handler == SIG_IGN ? "ignored" : a.sa_handler == SIG_DFL ? "default" : "forwarded";
        }
        int main(void) {
            signal(SIGHUP, SIG_IGN);
            int signals[] = { SIGUSR1, SIGUSR2, SIGHUP };
            if (confine_exec_forward_signals(signals, 3) != 0) return 10;
            printf("installed usr1=%s hup=%s slot=%d\n", disposition(SIGUSR1), disposition(SIGHUP), *confine_exec_forward_pid_slot());
            int ready[2], got_pipe[2];
            if (pipe(ready) || pipe(got_pipe)) return 11;
            raise(SIGUSR1); /* no child yet: kept */
            pid_t child = fork();
            if (child == 0) {
                report = got_pipe[1];
                signal(SIGUSR1, on); signal(SIGUSR2, on);
                alarm(5); /* a lost signal ends the child instead of hanging the test */
                write(ready[1], "r", 1);
                while (got < 2) pause();
                _exit(0);
            }
            char c;
            if (read(ready[0], &c, 1) != 1) return 12;
            confine_exec_forward_to(child); /* sends the kept SIGUSR1 */
            usleep(20000);
            raise(SIGUSR2); /* straight through */
            int status;
            waitpid(child, &status, 0);
            confine_exec_forward_stop();
            close(got_pipe[1]);
            unsigned char order[8]; ssize_t n = read(got_pipe[0], order, sizeof order);
            printf("child got");
            for (ssize_t i = 0; i < n; i++) printf(" %d", order[i]);
            printf("\nstopped usr1=%s hup=%s slot=%d\n", disposition(SIGUSR1), disposition(SIGHUP), *confine_exec_forward_pid_slot());
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 13;
        }
        """;

    [Fact]
    public void SignalForwarder_PendingThenDirect_EachSentOnceIgnoredKeptDefaultsRestored()
    {
        string harness = CompileStatic(Dir.Path, "forward", ForwarderHarness, NativeSource("signal-forwarder.c"));
        RunResult r = ProcessRunner.Run([harness]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("installed usr1=forwarded hup=ignored slot=0\nchild got 10 12\nstopped usr1=default hup=ignored slot=-1\n", r.Stdout);
    }
}
