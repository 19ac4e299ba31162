using System.Diagnostics;
using System.Globalization;
using ConfineExec.Launcher.Planning;
using static ConfineExec.Launcher.Interop.Libc;

namespace ConfineExec.Launcher.Execution;

/// <summary>
/// Turns a <see cref="LaunchPlan"/> into the flat native step list the <see cref="StepInterpreter"/> runs, in
/// the order DESIGN §4 fixes: namespaces → mounts → root switch → groups → (user namespace) → bounding set →
/// uid → capabilities → no_new_privs → umask → session → fds → exec.
/// </summary>
internal static unsafe class PlanCompiler
{
    internal static NativeProgram Compile(LaunchPlan plan, bool forked, int parentPid, int originalUmask)
    {
        Validate(plan, forked);
        // The ops, plus the fixed steps around them (namespaces, maps, ids, capabilities, exec).
        var n = new NativeProgram(plan.Ops.Length + plan.DropBoundingCaps.Length + 32);
        try
        {
            if (forked)
            {
                n.Add(new ChildStep { Op = ChildOp.ParentDeathSignal, Arg = parentPid }, "set parent-death signal");
                n.Add(new ChildStep { Op = ChildOp.ResetSignals }, "reset signal handlers");
            }
            n.Add(new ChildStep { Op = ChildOp.Umask, Mode = 0 }, "umask");
            bool ownMaps = plan.UserNamespace == UserNamespaceTiming.AfterMounts && ChildWritesOwnMaps(plan);
            n.NeedsParent = plan.UserNamespace == UserNamespaceTiming.AfterMounts && !ownMaps;
            if (ownMaps)
                n.Add(new ChildStep { Op = ChildOp.OpenProcSelf }, "open /proc/self", "/proc/self");
            if (plan.UserNamespace == UserNamespaceTiming.BeforeMounts)
            {
                n.Add(new ChildStep { Op = ChildOp.Unshare, Arg = CLONE_NEWUSER | CLONE_NEWNS }, "create user and mount namespaces");
                AddWrite(n, "/proc/self/setgroups", "deny");
                AddWrite(n, "/proc/self/uid_map", MapText(plan.UidMap));
                AddWrite(n, "/proc/self/gid_map", MapText(plan.GidMap));
            }
            else
            {
                n.Add(new ChildStep { Op = ChildOp.Unshare, Arg = CLONE_NEWNS }, "create mount namespace");
            }
            n.Add(new ChildStep { Op = ChildOp.MakeRootSlave, Path = n.Utf8("/") }, "make / rslave", "/");

            for (int i = 0; i < plan.Ops.Length; i++)
                AddOp(n, plan.Ops[i]);

            if (plan.RootReadOnly)
                n.Add(new ChildStep { Op = ChildOp.RootReadOnly }, "make root read-only", "/");
            n.Add(new ChildStep { Op = ChildOp.PivotRoot }, "switch root (pivot_root)");
            n.Add(new ChildStep
            {
                Op = ChildOp.Chdir, Path = n.Utf8(plan.WorkingDirectory), Flags = plan.WorkingDirectoryMissingOk ? StepFlags.AllowMissing : 0,
            }, "chdir", plan.WorkingDirectory);

            // Groups before the user namespace: once setgroups is "deny" they could never be dropped (§6.5).
            if (plan.UserNamespace != UserNamespaceTiming.BeforeMounts && !plan.KeepSupplementaryGroups)
                n.Add(new ChildStep { Op = ChildOp.SetGroups, Count = plan.SupplementaryGroups.Length, Data = n.UIntArray(plan.SupplementaryGroups) },
                    "setgroups");
            if (plan.Gid is uint gid && plan.UserNamespace != UserNamespaceTiming.BeforeMounts)
                n.Add(new ChildStep { Op = ChildOp.SetResGid, Arg = gid }, "setresgid " + gid.ToString(CultureInfo.InvariantCulture));
            if (ownMaps)
            {
                n.Add(new ChildStep { Op = ChildOp.Unshare, Arg = CLONE_NEWUSER }, "create user namespace");
                AddWrite(n, "setgroups", "deny", StepFlags.InProcSelf);
                AddWrite(n, "gid_map", MapText(plan.GidMap), StepFlags.InProcSelf);
                AddWrite(n, "uid_map", MapText(plan.UidMap), StepFlags.InProcSelf);
                n.Add(new ChildStep { Op = ChildOp.CloseProcSelf }, "close /proc/self");
            }
            else if (plan.UserNamespace == UserNamespaceTiming.AfterMounts)
                n.Add(new ChildStep { Op = ChildOp.UserNamespaceFromParent }, "create user namespace");
            for (int i = 0; i < plan.DropBoundingCaps.Length; i++)
            {
                int cap = plan.DropBoundingCaps[i];
                n.Add(new ChildStep { Op = ChildOp.DropBoundingCap, Arg = cap }, "drop bounding capability " + cap.ToString(CultureInfo.InvariantCulture));
            }
            if (plan.Uid is uint uid && plan.UserNamespace != UserNamespaceTiming.BeforeMounts)
                n.Add(new ChildStep { Op = ChildOp.SetResUid, Arg = uid }, "setresuid " + uid.ToString(CultureInfo.InvariantCulture));
            if ((plan.Uid ?? getuid()) != 0)
                n.Add(new ChildStep { Op = ChildOp.ClearCapabilities }, "clear capabilities");
            if (plan.NoNewPrivileges)
                n.Add(new ChildStep { Op = ChildOp.NoNewPrivileges }, "set no_new_privs");
            n.Add(new ChildStep { Op = ChildOp.Umask, Mode = plan.Umask ?? originalUmask }, "umask");
            if (plan.NewSession)
                n.Add(new ChildStep { Op = ChildOp.SetSid }, "setsid");
            // The kernel clears the parent-death signal whenever credentials change (the user namespace,
            // setresuid, capset), so it is set again as the last thing before exec, with the same race check.
            if (forked)
                n.Add(new ChildStep { Op = ChildOp.ParentDeathSignal, Arg = parentPid }, "set parent-death signal");
            n.Add(new ChildStep { Op = ChildOp.CloseFds, Arg = 3 + plan.PassFds }, "close inherited descriptors");
            // In process no ResetSignals ran: execve resets the runtime's handlers, and keeps the SIGPIPE ignore the
            // runtime set for itself, which PROGRAM must not inherit (docs/cli-decisions.md). Last, right before
            // execve: until then a broken pipe on another runtime thread must stay EPIPE.
            if (!forked)
                n.Add(new ChildStep { Op = ChildOp.DefaultSigpipe }, "reset SIGPIPE");
            // Socket activation: sd_listen_fds() checks LISTEN_PID against its own pid, which in a forked child
            // only the child knows. The entry gets room for any pid and the child writes its pid into it.
            string[] environment = [.. plan.Environment];
            int listenPid = forked && plan.PassFds > 0 ? Array.FindIndex(environment, e => e.StartsWith("LISTEN_PID=", StringComparison.Ordinal)) : -1;
            if (listenPid >= 0)
                environment[listenPid] = "LISTEN_PID=" + new string(' ', 20);
            n.Add(new ChildStep
            {
                Op = ChildOp.Exec, Path = n.Utf8(plan.ExecPath), Count = listenPid,
                Data = n.Utf8Array(plan.Argv), Data2 = n.Utf8Array(environment),
            }, "exec", plan.ExecPath);
            return n;
        }
        catch
        {
            n.Dispose();
            throw;
        }
    }

    /// <summary>One write(2) of <paramref name="text"/> to <paramref name="path"/>; with <see cref="StepFlags.InProcSelf"/>
    /// the path is relative to the host's /proc/self directory the child opened (named so in errors).</summary>
    private static void AddWrite(NativeProgram n, string path, string text, StepFlags flags = StepFlags.None)
    {
        int count = System.Text.Encoding.UTF8.GetByteCount(text);
        string shown = (flags & StepFlags.InProcSelf) != 0 ? "/proc/self/" + path : path;
        n.Add(new ChildStep { Op = ChildOp.WriteFile, Flags = flags, Path = n.Utf8(path), Source = n.Utf8(text), Count = count },
            "write " + shown, shown);
    }

    /// <summary>
    /// Whether the child may write its AfterMounts maps itself instead of asking the parent. After
    /// unshare(CLONE_NEWUSER) a process holds every capability in the new namespace but none over the parent's
    /// ids, so it may write only what an unprivileged creator may (kernel/user_namespace.c new_idmap_permitted):
    /// a map of exactly one extent of count 1 whose outside id is the writer's own euid (for gid_map: egid, with
    /// setgroups already "deny"). The writer is the child at the moment it opens the map file: its euid is still
    /// this process's, its egid the plan's Gid when one is set (setresgid runs before the user namespace).
    /// A uid 0 outside id further needs CAP_SETFCAP at unshare time, exactly as when the parent writes it.
    /// </summary>
    private static bool ChildWritesOwnMaps(LaunchPlan plan) =>
        IsSingleId(plan.UidMap, geteuid()) && IsSingleId(plan.GidMap, plan.Gid ?? getegid());

    private static bool IsSingleId(ReadOnlySpan<IdMapping> map, uint outside) =>
        map.Length == 1 && map[0].Count == 1 && map[0].Outside == outside;

    internal static string MapText(ReadOnlySpan<IdMapping> map)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < map.Length; i++) text.Append(map[i].ToString()).Append('\n');
        return text.ToString();
    }

    /// <summary>The plan's paths as native steps. Destination fields: Path (full), Parent, Leaf (null for "/").</summary>
    private static void AddOp(NativeProgram n, SetupOp op)
    {
        string name = NameOf(op);
        switch (op)
        {
            case RootTmpfsOp r:
                n.Add(new ChildStep { Op = ChildOp.RootTmpfs, Source = n.Utf8(Octal(r.Mode)) }, name, "/");
                break;
            case MakeDirOp m:
                n.Add(Dest(n, ChildOp.MakeDir, m.Path) with { Mode = m.Mode }, name, m.Path);
                break;
            case SymlinkOp l:
                n.Add(Dest(n, ChildOp.Symlink, l.Path) with { Source = n.Utf8(l.Target) }, name, l.Path, l.Target);
                break;
            case BindOp b:
            {
                byte* source = n.Utf8(b.Source);
                int length = 0, slash = -1;
                for (; source[length] != 0; length++)
                    if (source[length] == '/') slash = length;
                // Parent and last name for the child's by-directory open; none for "/" (or anything without a name).
                bool named = slash >= 0 && slash < length - 1;
                n.Add(Dest(n, ChildOp.Bind, b.Dest) with
                {
                    Source = source,
                    Data = named ? n.SharedCopy(source, Math.Max(slash, 1)) : null,
                    Data2 = named ? source + slash + 1 : null,
                    Flags = (b.ReadOnly ? StepFlags.ReadOnly : 0) | (b.Recursive ? StepFlags.Recursive : 0) |
                            (b.AllowMissing ? StepFlags.AllowMissing : 0) | b.SourceKind switch
                            {
                                BindSourceKind.File => StepFlags.SourceFile,
                                BindSourceKind.Directory => StepFlags.SourceDirectory,
                                _ => 0,
                            },
                }, name, b.Dest, b.Source);
                break;
            }
            case ProcOp p:
                n.Add(Dest(n, ChildOp.Proc, p.Dest) with { Flags = p.AllowHostBindFallback ? StepFlags.Fallback : 0 }, name, p.Dest);
                break;
            case SysfsOp s:
                n.Add(Dest(n, ChildOp.Sysfs, s.Dest) with { Flags = s.ReadOnly ? StepFlags.ReadOnly : 0 }, name, s.Dest, "/sys");
                break;
            case TmpfsOp t:
                n.Add(Dest(n, ChildOp.Tmpfs, t.Dest) with
                {
                    Source = n.Utf8(Octal(t.Mode)), Data = n.Utf8(t.Size),
                    Flags = (t.NoSuid ? StepFlags.NoSuid : 0) | (t.NoDev ? StepFlags.NoDev : 0) | (t.NoExec ? StepFlags.NoExec : 0),
                }, name, t.Dest);
                break;
            case DeviceNodeOp d:
                n.Add(Dest(n, ChildOp.DeviceNode, d.Path) with
                {
                    Source = n.Utf8(d.HostPath), Mode = d.Mode, Arg = EncodeDevice(d.Major, d.Minor),
                }, name, d.Path, d.HostPath);
                break;
            case DevptsOp d:
                n.Add(Dest(n, ChildOp.Devpts, d.Dest), name, d.Dest, "/dev/pts");
                break;
            case MqueueOp q:
                n.Add(Dest(n, ChildOp.Mqueue, q.Dest), name, q.Dest);
                break;
            case RemountReadOnlyOp r:
                n.Add(Dest(n, ChildOp.RemountReadOnly, r.Dest) with
                {
                    Flags = (r.Recursive ? StepFlags.Recursive : 0) | (r.IfExists ? StepFlags.AllowMissing : 0),
                }, name, r.Dest);
                break;
            case InaccessibleOp i:
                n.Add(Dest(n, ChildOp.Inaccessible, i.Dest) with { Flags = i.IfExists ? StepFlags.AllowMissing : 0 }, name, i.Dest);
                break;
            case ChmodOp c:
                n.Add(Dest(n, ChildOp.Chmod, c.Path) with { Mode = c.Mode }, name, c.Path);
                break;
            default:
                throw new UnreachableException(op.ToString());
        }
    }

    /// <summary>The destination encoded once: Leaf points into Path's own bytes, Parent is the one copy.</summary>
    private static ChildStep Dest(NativeProgram n, ChildOp op, string path)
    {
        string trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0)
            return new ChildStep { Op = op, Path = n.Utf8("/") };
        byte* full = n.Utf8(trimmed);
        int length = 0, slash = 0;
        for (; full[length] != 0; length++)
            if (full[length] == '/') slash = length;
        byte* parent = slash == 0 ? n.Copy(full, 1) : n.Copy(full, slash);
        return new ChildStep { Op = op, Path = full, Parent = parent, Leaf = full + slash + 1 };
    }

    private static string Octal(int mode) => Convert.ToString(mode, 8).PadLeft(4, '0');

    /// <summary>Refuses plans the interpreter must never see: relative or '..'-climbing destinations, NUL bytes,
    /// an op list not starting with the root tmpfs, in-process plans that need a user namespace.</summary>
    private static void Validate(LaunchPlan plan, bool forked)
    {
        if (!forked && plan.UserNamespace != UserNamespaceTiming.None)
            throw new LaunchException("plan: in-process execution cannot create a user namespace (the process is multi-threaded)");
        if (plan.Ops.Length == 0 || plan.Ops[0] is not RootTmpfsOp)
            throw new LaunchException("plan: the first setup operation must be root-tmpfs");
        if (PlanValidator.RootTmpfsAfterFirst(plan.Ops))
            throw new LaunchException("plan: root-tmpfs may appear only once");
        if (plan.Argv.Length == 0)
            throw new LaunchException("plan: empty argv");
        for (int i = 0; i < plan.Ops.Length; i++)
        {
            if (plan.Ops[i] is not RootTmpfsOp)
                CheckInRoot(plan.Ops[i], PlanValidator.DestinationOf(plan.Ops[i]));
        }
        CheckInRoot(null, plan.WorkingDirectory);
        CheckNoNul("exec", plan.ExecPath);
        for (int i = 0; i < plan.Argv.Length; i++)
            CheckNoNul("argument", plan.Argv[i]);
        for (int i = 0; i < plan.Environment.Length; i++)
            CheckNoNul("argument", plan.Environment[i]);
    }

    /// <summary>The op's first word in --dry-run form (its ToString), without formatting the whole line: the
    /// step name in error reports.</summary>
    private static string NameOf(SetupOp op) => op switch
    {
        RootTmpfsOp => "root-tmpfs",
        MakeDirOp => "mkdir",
        SymlinkOp => "symlink",
        BindOp b => b.ReadOnly ? "bind-ro" : "bind-rw",
        ProcOp => "proc",
        SysfsOp => "sysfs",
        TmpfsOp => "tmpfs",
        DeviceNodeOp => "dev",
        DevptsOp => "devpts",
        MqueueOp => "mqueue",
        RemountReadOnlyOp => "remount-ro",
        InaccessibleOp => "inaccessible",
        ChmodOp => "chmod",
        _ => throw new UnreachableException(op.ToString()),
    };

    /// <summary>The error text names the op only when a check fails (no per-op string building).</summary>
    private static void CheckInRoot(SetupOp? op, string path)
    {
        if (path.Contains('\0'))
            CheckNoNul(op is null ? "chdir" : NameOf(op), path);
        if (!path.StartsWith('/'))
            throw new LaunchException($"{(op is null ? "chdir" : NameOf(op))}: {path}: destination must be an absolute path inside the new root");
        if ((PathFlawsOf.Scan(path) & PathFlaws.DotDot) != 0)
            throw new LaunchException($"{(op is null ? "chdir" : NameOf(op))}: {path}: destination contains '..'");
        if (op is not (null or RootTmpfsOp or ChmodOp or RemountReadOnlyOp or MakeDirOp) && path.TrimEnd('/').Length == 0)
            throw new LaunchException($"{(op is null ? "chdir" : NameOf(op))}: {path}: the root itself cannot be a destination");
    }

    private static void CheckNoNul(string what, string value)
    {
        if (value.Contains('\0'))
            throw new LaunchException($"{what}: {value.Replace("\0", "\\0", StringComparison.Ordinal)}: contains a NUL byte");
    }

    /// <summary>The one stderr line (after "confine-exec: ") and exit code for a child's failure report.</summary>
    internal static LaunchException Describe(NativeProgram program, int step, int what, int errno)
    {
        var info = step >= 0 && step < program.Infos.Count ? program.Infos[step] : new NativeProgram.StepInfo("step " + step, null, null);
        int call = what & 0xffff;
        string? path = (what >> 16) switch { 1 => info.Path, 2 => info.Source, _ => info.Path ?? info.Source };
        string detail = call switch
        {
            ChildFailure.RefusedSymlink => "refused: is a symlink",
            ChildFailure.ParentDied => "parent exited during setup",
            ChildFailure.SyncFailed => "user namespace handshake failed",
            _ => SyscallName(call),
        };
        string reason = call == ChildFailure.RefusedSymlink ? "refusing to follow a symlink" : DescribeErrno(errno);
        if (call == (int)SYS_unshare && info.Name.Contains("user", StringComparison.Ordinal) && errno is EPERM or EINVAL or 28 /* ENOSPC */ or 87 /* EUSERS */)
            reason += "; user namespaces are unavailable to this caller (see user.max_user_namespaces, kernel.unprivileged_userns_clone, or run as root)";
        string where = path is null ? "" : path + ": ";
        int exit = ExitCodes.LauncherFailure;
        if (call == (int)SYS_execve)
            exit = errno == ENOENT ? ExitCodes.NotFound : ExitCodes.NotExecutable;
        return new LaunchException($"{info.Name} ({detail}): {where}{reason}", exit);
    }

    private static string SyscallName(int number) => number switch
    {
        (int)SYS_write => "write", (int)SYS_chdir => "chdir", (int)SYS_fchdir => "fchdir", (int)SYS_pivot_root => "pivot_root",
        (int)SYS_openat => "openat", (int)SYS_mkdirat => "mkdirat", (int)SYS_mknodat => "mknodat", (int)SYS_unlinkat => "unlinkat", (int)SYS_symlinkat => "symlinkat",
        (int)SYS_fchmodat => "fchmodat", (int)SYS_openat2 => "openat2", (int)SYS_mount => "mount", (int)SYS_umount2 => "umount2",
        (int)SYS_open_tree => "open_tree", (int)SYS_move_mount => "move_mount", (int)SYS_fsopen => "fsopen",
        (int)SYS_fsconfig => "fsconfig", (int)SYS_fsmount => "fsmount", (int)SYS_mount_setattr => "mount_setattr",
        (int)SYS_unshare => "unshare", (int)SYS_rt_sigprocmask => "rt_sigprocmask", (int)SYS_execve => "execve",
        (int)SYS_sched_setaffinity => "sched_setaffinity",
        (int)SYS_setsid => "setsid", (int)SYS_setgroups => "setgroups", (int)SYS_setresuid => "setresuid",
        (int)SYS_setresgid => "setresgid", (int)SYS_capset => "capset", (int)SYS_prctl => "prctl",
        (int)SYS_close_range => "close_range", (int)SYS_fcntl => "fcntl", (int)SYS_rt_sigaction => "rt_sigaction",
        _ => "syscall " + number.ToString(CultureInfo.InvariantCulture),
    };
}
