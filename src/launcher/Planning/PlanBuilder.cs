using ConfineExec.Elf;

namespace ConfineExec.Launcher.Planning;

/// <summary>
/// Options + closure + host facts → <see cref="LaunchPlan"/>, a pure function (DESIGN.md §4, systemd's
/// setup_namespace(), reference/systemd-confinement.md §3). The mounts follow systemd's two rounds: first every
/// mount, ordered by path component by component so a parent is always mounted before anything below it
/// (ties keep the order they were added: closure, binds, exec directories, API file systems); then the
/// read-only remounts, so that nested mounts made in round one are covered.
/// </summary>
public static class PlanBuilder
{
    public const int CapSysModule = 16, CapSysRawio = 17, CapMknod = 27;
    const int Mode0755 = 0x1ed, Mode1777 = 0x3ff;

    // Spans over private arrays, not IReadOnlyList: a foreach over a span is a plain loop, with no dispatch
    // resolved on first use (docs/cli-decisions.md, "Start-up").
    /// <summary>ProtectKernelTunables= read-only paths under /proc (each only if present).</summary>
    public static ReadOnlySpan<string> KernelTunablePaths => s_kernelTunablePaths;
    private static readonly string[] s_kernelTunablePaths =
    [
        "/proc/acpi", "/proc/apm", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/latency_stats",
        "/proc/mtrr", "/proc/scsi", "/proc/sys", "/proc/sysrq-trigger", "/proc/timer_stats",
    ];

    /// <summary>ProtectKernelTunables= inaccessible paths.</summary>
    public static ReadOnlySpan<string> KernelSecretPaths => s_kernelSecretPaths;
    private static readonly string[] s_kernelSecretPaths = ["/proc/kallsyms", "/proc/kcore"];

    /// <summary>ProtectKernelModules= inaccessible paths (if present in the root).</summary>
    public static ReadOnlySpan<string> KernelModulePaths => s_kernelModulePaths;
    private static readonly string[] s_kernelModulePaths = ["/lib/modules", "/usr/lib/modules"];

    public static LaunchPlan Build(PlanRequest request)
    {
        var (options, closure, creds, host, _) = request;
        ConfinementSwitches sw = options.Switches;
        bool privileged = host.CanMount;
        uint targetUid = creds?.Uid ?? host.Uid, targetGid = creds?.Gid ?? host.Gid;

        // Round one: every mount, grouped by the path it creates.
        var groups = new List<(string Key, SetupOp[] Ops)>(options.Binds.Count + closure.Entries.Count + 16);
        void Group(string key, params SetupOp[] ops) => groups.Add((key, ops));

        foreach (var (path, op) in ClosureOps(closure)) Group(path, op);

        // A destination is chased through the links the root will hold, as systemd chases it inside the root:
        // `BindReadOnlyPaths=/bin/sh` on merged /usr lands on /usr/bin/dash, not on the path of the /usr/bin/sh link.
        var links = options.Binds.Count > 0 ? new ClosureLinks(closure.Entries) : null;
        for (int i = 0; i < options.Binds.Count; i++)
        {
            BindSpec b = options.Binds[i];
            string dest = links!.Resolve(b.Dest) ?? b.Dest;
            string source = HostSource(host, b.Source);
            Group(dest, new BindOp(source, dest, b.ReadOnly, b.Recursive, b.IgnoreMissing) { SourceKind = host.SourceKind(source) });
        }

        var hostDirs = new List<HostDirectory>();
        for (int i = 0; i < options.StateDirectories.Count; i++)
        {
            string path = "/var/lib/" + options.StateDirectories[i], source = HostSource(host, path);
            hostDirs.Add(new HostDirectory(source, Mode0755, targetUid, targetGid, RemoveOnExit: false));
            Group(path, new BindOp(source, path, ReadOnly: false) { SourceKind = host.SourceKind(source) });
        }
        for (int i = 0; i < options.RuntimeDirectories.Count; i++)
        {
            string path = "/run/" + options.RuntimeDirectories[i], source = HostSource(host, path);
            hostDirs.Add(new HostDirectory(source, Mode0755, targetUid, targetGid, RemoveOnExit: true));
            Group(path, new BindOp(source, path, ReadOnly: false) { SourceKind = host.SourceKind(source) });
        }

        if (sw.MountApiVfs)
        {
            // Unprivileged without a pid namespace the kernel refuses a new procfs: bind the host's (systemd's fallback).
            Group("/proc", new ProcOp("/proc", AllowHostBindFallback: !privileged));
            Group("/sys", new SysfsOp("/sys", ReadOnly: sw.ProtectKernelTunables));
            Group("/run", new TmpfsOp("/run", Mode0755, NoSuid: true, NoDev: true, Size: "20%"));
            if (sw.ProtectKernelTunables)
                foreach (string p in KernelSecretPaths) Group(p, new InaccessibleOp(p, IfExists: true));
        }
        if (sw.PrivateDevices) Group("/dev", PrivateDevOps());
        if (sw.PrivateTmp)
        {
            Group("/tmp", new TmpfsOp("/tmp", Mode1777, NoSuid: true, NoDev: true));
            Group("/var/tmp", new TmpfsOp("/var/tmp", Mode1777, NoSuid: true, NoDev: true));
        }
        if (sw.ProtectKernelModules)
            foreach (string p in KernelModulePaths) Group(p, new InaccessibleOp(p, IfExists: true));

        var ops = new List<SetupOp>(groups.Count + 32) { new RootTmpfsOp() };
        var knownDirs = new HashSet<string>(StringComparer.Ordinal) { "/" };
        var knownDirsBySpan = knownDirs.GetAlternateLookup<ReadOnlySpan<char>>();
        // Stable sort by path (List.Sort is not stable: ties broken by the order added). A plain Comparison, not
        // LINQ's OrderBy/ThenBy, whose generic virtual dispatch alone cost 0.37 M instructions per launch.
        var order = new List<int>(groups.Count);
        for (int i = 0; i < groups.Count; i++) order.Add(i);
        order.Sort((a, b) =>
        {
            int c = PathComparer.Instance.Compare(groups[a].Key, groups[b].Key);
            return c != 0 ? c : a.CompareTo(b);
        });
        foreach (int index in order)
        {
            var (key, groupOps) = groups[index];
            // An if-exists overmount must not create the directory it would hide (no empty /lib in the root).
            bool onlyIfPresent = true;
            foreach (SetupOp op in groupOps)
                onlyIfPresent &= op is InaccessibleOp;
            // The parent looked up by span: its string is made only when it is new (once per directory).
            int slash = key.LastIndexOf('/');
            if (!onlyIfPresent && !knownDirsBySpan.Contains(slash <= 0 ? "/" : key.AsSpan(0, slash)))
            {
                string parent = ParentOf(key);
                ops.Add(new MakeDirOp(parent));
                for (string p = parent; p != "/"; p = ParentOf(p)) knownDirs.Add(p);
            }
            ops.AddRange(groupOps);
            foreach (SetupOp op in groupOps)
                if (op is TmpfsOp or ProcOp or SysfsOp or DevptsOp or MqueueOp) knownDirs.Add(DestOf(op)!);
        }

        // Round two: read-only remounts over what round one built.
        // Each only if present, decided in the root by the step itself (IfExists), as systemd applies its
        // "-"-prefixed read-only entries inside the namespace: a look at the host's /proc first cost 12 procfs
        // lookups in every default launch (60 us), and the root's /proc is not the host's.
        if (sw.MountApiVfs && sw.ProtectKernelTunables)
            foreach (string p in KernelTunablePaths)
                ops.Add(new RemountReadOnlyOp(p, Recursive: true, IfExists: true));
        // A read-only /sys (ProtectKernelTunables) is read-only with every mount under it already: a second
        // remount would only stack a read-only copy of the whole cgroup tree on top (ten more mounts made and torn
        // down per launch here) and, unlike systemd, turn a writable bind made under it read-only.
        if (sw.MountApiVfs && sw.ProtectControlGroups && !sw.ProtectKernelTunables)
            ops.Add(new RemountReadOnlyOp("/sys/fs/cgroup", Recursive: true, IfExists: true));
        if (sw.PrivateDevices)
            ops.Add(new RemountReadOnlyOp("/dev", Recursive: false)); // /dev alone: /dev/shm, /dev/pts stay writable

        var caps = new List<int>();
        if (sw.ProtectKernelModules) caps.Add(CapSysModule);
        if (sw.PrivateDevices) { caps.Add(CapSysRawio); caps.Add(CapMknod); }

        UserNamespaceTiming userns = !privileged ? UserNamespaceTiming.BeforeMounts
            : sw.PrivateUsers ? UserNamespaceTiming.AfterMounts : UserNamespaceTiming.None;
        IdMapping[] uidMap = [], gidMap = [];
        if (userns == UserNamespaceTiming.BeforeMounts)
        {
            uidMap = [new IdMapping(host.Uid, host.Uid, 1)];
            gidMap = [new IdMapping(host.Gid, host.Gid, 1)];
        }
        else if (userns == UserNamespaceTiming.AfterMounts)
        {
            // setup_private_users(PrivateUsers=self): "ouid ouid 1" plus "uid uid 1" when they differ.
            uidMap = SelfMap(host.Uid, targetUid);
            gidMap = SelfMap(host.Gid, targetGid);
        }

        return new LaunchPlan
        {
            // In-process means execve replaces confine-exec: nobody would be left to remove a RuntimeDirectory=
            // when PROGRAM exits (systemd removes it when the unit stops), so that needs the supervisor.
            Strategy = privileged && !sw.PrivateUsers && !hostDirs.Exists(d => d.RemoveOnExit)
                ? ExecutionStrategy.InProcess : ExecutionStrategy.ForkedChild,
            UserNamespace = userns,
            UidMap = uidMap,
            GidMap = gidMap,
            Ops = ops.ToArray(),
            RootReadOnly = true,
            Uid = creds?.Uid,
            Gid = creds is null ? null : creds.Gid,
            SupplementaryGroups = [.. privileged ? creds?.SupplementaryGroups ?? [] : SupplementaryGroupsGiven(options, creds)],
            KeepSupplementaryGroups = !privileged,
            DropBoundingCaps = caps.ToArray(),
            // A non-root target always gets NNP (DESIGN §6.5), whatever NoNewPrivileges= says.
            NoNewPrivileges = options.NoNewPrivileges == true || targetUid != 0,
            Umask = options.Umask,
            NewSession = options.NewSession,
            PassFds = PassedFds(request.Environment, host.Pid),
            WorkingDirectory = options.WorkingDirectory ?? "/",
            WorkingDirectoryMissingOk = options.WorkingDirectoryMissingOk,
            ExecPath = closure.ProgramPath,
            Argv = [options.Program ?? closure.ProgramPath, .. options.Arguments],
            Environment = BuildEnvironment(request),
            HostDirectories = hostDirs.ToArray(),
        };
    }

    /// <summary>
    /// One op per closure entry, at the entry's path with its parent resolved through the closure's own links
    /// (as the kernel resolves it inside the root): <c>/bin/sh</c> under a <c>/bin -> usr/bin</c> link is made at
    /// <c>/usr/bin/sh</c>, after <c>/usr/bin</c> exists. When two entries land on one path, a bind whose source
    /// the link there already leads to is dropped (merged /usr: <c>/usr/bin/sh -> dash</c>); otherwise the bind
    /// wins over the link (<c>--bin-sh</c> chose what /bin/sh is).
    /// </summary>
    static List<(string Path, SetupOp Op)> ClosureOps(Closure closure)
    {
        var links = new ClosureLinks(closure.Entries);
        // A loop, not Where(..).Select(..): Select on Where's iterator is a generic virtual call, resolved at run
        // time by the type loader (62,000 instructions per launch).
        var bound = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < closure.Entries.Count; i++)
            if (closure.Entries[i] is { Kind: not ClosureEntryKind.Symlink, Target: null } e) bound.Add(e.Path);
        var byPath = new Dictionary<string, SetupOp>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int i = 0; i < closure.Entries.Count; i++)
        {
            ClosureEntry e = closure.Entries[i];
            string parent = links.Resolve(ParentOf(e.Path)) ?? ParentOf(e.Path);
            string path = (parent == "/" ? "" : parent) + "/" + e.Path[(e.Path.LastIndexOf('/') + 1)..];
            SetupOp op = e.Kind == ClosureEntryKind.Symlink
                ? new SymlinkOp(e.Target ?? throw new ArgumentException($"symlink entry {e.Path} has no target"), path)
                : new BindOp(e.Target ?? e.Path, path, ReadOnly: true)
                {
                    SourceKind = e.Kind == ClosureEntryKind.Directory ? BindSourceKind.Directory : BindSourceKind.File,
                };
            if (!byPath.TryGetValue(path, out SetupOp? other)) { byPath[path] = op; order.Add(path); continue; }
            var (bind, link) = (op as BindOp ?? other as BindOp, op as SymlinkOp ?? other as SymlinkOp);
            if (bind is null || link is null) continue; // same kind twice: the validator reports real conflicts
            bool linkSuffices = links.Resolve(path) == bind.Source && bound.Contains(bind.Source);
            byPath[path] = linkSuffices ? link : bind;
        }
        var ops = new List<(string Path, SetupOp Op)>(order.Count);
        foreach (string p in order) ops.Add((p, byPath[p]));
        return ops;
    }

    /// <summary>A bind source resolved on the host (DESIGN §4): the longest prefix that exists is resolved, a missing
    /// tail is kept as written (skipped with '-', refused by the validator otherwise).</summary>
    static string HostSource(HostFacts host, string path)
    {
        if (host.RealPath(path) is { } real) return real;
        if (path == "/") return path;
        string parent = HostSource(host, ParentOf(path));
        return (parent == "/" ? "" : parent) + path[path.LastIndexOf('/')..];
    }

    static IReadOnlyList<uint> SupplementaryGroupsGiven(LaunchOptions options, TargetCredentials? creds) =>
        // Unprivileged: groups cannot be set; keep only what SupplementaryGroups= asked for so the validator can refuse it.
        options.SupplementaryGroups.Count == 0 || creds is null ? [] : creds.SupplementaryGroups;

    static IdMapping[] SelfMap(uint outer, uint target) =>
        outer == target ? [new IdMapping(outer, outer, 1)] : [new IdMapping(outer, outer, 1), new IdMapping(target, target, 1)];

    /// <summary>A list, not an iterator: spreading an iterator into an array went through Enumerable.ToArray's
    /// generic paths, resolved on first use in every default launch.</summary>
    static SetupOp[] PrivateDevOps()
    {
        var ops = new List<SetupOp>(16)
        {
            // mount_private_dev(): tmpfs nosuid,noexec,strictatime mode=0755 size=4m; nodes owned by host root.
            new TmpfsOp("/dev", Mode0755, NoSuid: true, NoDev: false, NoExec: true, Size: "4m"),
        };
        // Each only if the host has it: the step looks (StepInterpreter.DeviceNode).
        foreach (var (name, major, minor) in HostFacts.PrivateDeviceNodes)
        {
            string path = "/dev/" + name;
            ops.Add(new DeviceNodeOp(path, major, minor, path));
        }
        ops.Add(new DevptsOp("/dev/pts"));
        ops.Add(new SymlinkOp("pts/ptmx", "/dev/ptmx"));
        ops.Add(new TmpfsOp("/dev/shm", Mode1777, NoSuid: true, NoDev: true));
        ops.Add(new MqueueOp("/dev/mqueue")); // a new instance; the executor falls back to the host's or skips
        // dev_setup()'s links.
        ops.Add(new SymlinkOp("/proc/self/fd", "/dev/fd"));
        ops.Add(new SymlinkOp("/proc/self/fd/0", "/dev/stdin"));
        ops.Add(new SymlinkOp("/proc/self/fd/1", "/dev/stdout"));
        ops.Add(new SymlinkOp("/proc/self/fd/2", "/dev/stderr"));
        return ops.ToArray();
    }

    static int PassedFds(IReadOnlyList<KeyValuePair<string, string>> env, int pid)
    {
        string? listenPid = Lookup(env, "LISTEN_PID"), listenFds = Lookup(env, "LISTEN_FDS");
        return listenPid is not null && listenFds is not null
               && int.TryParse(listenPid, System.Globalization.NumberStyles.None, null, out int p) && p == pid
               && int.TryParse(listenFds, System.Globalization.NumberStyles.None, null, out int n) && n is > 0 and < 65536
            ? n : 0;
    }

    static string? Lookup(IReadOnlyList<KeyValuePair<string, string>> env, string key)
    {
        for (int i = 0; i < env.Count; i++) if (env[i].Key == key) return env[i].Value;
        return null;
    }

    static string[] BuildEnvironment(PlanRequest request)
    {
        var env = new List<KeyValuePair<string, string>>(request.Environment);
        void Set(string key, string value)
        {
            int i = env.FindIndex(kv => kv.Key == key);
            if (i >= 0) env[i] = new(key, value); else env.Add(new(key, value));
        }
        for (int i = 0; i < request.Options.Environment.Count; i++) Set(request.Options.Environment[i].Key, request.Options.Environment[i].Value);
        if (request.Options.StateDirectories.Count > 0)
            Set("STATE_DIRECTORY", string.Join(':', request.Options.StateDirectories.Select(d => "/var/lib/" + d)));
        if (request.Options.RuntimeDirectories.Count > 0)
            Set("RUNTIME_DIRECTORY", string.Join(':', request.Options.RuntimeDirectories.Select(d => "/run/" + d)));
        // ld.so computes $ORIGIN of the main program from /proc/self/exe; without /proc it falls back to
        // LD_ORIGIN_PATH (DESIGN §5).
        if (request.Closure.MainUsesOrigin && !request.Options.Switches.MountApiVfs && env.All(kv => kv.Key != "LD_ORIGIN_PATH"))
        {
            string real = new ClosureLinks(request.Closure.Entries).Resolve(request.Closure.ProgramPath) ?? request.Closure.ProgramPath;
            Set("LD_ORIGIN_PATH", ParentOf(real));
        }
        var entries = new string[env.Count];
        for (int i = 0; i < entries.Length; i++) entries[i] = env[i].Key + "=" + env[i].Value;
        return entries;
    }

    public static string ParentOf(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    static string? DestOf(SetupOp op) => op switch
    {
        TmpfsOp t => t.Dest,
        ProcOp p => p.Dest,
        SysfsOp s => s.Dest,
        DevptsOp d => d.Dest,
        MqueueOp m => m.Dest,
        _ => null,
    };
}
