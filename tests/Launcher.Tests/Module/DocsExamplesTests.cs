using System.Text.Json;
using System.Text.RegularExpressions;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// The examples in docs/usage-systemd-container.md, as far as this machine allows: the unit file is systemd
/// syntax and its ExecStart= plans cleanly (--dry-run) with the published binary; the Dockerfile's ENTRYPOINT +
/// CMD runs as pid 1 of a new pid namespace. The placeholder program /usr/bin/prog becomes /usr/bin/git, the
/// user "prog" becomes daemon, and the state directory gets a unique name.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed partial class DocsExamplesTests(ConfineExecFixture fixture) : IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();
    private readonly string _state = "confine-exec-docs-" + Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal);

    public void Dispose()
    {
        if (Directory.Exists("/var/lib/" + _state)) Directory.Delete("/var/lib/" + _state, recursive: true);
        _before.AssertUnchanged();
    }

    [GeneratedRegex("```(?<lang>[a-z]+)\\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    private static string Block(string lang)
    {
        string doc = File.ReadAllText(Path.Combine(ConfineExecFixture.FindRepository(), "docs", "usage-systemd-container.md"));
        return CodeBlock().Matches(doc).Single(m => m.Groups["lang"].Value == lang).Groups["body"].Value;
    }

    private string[] Substitute(IEnumerable<string> argv) =>
        [.. argv.Select(a => a switch
        {
            "/usr/local/bin/confine-exec" => fixture.Binary,
            "/usr/bin/prog" => "/usr/bin/git",
            "User=prog" => "User=daemon",
            "Group=prog" => "Group=daemon",
            "StateDirectory=prog" => "StateDirectory=" + _state,
            _ => a,
        })];

    [Fact]
    public void Docs_UnitFile_SystemdSyntaxAndExecStartPlans()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/git"), "/usr/bin/git is not installed");
        string[] lines = Block("ini").Split('\n');
        string? section = null;
        string? execStart = null;
        foreach (string l in lines.Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            if (Regex.IsMatch(l, "^\\[[A-Za-z]+\\]$")) { section = l; continue; }
            Assert.NotNull(section);
            Assert.Matches("^[A-Z][A-Za-z]*=\\S.*$", l);
            if (l.StartsWith("ExecStart=", StringComparison.Ordinal)) execStart = l["ExecStart=".Length..];
        }
        Assert.NotNull(execStart);
        Assert.DoesNotContain("%", execStart); // no specifiers to expand
        string[] argv = Substitute(execStart.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(fixture.Binary, argv[0]);
        RunResult r = ProcessRunner.Run([argv[0], "--dry-run", .. argv[1..]]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("exec /usr/bin/git", r.Stdout.Split('\n'));
        Assert.Contains("setresuid 1", r.Stdout.Split('\n'));
    }

    [Fact]
    public void Docs_DockerfileEntrypoint_RunsAsPid1OfNewPidNamespace()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/git"), "/usr/bin/git is not installed");
        string dockerfile = Block("dockerfile");
        string[] entrypoint = Json(dockerfile, "ENTRYPOINT");
        string[] cmd = Json(dockerfile, "CMD");
        // The image's CMD is a server; run the same program with --version so the run ends.
        string[] argv = Substitute([.. entrypoint, cmd[0], "--version"]);
        RunResult r = ProcessRunner.Run(["unshare", "--pid", "--fork", "--mount-proc", .. argv]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith("git version ", r.Stdout, StringComparison.Ordinal);
        Assert.True(Directory.Exists("/var/lib/" + _state));
    }

    private static string[] Json(string dockerfile, string instruction)
    {
        string line = dockerfile.Split('\n').Single(l => l.StartsWith(instruction + " ", StringComparison.Ordinal));
        using JsonDocument doc = JsonDocument.Parse(line[(instruction.Length + 1)..]);
        return [.. doc.RootElement.EnumerateArray().Select(e => e.GetString()!)];
    }
}
