using Xunit.Sdk;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>The checkperms port rejects what the module's checker rejects (hand-made walker reports).</summary>
public sealed class CheckPermsTests
{
    private static PermissionWalker.Report Report(uint uid, string output) => PermissionWalker.Parse($"ids {uid} {uid}\n{output}");

    private static readonly Dictionary<string, Accessibility> s_table = new(StringComparer.Ordinal)
    {
        ["/bin"] = Accessibility.Readable,
        ["/tmp"] = Accessibility.Sticky,
        ["/proc"] = Accessibility.Special,
    };

    [Fact]
    public void AssertPermissions_WithinBounds_Passes() =>
        CheckPerms.AssertPermissions(Report(1, "R /\nR /bin\nR /bin/sh\nT /tmp\nR /tmp/x\nF /proc\n"), s_table);

    [Theory]
    [InlineData(1u, "R /\nR /bin\nW /bin/sh\nT /tmp\nF /proc\n", "/bin/sh: Writable, at most Readable")]
    [InlineData(1u, "R /\nR /bin\nT /tmp\nF /proc\nW /usr\n", "/usr: Writable, at most Readable")] // unlisted: the start bound
    [InlineData(1u, "R /\nR /bin\nT /tmp\nF /proc\nF /srv\n", "/srv: a live procfs/sysfs")]
    [InlineData(1u, "R /\nR /bin\nF /proc\n", "/tmp: expected to exist")]
    [InlineData(0u, "R /\nR /bin\nT /tmp\nF /proc\nE /x create: Input/output error\n", "E /x")]
    public void AssertPermissions_Violation_FailsNamingPath(uint uid, string output, string message)
    {
        var e = Assert.ThrowsAny<XunitException>(() => CheckPerms.AssertPermissions(Report(uid, output), s_table));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AssertPermissions_Root_StartBoundIsWritable() =>
        CheckPerms.AssertPermissions(Report(0, "R /\nR /bin\nT /tmp\nF /proc\nW /usr\n"), s_table);
}
