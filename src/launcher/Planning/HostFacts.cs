namespace ConfineExec.Launcher.Planning;

/// <summary>
/// What the plan depends on about the host, gathered once (credentials and a few stat()s) so
/// that <see cref="PlanBuilder"/> stays a pure function and tests can describe any host.
/// </summary>
public sealed record HostFacts
{
    /// <summary>Real uid/gid of the caller (mapped to themselves in an unprivileged user namespace).</summary>
    public required uint Uid { get; init; }
    public required uint Gid { get; init; }
    /// <summary>CAP_SYS_ADMIN in the effective set: mounts can be made without a user namespace.</summary>
    public required bool CanMount { get; init; }
    /// <summary>The launcher's pid (LISTEN_PID matching).</summary>
    public required int Pid { get; init; }
    /// <summary>lstat()-style existence of a host path: the validator's check of a bind source whose type the planner
    /// does not know.</summary>
    public required Func<string, bool> PathExists { get; init; }
    /// <summary>realpath(3) of a host path, null when it does not resolve (bind sources are resolved on the host at
    /// plan time, as systemd's chase does, so the executor can refuse every symlink it meets). Identity by default.</summary>
    public Func<string, string?> RealPath { get; init; } = path => path;
    /// <summary>lstat()-style type of a host path as a bind source (Unknown when absent or a symlink), answered
    /// from the lookups <see cref="RealPath"/> and <see cref="PathExists"/> already made where it can.</summary>
    public Func<string, BindSourceKind> SourceKind { get; init; } = _ => BindSourceKind.Unknown;
    /// <summary>Called once planning is done: closes what the lookups above hold open (a host directory).</summary>
    public Action Release { get; init; } = static () => { };

    /// <summary>Linux's fixed character-device numbers (Documentation/admin-guide/devices.txt) for the nodes
    /// PrivateDevices= clones.</summary>
    public static ReadOnlySpan<(string Name, uint Major, uint Minor)> PrivateDeviceNodes => s_privateDeviceNodes;
    private static readonly (string Name, uint Major, uint Minor)[] s_privateDeviceNodes =
    [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ];

    const int CapSysAdmin = 21;

    /// <summary>Reads the running process's facts: getuid/getgid/capget, not /proc/self/status (a FileStream with
    /// flock, a StreamReader and a string per line: measured 7 syscalls and 0.09 M instructions per start).</summary>
    public static HostFacts Detect()
    {
        var paths = new CommandLine.HostPathCache();
        return new HostFacts
        {
            Uid = Interop.Libc.getuid(),
            Gid = Interop.Libc.getgid(),
            CanMount = (Interop.Libc.EffectiveCapabilities() & (1UL << CapSysAdmin)) != 0,
            Pid = Environment.ProcessId,
            PathExists = paths.Exists,
            RealPath = paths.RealPath,
            SourceKind = paths.SourceKind,
            Release = paths.Release,
        };
    }
}
