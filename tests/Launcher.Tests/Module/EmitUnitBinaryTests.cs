using System.Text.RegularExpressions;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// <c>--emit-unit</c> from the published binary, as far as a machine without systemd can check a drop-in: every
/// line is a comment, the [Service] header or a KEY=VALUE assignment of a directive systemd.exec(5) knows; the
/// BindReadOnlyPaths= list equals --print-closure (links folded TARGET:LINK, TARGET fully resolved); every bind
/// source exists on the host. The golden case is /usr/bin/git, as in issue 4.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed partial class EmitUnitBinaryTests(ConfineExecFixture fixture)
{
    private static readonly HashSet<string> s_directives = new(StringComparer.Ordinal)
    {
        "RootDirectory", "RuntimeDirectory", "ReadOnlyPaths", "InaccessiblePaths", "PrivateMounts", "MountAPIVFS",
        "PrivateDevices", "PrivateTmp", "PrivateUsers", "ProtectControlGroups", "ProtectKernelModules",
        "ProtectKernelTunables", "BindReadOnlyPaths", "BindPaths", "User", "Group", "SupplementaryGroups",
        "StateDirectory", "WorkingDirectory", "Environment", "UMask", "NoNewPrivileges",
    };

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]*=.*$")]
    private static partial Regex Assignment();

    public static TheoryData<string[], string[]> Commands => new()
    {
        { [], ["/usr/bin/git"] },
        { ["--mode", "chroot-only"], ["/usr/bin/git"] },
        { ["-p", "User=daemon", "-p", "StateDirectory=foo", "-p", "BindReadOnlyPaths=-/etc/resolv.conf"], ["/usr/bin/git", "--version"] },
        { ["--bin-sh", "/usr/bin/id"], ["/bin/ls", "-l"] },
        { ["--bin-sh", "none"], ["/usr/bin/env"] },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void EmitUnit_PublishedBinary_SystemdSyntaxAndBindsEqualPrintClosure(string[] options, string[] command)
    {
        Assert.SkipUnless(File.Exists(command[0]), $"{command[0]} is not installed");
        RunResult closureRun = fixture.Run(["--print-closure", .. options, "--", .. command]);
        Assert.True(closureRun.ExitCode == 0, closureRun.ToString());
        string[] closure = closureRun.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        RunResult unitRun = fixture.Run(["--emit-unit", .. options, "--", .. command]);
        Assert.True(unitRun.ExitCode == 0, unitRun.ToString());
        string[] lines = unitRun.Stdout.Split('\n');
        Assert.Equal("", lines[^1]); // ends with a newline
        int header = Array.IndexOf(lines, "[Service]");
        Assert.True(header >= 0 && Array.LastIndexOf(lines, "[Service]") == header, unitRun.Stdout);
        var userBinds = options.Where((a, i) => i > 0 && options[i - 1] == "-p" && a.StartsWith("BindReadOnlyPaths=", StringComparison.Ordinal))
            .Select(a => a["BindReadOnlyPaths=".Length..]).ToHashSet(StringComparer.Ordinal);
        var closureBinds = new List<List<string>>();
        for (int i = 0; i < lines.Length - 1; i++)
        {
            string l = lines[i];
            if (l.Length == 0 || l.StartsWith('#') || l.StartsWith(';') || i == header) continue;
            Assert.True(i > header, $"line {i + 1} before [Service]: {l}");
            Assert.Matches(Assignment(), l);
            string key = l[..l.IndexOf('=')], value = l[(key.Length + 1)..];
            Assert.Contains(key, s_directives);
            // The only specifier used is %n; a literal % is written %%.
            Assert.DoesNotMatch("%[^n]", value.Replace("%%", "", StringComparison.Ordinal));
            if (key == "BindReadOnlyPaths" && !userBinds.Contains(value)) closureBinds.Add(UnitValue.BindFields(value));
        }

        // One line per closure entry, the destination being the entry's path; every source exists, is no symlink
        // (systemd cannot bind one), and is what the destination resolves to on the host (readlink -e).
        Assert.Equal(closure.Order(StringComparer.Ordinal), closureBinds.Select(b => b[^1]).Order(StringComparer.Ordinal));
        foreach (List<string> b in closureBinds)
        {
            Assert.InRange(b.Count, 1, 2);
            string source = b[0];
            Assert.True(File.Exists(source) || Directory.Exists(source), $"bind source {source} does not exist");
            Assert.Null(new FileInfo(source).LinkTarget);
            if (b.Count == 2)
                Assert.Equal(ReadlinkE(b[1] == "/bin/sh" ? SourceOfBinSh(options) : b[1]), source);
        }
        Assert.Equal(!options.Contains("none"), closureBinds.Any(b => b[^1] == "/bin/sh"));
        foreach (string bind in userBinds)
            Assert.Contains("BindReadOnlyPaths=" + bind, lines);
    }

    private static string SourceOfBinSh(string[] options)
    {
        int i = Array.IndexOf(options, "--bin-sh");
        return i >= 0 ? options[i + 1] : "/bin/sh";
    }

    private static string ReadlinkE(string path)
    {
        RunResult r = ProcessRunner.Run(["readlink", "-e", path]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.TrimEnd('\n');
    }
}
