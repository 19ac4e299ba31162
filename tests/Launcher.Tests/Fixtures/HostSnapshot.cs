namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>The host state every run must leave untouched (DESIGN §6.1, §6.6): this process's mount table and
/// the entries of /tmp and /run.</summary>
public sealed record HostSnapshot(string MountInfo, string[] Tmp, string[] Run)
{
    public static HostSnapshot Take() => new(
        File.ReadAllText("/proc/self/mountinfo"),
        List("/tmp"),
        List("/run"));

    // Build tools sharing this machine create these in /tmp on their own; they are not ours to judge.
    private static readonly string[] s_foreignPrefixes = ["/tmp/MSBuild", "/tmp/.dotnet", "/tmp/dotnet-", "/tmp/clr-debug-pipe",
        "/tmp/VBCSCompiler", "/tmp/NuGetScratch", "/tmp/.NETCore", "/tmp/Microsoft", "/tmp/xunit", "/tmp/tmp", "/tmp/cc"];

    // util-linux's mount(8) keeps its utab in /run/mount, created on first use by any mount on the host.
    private static readonly string[] s_foreignEntries = ["/run/mount"];

    // mktemp(1)'s default /tmp/tmp.XXXXXXXXXX and 6-character names from other processes on this machine.
    private static bool IsMktempName(string path) =>
        path.StartsWith("/tmp/", StringComparison.Ordinal) &&
        System.Text.RegularExpressions.Regex.IsMatch(path[5..], "^(tmp\\.)?[A-Za-z0-9]{6,10}$");

    private static string[] List(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFileSystemEntries(dir).Where(e => !s_foreignPrefixes.Any(f => e.StartsWith(f, StringComparison.Ordinal)) &&
                !s_foreignEntries.Contains(e) && !IsMktempName(e))
                .Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>Asserts the mount table is identical and nothing new appeared in /tmp or /run.</summary>
    public void AssertUnchanged()
    {
        HostSnapshot now = Take();
        Assert.Equal(MountInfo, now.MountInfo);
        Assert.Empty(now.Tmp.Except(Tmp));
        Assert.Empty(now.Run.Except(Run));
    }
}
