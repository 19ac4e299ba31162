using ConfineExec.Launcher.Tests.Fixtures;

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

    [Theory]
    [MemberData(nameof(Starts))]
    public void Start_RuntimeProbes_ReadNoCgroupOrNumaFile(bool asNobody, string[] args)
    {
        string log = Path.Combine(Dir.Path, "strace.log");
        string[] launcher = asNobody ? ProcessRunner.AsNobody([fixture.Binary]) : [fixture.Binary];
        RunResult r;
        try
        {
            r = ProcessRunner.Run(["strace", "-f", "-qq", "-e", "trace=openat,open,statfs,readlink,get_mempolicy", "-o", log,
                .. launcher, .. args]);
        }
        catch (System.ComponentModel.Win32Exception) { Assert.Fail("strace is not installed (test.sh installs it)"); throw; }
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] calls = File.ReadAllLines(log);
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
        string source = Path.Combine(Dir.Path, "check.c"), checker = Path.Combine(Dir.Path, "check");
        File.WriteAllText(source, StackChecker);
        string wrapper = Path.Combine(ConfineExecFixture.FindRepository(), "src", "launcher", "Native", "main-thread-stack.c");
        RunResult cc = ProcessRunner.Run(["gcc", "-O2", "-static", "-Wl,--wrap=pthread_getattr_np", "-o", checker, source, wrapper]);
        Assert.True(cc.ExitCode == 0, cc.ToString());
        RunResult r = ProcessRunner.Run(["sh", "-c", $"ulimit -s {limitKiB} && exec \"$0\" \"$@\"", checker,
            .. Enumerable.Range(1, arguments - 1).Select(i => "argument" + i)]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.DoesNotContain("error", lines[0], StringComparison.Ordinal);
        Assert.Equal(lines[0], lines[1]);
    }
}
