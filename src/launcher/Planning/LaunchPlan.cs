namespace ConfineExec.Launcher.Planning;

/// <summary>How the plan is run.</summary>
public enum ExecutionStrategy
{
    /// <summary>fork/clone a child that builds the namespaces and execs; the parent supervises (signals, status).</summary>
    ForkedChild,
    /// <summary>Root with no user namespace: unshare(CLONE_NEWNS) on the main thread, build, execve — PROGRAM
    /// keeps the launcher's PID (systemd's MainPID, sd_notify).</summary>
    InProcess,
}

/// <summary>When the user namespace is created relative to the mounts.</summary>
public enum UserNamespaceTiming
{
    /// <summary>No user namespace.</summary>
    None,
    /// <summary>Unprivileged caller: userns first (needed to mount), caller's uid/gid mapped to themselves,
    /// written by the child itself.</summary>
    BeforeMounts,
    /// <summary>Root with PrivateUsers=yes: after all mounts, so the mount namespace stays owned by the outer
    /// userns; single-id maps (<c>0 0 1</c>) written by the child itself, longer ones by the parent from outside.</summary>
    AfterMounts,
}

/// <summary>One line of a uid_map/gid_map: <c>Inside Outside Count</c>.</summary>
public readonly record struct IdMapping(uint Inside, uint Outside, uint Count)
{
    public override string ToString() => $"{Inside} {Outside} {Count}";
}

/// <summary>
/// Everything the executor needs, computed up front (a pure function of options, closure and host facts).
/// Validated by PlanValidator, printed by --dry-run, run by the executor.
/// </summary>
/// <remarks>The lists are arrays, not IReadOnlyList: the executor, validator and compiler index them on every
/// launch, and an interface-typed list costs a dispatch cell resolved on first use at each call site
/// (docs/cli-decisions.md, "Start-up"). Nothing writes to them after <see cref="PlanBuilder"/>.</remarks>
public sealed record LaunchPlan
{
    public required ExecutionStrategy Strategy { get; init; }
    public required UserNamespaceTiming UserNamespace { get; init; }
    /// <summary>uid_map lines (empty when no user namespace).</summary>
    public IdMapping[] UidMap { get; init; } = [];
    public IdMapping[] GidMap { get; init; } = [];

    /// <summary>Mount-building operations, in order, before the root switch.</summary>
    public required SetupOp[] Ops { get; init; }

    /// <summary>Make the new root itself read-only after the ops (before pivot_root).</summary>
    public bool RootReadOnly { get; init; } = true;

    /// <summary>Target credentials. Null uid/gid: keep the caller's.</summary>
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
    /// <summary>Supplementary groups to set (empty = drop all) — set before the user namespace is made.</summary>
    public uint[] SupplementaryGroups { get; init; } = [];
    /// <summary>Do not call setgroups() at all: an unprivileged caller's user namespace has setgroups
    /// <c>deny</c>, so its groups stay as they were (<see cref="SupplementaryGroups"/> is then empty).</summary>
    public bool KeepSupplementaryGroups { get; init; }
    /// <summary>Capabilities removed from the bounding set (numbers, e.g. CAP_SYS_MODULE=16, CAP_SYS_RAWIO=17,
    /// CAP_MKNOD=27).</summary>
    public int[] DropBoundingCaps { get; init; } = [];
    public bool NoNewPrivileges { get; init; }
    /// <summary>umask applied before exec (systemd default 0022), or null to keep.</summary>
    public int? Umask { get; init; }
    /// <summary>Call setsid() before exec (TIOCSTI protection, as bubblewrap's --new-session).</summary>
    public bool NewSession { get; init; }
    /// <summary>systemd socket activation: number of fds from 3 passed through (LISTEN_FDS); all other fds
    /// above 2 are closed. Non-zero only when the caller's LISTEN_PID equals the launcher's pid. Then
    /// <see cref="Environment"/> holds <c>LISTEN_PID=&lt;launcher pid&gt;</c> (and LISTEN_FDS, LISTEN_FDNAMES
    /// untouched): an InProcess plan keeps the pid, so the entry is already right; a ForkedChild executor must
    /// replace that entry's value with the child's pid before execve (sd_listen_fds() checks it).</summary>
    public int PassFds { get; init; }

    /// <summary>chdir target inside the root before exec.</summary>
    public string WorkingDirectory { get; init; } = "/";
    /// <summary>A failed chdir leaves PROGRAM in <c>/</c> instead of failing the launch (WorkingDirectory=-PATH).</summary>
    public bool WorkingDirectoryMissingOk { get; init; }
    /// <summary>Path exec'd inside the root (the program's host path).</summary>
    public required string ExecPath { get; init; }
    public required string[] Argv { get; init; }
    /// <summary>Environment as KEY=VALUE strings.</summary>
    public required string[] Environment { get; init; }

    /// <summary>Host directories created before the run (StateDirectory/RuntimeDirectory): path, mode, owner.</summary>
    public HostDirectory[] HostDirectories { get; init; } = [];
}

/// <param name="RemoveOnExit">RuntimeDirectory= semantics: removed after PROGRAM exits.</param>
public sealed record HostDirectory(string Path, int Mode, uint Uid, uint Gid, bool RemoveOnExit);
