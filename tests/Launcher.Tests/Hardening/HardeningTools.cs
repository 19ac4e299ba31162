using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>What the hardening tests share: the one-line error check, a static C probe compiled at test time, and
/// a run under strace.</summary>
internal static class HardeningTools
{
    public static TheoryData<bool> Users => new() { false, true };

    /// <summary>Bad input must end as exactly one stderr line "confine-exec: ..." and the documented exit code.</summary>
    public static string AssertOneLineError(RunResult r, int exitCode)
    {
        Assert.True(r.ExitCode == exitCode, $"expected exit {exitCode}\n{r}");
        Assert.True(r.Stderr.EndsWith('\n') && r.Stderr.IndexOf('\n') == r.Stderr.Length - 1, "stderr is not one line:\n" + r);
        Assert.StartsWith("confine-exec: ", r.Stderr);
        return r.Stderr.TrimEnd('\n');
    }

    /// <summary>Runs <paramref name="argv"/> under <c>strace -f -qq -e trace=<paramref name="calls"/></c>, the log in
    /// <paramref name="directory"/>: the run and the log's lines. strace missing fails the test (test.sh installs it).</summary>
    public static (RunResult Result, string[] Trace) Strace(string directory, string calls, IReadOnlyList<string> argv)
    {
        string log = Path.Combine(directory, "strace-" + Guid.NewGuid().ToString("N") + ".log");
        RunResult r;
        try { r = ProcessRunner.Run(["strace", "-f", "-qq", "-e", "trace=" + calls, "-o", log, .. argv]); }
        catch (System.ComponentModel.Win32Exception) { Assert.Fail("strace is not installed (test.sh installs it)"); throw; }
        return (r, File.Exists(log) ? File.ReadAllLines(log) : []);
    }

    public static void AssertOk(RunResult r, string? stdout = null)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        if (stdout is not null)
            Assert.Equal(stdout, r.Stdout);
    }

    /// <summary>Output lines of a probe run as name → value.</summary>
    public static Dictionary<string, string> Lines(RunResult r) =>
        r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);

    /// <summary>Compiles <paramref name="source"/> with gcc -static into <paramref name="directory"/>, with
    /// <paramref name="extra"/> gcc arguments after it (more sources, linker options); skips the test when gcc or the
    /// static libc is missing.</summary>
    public static string CompileStatic(string directory, string name, string source, params string[] extra)
    {
        string c = Path.Combine(directory, name + ".c");
        string exe = Path.Combine(directory, name);
        File.WriteAllText(c, source);
        RunResult gcc;
        try { gcc = ProcessRunner.Run(["gcc", "-static", "-O", "-o", exe, c, .. extra]); }
        catch (System.ComponentModel.Win32Exception) { Assert.Skip("gcc is not installed"); throw; }
        if (gcc.ExitCode != 0)
            Assert.Skip("gcc -static failed (static glibc missing?):\n" + gcc.Stderr);
        File.SetUnixFileMode(exe, (UnixFileMode)0x1ed);
        return exe;
    }

    /// <summary>Tries what a confined root must not be able to do; one line per attempt: "name ERRNO" or "name OK".
    /// argv[1] is a bound read-only file to open for writing.</summary>
    public const string EscapeProbe = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <sched.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <sys/mount.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        static void report(const char *what, long r) { printf("%s %s\n", what, r < 0 ? strerrorname_np(errno) : "OK"); }
        int main(int argc, char **argv) {
          report("mount", mount("none", "/tmp", "tmpfs", 0, 0));
          report("umount", umount2("/proc", MNT_DETACH));
          report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
          report("init_module", syscall(SYS_init_module, "", 0, ""));
          report("finit_module", syscall(SYS_finit_module, 0, "", 0));
          report("write_bound", argc > 1 ? open(argv[1], O_WRONLY) : -1);
          report("write_proc_sys", open("/proc/sys/kernel/hostname", O_WRONLY));
          { char b[64]; int fd = open("/proc/kallsyms", O_RDONLY); long n = fd < 0 ? -1 : read(fd, b, sizeof b); printf("kallsyms_bytes %ld\n", n); }
          { char b[64]; int fd = open("/proc/kcore", O_RDONLY); long n = fd < 0 ? -1 : read(fd, b, sizeof b); printf("kcore_bytes %ld\n", n); }
          char c = ' '; report("tiocsti", ioctl(0, TIOCSTI, &c));
          printf("sid %ld\n", (long)getsid(0));
          printf("pid %ld\n", (long)getpid());
          /* The classic chroot escape: chroot deeper, climb out with .., chroot to what was reached. */
          mkdir("/tmp/x", 0755);
          report("chroot", chroot("/tmp/x"));
          for (int i = 0; i < 64; i++) chdir("..");
          chroot(".");
          report("escaped_etc", access("/etc/hostname", F_OK));
          report("escaped_home", access("/home", F_OK));
          return 0;
        }
        """;
}
