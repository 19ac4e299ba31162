namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// checkperms.assert_permissions over a <see cref="PermissionWalker.Report"/> (reference/systemd-confinement.md
/// §2.2): the walk starts with bound Writable for uid 0, else Readable; a listed path's level becomes the bound
/// for it and everything below it; a path fails if its level exceeds its bound; a live procfs/sysfs must be
/// listed, exactly as Special; every listed path must exist.
/// </summary>
public static class CheckPerms
{
    public static void AssertPermissions(PermissionWalker.Report report, IReadOnlyDictionary<string, Accessibility> expected)
    {
        Accessibility start = report.Uid == 0 ? Accessibility.Writable : Accessibility.Readable;
        var failures = new List<string>(report.Errors);
        foreach (var (path, level) in report.Paths)
        {
            if (report.SpecialFileSystems.Contains(path))
            {
                if (!expected.TryGetValue(path, out Accessibility listed) || listed != Accessibility.Special)
                    failures.Add($"{path}: a live procfs/sysfs where none is expected");
                continue;
            }
            Accessibility bound = BoundOf(path, expected, start);
            if (level > bound)
                failures.Add($"{path}: {level}, at most {bound} allowed");
        }
        foreach (string path in expected.Keys)
            if (!report.Paths.ContainsKey(path))
                failures.Add($"{path}: expected to exist");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    /// <summary>The level of the nearest listed path at or above <paramref name="path"/>.</summary>
    public static Accessibility BoundOf(string path, IReadOnlyDictionary<string, Accessibility> expected, Accessibility start)
    {
        for (string? p = path; p is not null; p = p == "/" ? null : Path.GetDirectoryName(p))
            if (expected.TryGetValue(p, out Accessibility level))
                return level;
        return start;
    }
}
