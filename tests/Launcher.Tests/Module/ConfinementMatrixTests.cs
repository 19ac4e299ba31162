using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// The current module's 12-case matrix (reference/systemd-confinement.md §2.3), {root, static user} x
/// {chroot-only, full-apivfs} x {PrivateTmp yes, no}, plus the same for an unprivileged caller: PROGRAM is the
/// permission walker, which walks the whole root from inside. Each case asserts checkperms' table (upper
/// bounds and must-exist), and stricter: nothing writable outside /tmp, /var/tmp, /run, /dev/shm, /dev/mqueue
/// (for root too); a procfs/sysfs only at /proc and /sys in full-apivfs; no API directory at all in
/// chroot-only; no /tmp or /var/tmp without PrivateTmp; outside the API directories, only closure paths and
/// their parent directories. Root and the static user also get a StateDirectory=, which must be writable.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class ConfinementMatrixTests(ConfineExecFixture fixture, PermissionWalker walker) : IClassFixture<PermissionWalker>, IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();
    private readonly string _state = "confine-exec-matrix-" + Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal);

    public void Dispose()
    {
        if (Directory.Exists("/var/lib/" + _state)) Directory.Delete("/var/lib/" + _state, recursive: true);
        _before.AssertUnchanged();
    }

    public static TheoryData<Identity, string, bool> Cases()
    {
        var data = new TheoryData<Identity, string, bool>();
        foreach (Identity who in Enum.GetValues<Identity>())
            foreach (string mode in new[] { "chroot-only", "full-apivfs" })
                foreach (bool privateTmp in new[] { true, false })
                    data.Add(who, mode, privateTmp);
        return data;
    }

    private static readonly string[] s_apiDirectories = ["/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matrix_WalkRootInside_NothingMoreAccessibleThanAllowed(Identity who, string mode, bool privateTmp)
    {
        bool apivfs = mode == "full-apivfs";
        List<string> options = ["--mode", mode, .. Identities.Options(who)];
        // As the module's test: PrivateTmp= is set only where it differs from the mode's default.
        if (privateTmp != apivfs) options.AddRange(["-p", $"PrivateTmp={(privateTmp ? "yes" : "no")}"]);
        // A StateDirectory= (which an unprivileged caller cannot create on the host): writable, and the only
        // writable place outside the API directories.
        string? state = who == Identity.UnprivilegedCaller ? null : "/var/lib/" + _state;
        if (state is not null) options.AddRange(["-p", "StateDirectory=" + _state]);
        options.Add("--");
        options.Add(walker.Program);

        RunResult closureRun = fixture.Run(["--print-closure", .. options], Identities.AsNobody(who));
        Assert.True(closureRun.ExitCode == 0, closureRun.ToString());
        string[] closure = closureRun.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        RunResult run = fixture.Run(options, Identities.AsNobody(who));
        Assert.True(run.ExitCode == 0, run.ToString());
        PermissionWalker.Report report = PermissionWalker.Parse(run.Stdout);

        // C4: root stays 0 (inside the user namespace in full-apivfs), a static user keeps its non-zero ids.
        Assert.Equal(Identities.Ids(who), (report.Uid, report.Gid));

        Dictionary<string, Accessibility> table = ExpectedTable(who, apivfs, privateTmp, closure);
        if (state is not null) table[state] = Accessibility.Writable;
        CheckPerms.AssertPermissions(report, table);
        if (state is not null) Assert.Equal(Accessibility.Writable, report.Paths[state]);

        var writableRoots = new List<string>();
        if (state is not null) writableRoots.Add(state);
        if (privateTmp) writableRoots.AddRange(["/tmp", "/var/tmp"]);
        if (apivfs) writableRoots.AddRange(["/run", "/dev/shm", "/dev/mqueue"]);
        var allowed = new HashSet<string>(closure.SelectMany(AncestorsAndSelf), StringComparer.Ordinal) { "/" };
        var failures = new List<string>();
        foreach (var (path, level) in report.Paths)
        {
            if (level >= Accessibility.Sticky && !writableRoots.Any(r => Under(path, r)))
                failures.Add($"{path}: {level} outside the writable API directories");
            if (level == Accessibility.Special && !report.SpecialFileSystems.Contains(path) && !Under(path, "/dev"))
                failures.Add($"{path}: a writable node outside /dev");
            string? api = s_apiDirectories.Append(state ?? "/proc").FirstOrDefault(a => Under(path, a));
            if (api is null && !allowed.Contains(path))
                failures.Add($"{path}: neither a closure entry nor a parent of one");
            if (api is "/tmp" or "/var/tmp" && !privateTmp)
                failures.Add($"{path}: present without PrivateTmp");
            if (api is "/proc" or "/sys" or "/dev" or "/run" && !apivfs)
                failures.Add($"{path}: present in chroot-only mode");
        }
        foreach (string fs in report.SpecialFileSystems)
            if (fs is not ("/proc" or "/sys"))
                failures.Add($"{fs}: a procfs/sysfs at an unexpected place");
        Assert.True(failures.Count == 0, string.Join('\n', failures) + "\n" + run.Stdout);
    }

    /// <summary>checkperms' table for the case, translated: the module's `bin` and `nix` become every top-level
    /// entry of this closure (bin, usr, lib, lib64 and var, where the walker lives).</summary>
    private static Dictionary<string, Accessibility> ExpectedTable(Identity who, bool apivfs, bool privateTmp, string[] closure)
    {
        var table = new Dictionary<string, Accessibility>(StringComparer.Ordinal);
        foreach (string top in closure.Select(p => "/" + p.Split('/', StringSplitOptions.RemoveEmptyEntries)[0]).Distinct())
            table[top] = Accessibility.Readable;
        if (privateTmp)
        {
            table["/tmp"] = Accessibility.Sticky;
            table["/var"] = Accessibility.Readable;
            table["/var/tmp"] = Accessibility.Sticky;
        }
        if (apivfs)
        {
            table["/proc"] = Accessibility.Special;
            table["/sys"] = Accessibility.Special;
            switch (who)
            {
                case Identity.Root:
                    table["/run"] = Accessibility.Writable;
                    table["/dev"] = Accessibility.Writable;
                    break;
                case Identity.StaticUser:
                    table["/run"] = Accessibility.Sticky;
                    table["/dev"] = Accessibility.Special;
                    table["/dev/shm"] = Accessibility.Sticky;
                    table["/dev/mqueue"] = Accessibility.Sticky;
                    break;
                default:
                    // The caller's own user namespace owns every mount it makes: /run is its tmpfs. No mqueue:
                    // a new instance needs an IPC namespace the caller owns.
                    table["/run"] = Accessibility.Writable;
                    table["/dev"] = Accessibility.Special;
                    table["/dev/shm"] = Accessibility.Sticky;
                    break;
            }
        }
        return table;
    }

    private static bool Under(string path, string root) =>
        path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    private static IEnumerable<string> AncestorsAndSelf(string path)
    {
        for (string? p = path; p is not null && p != "/"; p = Path.GetDirectoryName(p))
            yield return p;
    }
}
