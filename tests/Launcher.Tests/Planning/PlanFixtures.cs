using ConfineExec.Elf;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Tests.PlanningTests;

/// <summary>Hand-made closures and host descriptions for plan tests (no root, no host access).</summary>
public static class PlanFixtures
{
    /// <summary>/usr/bin/git on a merged-/usr Debian: directory links, a library link, /bin/sh from dash.</summary>
    public static Closure GitClosure(bool usesOrigin = false) => new()
    {
        ProgramPath = "/usr/bin/git",
        MainUsesOrigin = usesOrigin,
        Entries =
        [
            new("/bin/sh", ClosureEntryKind.File, "/usr/bin/dash", "/bin/sh", null),
            new("/lib", ClosureEntryKind.Symlink, "usr/lib", "symlink hop", "/usr/lib64/ld-linux-x86-64.so.2"),
            new("/lib64", ClosureEntryKind.Symlink, "usr/lib64", "symlink hop", "/usr/bin/git"),
            new("/usr/bin/dash", ClosureEntryKind.File, null, "/bin/sh", null),
            new("/usr/bin/git", ClosureEntryKind.File, null, "program", null),
            new("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", ClosureEntryKind.File, null, "interpreter", "/usr/bin/git"),
            new("/usr/lib/x86_64-linux-gnu/libc.so.6", ClosureEntryKind.File, null, "needed via ld.so.cache", "/usr/bin/git"),
            new("/usr/lib/x86_64-linux-gnu/libz.so.1", ClosureEntryKind.Symlink, "libz.so.1.2.13", "needed via ld.so.cache", "/usr/bin/git"),
            new("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13", ClosureEntryKind.File, null, "symlink hop", "/usr/lib/x86_64-linux-gnu/libz.so.1"),
            new("/usr/lib64/ld-linux-x86-64.so.2", ClosureEntryKind.Symlink, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "interpreter", "/usr/bin/git"),
        ],
    };

    /// <summary>Host paths every test host has: device nodes, /proc/sys and /proc/sysrq-trigger, the bind sources.</summary>
    public static readonly HashSet<string> HostPaths =
    [
        "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/mqueue",
        "/proc/sys", "/proc/sysrq-trigger", "/proc/fs",
        "/etc", "/srv/data", "/var/lib/testme", "/run/rt", "/usr/bin/dash", "/usr/bin/git",
        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
    ];

    public static HostFacts Root => new() { Uid = 0, Gid = 0, CanMount = true, Pid = 4242, PathExists = HostPaths.Contains };

    public static HostFacts Unprivileged => new() { Uid = 1000, Gid = 100, CanMount = false, Pid = 4242, PathExists = HostPaths.Contains };

    public static LaunchOptions Options(ConfinementMode mode = ConfinementMode.FullApiVfs) =>
        new() { Mode = mode, Switches = ConfinementSwitches.For(mode), Program = "git", Arguments = ["status"] };

    public static LaunchPlan Build(LaunchOptions options, HostFacts host, TargetCredentials? creds = null,
        Closure? closure = null, IReadOnlyList<KeyValuePair<string, string>>? env = null) =>
        PlanBuilder.Build(new PlanRequest(options, closure ?? GitClosure(), creds, host, env ?? [new("PATH", "/usr/bin:/bin")]));

    public static List<string> OpStrings(LaunchPlan plan) => [.. plan.Ops.Select(o => o.ToString())];
}
