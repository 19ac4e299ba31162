using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Tests.Planning;

public sealed class PathFlawsTests
{
    [Theory]
    [InlineData("/", PathFlaws.Empty)]
    [InlineData("", PathFlaws.Empty)]
    [InlineData("/a", PathFlaws.None)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", PathFlaws.None)]
    [InlineData("a/b", PathFlaws.None)]
    [InlineData("/a//b", PathFlaws.Empty)]
    [InlineData("/a/", PathFlaws.Empty)]
    [InlineData("//a", PathFlaws.Empty)]
    [InlineData("/a/./b", PathFlaws.Dot)]
    [InlineData("/.", PathFlaws.Dot)]
    [InlineData("/a/..", PathFlaws.DotDot)]
    [InlineData("../a", PathFlaws.DotDot)]
    [InlineData("/a/../b/./c//", PathFlaws.DotDot | PathFlaws.Dot | PathFlaws.Empty)]
    [InlineData("/.../.a/..b/a.", PathFlaws.None)]
    public void Scan_Path_GivesItsComponentFlaws(string path, PathFlaws expected) =>
        Assert.Equal(expected, PathFlawsOf.Scan(path));
}
