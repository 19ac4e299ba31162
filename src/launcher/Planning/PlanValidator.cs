namespace ConfineExec.Launcher.Planning;

/// <summary>
/// Checks a plan before anything runs; each rule is one sentence, reported for the first path or field that
/// breaks it. The executor may assume every rule holds.
/// </summary>
public static class PlanValidator
{
    /// <summary>Throws <see cref="PlanValidationException"/> on the first broken rule.</summary>
    public static void Validate(LaunchPlan plan, HostFacts host)
    {
        if (plan.Ops.Length == 0 || plan.Ops[0] is not RootTmpfsOp || RootTmpfsAfterFirst(plan.Ops))
            throw new PlanValidationException("ops", "the root tmpfs must be the first operation and appear once");

        var claimed = new Dictionary<string, SetupOp>(plan.Ops.Length, StringComparer.Ordinal);
        // StateDirectory=/RuntimeDirectory= sources are created by the executor before the mounts.
        var created = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < plan.HostDirectories.Length; i++) created.Add(plan.HostDirectories[i].Path);
        for (int i = 1; i < plan.Ops.Length; i++)
        {
            SetupOp op = plan.Ops[i];
            string dest = DestinationOf(op);
            RequireCanonical(dest, "destination");
            if (dest == "/")
                throw new PlanValidationException(dest, "nothing may be mounted over the root itself");
            if (op is BindOp bind)
            {
                RequireCanonical(bind.Source, "bind source");
                // A source whose kind the planner knows was just seen: a closure file by the scan or the cache's
                // re-check of its stamp, a bind's source by its lstat. Looking again cost a statx per closure
                // file (a launch of clangd: 69); the child opens every source anyway.
                if (!bind.AllowMissing && bind.SourceKind == BindSourceKind.Unknown && !created.Contains(bind.Source) && !host.PathExists(bind.Source))
                    throw new PlanValidationException(bind.Source, "a bind source must exist on the host (prefix it with '-' to skip it when missing)");
            }
            if (op is MakeDirOp or RemountReadOnlyOp or ChmodOp or InaccessibleOp) continue; // may repeat or refine a path
            if (claimed.TryGetValue(dest, out SetupOp? earlier) && earlier != op)
                throw new PlanValidationException(dest, $"two operations create the same path ('{earlier}' and '{op}')");
            claimed[dest] = op;
        }

        if (!plan.WorkingDirectory.StartsWith('/'))
            throw new PlanValidationException(plan.WorkingDirectory, "the working directory must be an absolute path");
        RequireCanonical(plan.WorkingDirectory, "working directory");
        if (!plan.ExecPath.StartsWith('/'))
            throw new PlanValidationException(plan.ExecPath, "the program must be exec'd by an absolute path");
        if (plan.Argv.Length == 0)
            throw new PlanValidationException("argv", "argv must hold at least the program name");
        for (int i = 0; i < plan.Environment.Length; i++)
            if (plan.Environment[i].IndexOf('=') <= 0) throw new PlanValidationException(plan.Environment[i], "every environment entry must be KEY=VALUE");

        if (plan.Strategy == ExecutionStrategy.InProcess && plan.UserNamespace != UserNamespaceTiming.None)
            throw new PlanValidationException("strategy", "a user namespace needs a forked child (a managed process is multi-threaded)");
        if (plan.UserNamespace == UserNamespaceTiming.None && !host.CanMount)
            throw new PlanValidationException("userns", "without CAP_SYS_ADMIN the mounts need a user namespace");
        if (plan.UserNamespace != UserNamespaceTiming.None && (plan.UidMap.Length == 0 || plan.GidMap.Length == 0))
            throw new PlanValidationException("userns", "a user namespace needs a uid map and a gid map");
        if (plan.UserNamespace != UserNamespaceTiming.None)
        {
            if (plan.Uid is uint u && !Maps(plan.UidMap, u))
                throw new PlanValidationException($"uid {u}", "the target uid must be mapped in the user namespace (an unprivileged caller can only run as itself)");
            if (plan.Gid is uint g && !Maps(plan.GidMap, g))
                throw new PlanValidationException($"gid {g}", "the target gid must be mapped in the user namespace (an unprivileged caller can only run as its own group)");
        }
        if (plan.KeepSupplementaryGroups && plan.SupplementaryGroups.Length > 0)
            throw new PlanValidationException("SupplementaryGroups", "supplementary groups cannot be set without CAP_SYS_ADMIN (setgroups is denied in an unprivileged user namespace)");
        if (plan.Uid is not null and not 0 && !plan.NoNewPrivileges)
            throw new PlanValidationException("NoNewPrivileges", "a non-root target must run with no_new_privs");
        if (plan.Umask is < 0 or > 0xfff)
            throw new PlanValidationException("UMask", "the umask must be between 0000 and 07777");
        for (int i = 0; i < plan.HostDirectories.Length; i++)
            RequireCanonical(plan.HostDirectories[i].Path, "host directory");
    }

    static bool Maps(ReadOnlySpan<IdMapping> map, uint id)
    {
        for (int i = 0; i < map.Length; i++)
            if (id >= map[i].Inside && id - map[i].Inside < map[i].Count) return true;
        return false;
    }

    // Loops, not LINQ, on every launch's path: each LINQ call over these interface-typed lists was a generic
    // dispatch resolved on first use, in a process that only ever makes the first use (docs/cli-decisions.md,
    // "Start-up").
    internal static bool RootTmpfsAfterFirst(ReadOnlySpan<SetupOp> ops)
    {
        for (int i = 1; i < ops.Length; i++)
            if (ops[i] is RootTmpfsOp) return true;
        return false;
    }

    /// <summary>Absolute, no empty, <c>.</c> or <c>..</c> components, no trailing slash.</summary>
    static void RequireCanonical(string path, string role)
    {
        if (!path.StartsWith('/'))
            throw new PlanValidationException(path, $"a {role} must be an absolute path");
        if (path != "/" && PathFlawsOf.Scan(path) != PathFlaws.None)
            throw new PlanValidationException(path, $"a {role} must not contain '.', '..' or empty components");
    }

    public static string DestinationOf(SetupOp op) => op switch
    {
        RootTmpfsOp => "/",
        MakeDirOp o => o.Path,
        SymlinkOp o => o.Path,
        BindOp o => o.Dest,
        ProcOp o => o.Dest,
        SysfsOp o => o.Dest,
        TmpfsOp o => o.Dest,
        DeviceNodeOp o => o.Path,
        DevptsOp o => o.Dest,
        MqueueOp o => o.Dest,
        RemountReadOnlyOp o => o.Dest,
        InaccessibleOp o => o.Dest,
        ChmodOp o => o.Path,
        _ => throw new System.Diagnostics.UnreachableException(op.ToString()),
    };
}
