using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Output;

/// <summary>
/// <c>--dry-run</c>: the plan in the order the executor runs it, one step per line — namespaces and maps,
/// host directories, the mount operations (each op's own one-line form), the root switch, then the credential
/// sequence (setgroups → setresgid → user namespace → bounding set → setresuid → no_new_privs) and exec.
/// </summary>
public static class DryRunPrinter
{
    public static void Print(LaunchPlan plan, TextWriter w)
    {
        w.WriteLine($"strategy {(plan.Strategy == ExecutionStrategy.InProcess ? "in-process" : "forked-child")}");
        if (plan.UserNamespace == UserNamespaceTiming.BeforeMounts) PrintUserNamespace(plan, w, "before-mounts");
        w.WriteLine("unshare mount");
        w.WriteLine("make-rslave /");
        foreach (HostDirectory d in plan.HostDirectories)
            w.WriteLine($"host-dir {d.Path} mode={Convert.ToString(d.Mode, 8)} owner={d.Uid}:{d.Gid}{(d.RemoveOnExit ? " remove-on-exit" : "")}");
        foreach (SetupOp op in plan.Ops) w.WriteLine(op.ToString());
        if (plan.RootReadOnly) w.WriteLine("remount-ro / (root mount only)"); // the tmpfs; /tmp, /run, /dev/shm stay writable
        w.WriteLine("pivot-root");
        if (plan.KeepSupplementaryGroups) w.WriteLine("setgroups keep");
        else w.WriteLine($"setgroups {(plan.SupplementaryGroups.Length == 0 ? "none" : string.Join(',', plan.SupplementaryGroups))}");
        if (plan.Gid is uint gid) w.WriteLine($"setresgid {gid}");
        if (plan.UserNamespace == UserNamespaceTiming.AfterMounts) PrintUserNamespace(plan, w, "after-mounts");
        if (plan.DropBoundingCaps.Length > 0) w.WriteLine($"drop-bounding-caps {string.Join(',', plan.DropBoundingCaps)}");
        if (plan.Uid is uint uid) w.WriteLine($"setresuid {uid}");
        if (plan.Umask is int umask) w.WriteLine($"umask {Convert.ToString(umask, 8).PadLeft(4, '0')}");
        if (plan.NewSession) w.WriteLine("setsid");
        if (plan.NoNewPrivileges) w.WriteLine("no-new-privs");
        w.WriteLine($"chdir {plan.WorkingDirectory}{(plan.WorkingDirectoryMissingOk ? " if-exists" : "")}");
        w.WriteLine(plan.PassFds > 0 ? $"pass-fds 3-{2 + plan.PassFds} rewrite LISTEN_PID" : "close-fds above 2");
        w.WriteLine($"exec {plan.ExecPath}");
        w.WriteLine($"argv {string.Join(' ', plan.Argv.Select(Quote))}");
        w.WriteLine($"env {plan.Environment.Length} variables");
    }

    static void PrintUserNamespace(LaunchPlan plan, TextWriter w, string timing)
    {
        w.WriteLine($"unshare user {timing}");
        w.WriteLine("setgroups-file deny");
        foreach (IdMapping m in plan.GidMap) w.WriteLine($"gid-map {m}");
        foreach (IdMapping m in plan.UidMap) w.WriteLine($"uid-map {m}");
    }

    static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+=:,@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
