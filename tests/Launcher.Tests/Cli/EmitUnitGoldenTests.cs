using ConfineExec.Launcher.CommandLine;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.CliTests;

/// <summary>The real closure engine on a real program: the drop-in binds exactly what --print-closure lists.</summary>
public class EmitUnitGoldenTests
{
    static (int Rc, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = Cli.Run(args, o, e, new CliServices()); // the live engine, no closure cache
        return (rc, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData("/usr/bin/git")]
    [InlineData("/bin/ls")]
    public void EmitUnit_RealProgram_BindReadOnlyPathsEqualPrintClosure(string program)
    {
        Assert.SkipUnless(File.Exists(program), $"{program} is not installed");
        var (rc, closureText, err) = Run("--print-closure", program);
        Assert.True(rc == 0, err);
        string[] closure = closureText.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        (rc, string unit, err) = Run("--emit-unit", program);
        Assert.True(rc == 0, err);
        string[] lines = unit.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("[Service]", lines);
        List<List<string>> binds = [.. lines.Where(l => l.StartsWith("BindReadOnlyPaths=", StringComparison.Ordinal))
                                            .Select(l => UnitValue.BindFields(l["BindReadOnlyPaths=".Length..]))];

        // One line per closure entry, the destination being the entry's path.
        Assert.Equal(closure.Order(StringComparer.Ordinal), binds.Select(b => b[^1]).Order(StringComparer.Ordinal));
        foreach (List<string> b in binds)
        {
            Assert.InRange(b.Count, 1, 2);
            string dest = b[^1];
            var info = new FileInfo(dest);
            if (info.LinkTarget is not null || dest == "/bin/sh")
            {
                // A link folded as TARGET:LINK, TARGET fully resolved (readlink -e) and not itself a link.
                Assert.Equal(2, b.Count);
                Assert.Equal(HostPaths.RealPath(dest), b[0]);
                Assert.Null(new FileInfo(b[0]).LinkTarget);
            }
            else
            {
                Assert.Single(b);
            }
        }
        Assert.Contains(binds, b => b[^1] == "/bin/sh");
        Assert.Contains(binds, b => b[^1] == HostPaths.RealPath(program)); // /bin/ls: the entry is /usr/bin/ls (and the /bin link)
    }
}
