using System.Text.Json;
using ConfineExec.Launcher.Output;
using ConfineExec.Launcher.Planning;
using ConfineExec.Launcher.Tests.PlanningTests;

namespace ConfineExec.Launcher.Tests.CliTests;

public class OutputTests
{
    [Fact]
    public void LazyWriter_NothingWritten_NeverCreatesItsWriter()
    {
        int created = 0;
        var w = new LazyWriter(() => { created++; return new StringWriter(); }, System.Text.Encoding.UTF8);
        w.Flush();
        w.Dispose();
        Assert.Equal(0, created);
    }

    [Fact]
    public void LazyWriter_EveryWriteForm_ReachesOneWriterInOrder()
    {
        int created = 0;
        var inner = new StringWriter { NewLine = "\n" };
        var w = new LazyWriter(() => { created++; return inner; }, System.Text.Encoding.UTF8) { NewLine = "\n" };
        w.Write('a');
        w.Write("bc");
        w.Write("de".AsSpan());
        w.Write(['f', 'g', 'h'], 1, 2);
        w.WriteLine("i");
        w.WriteLine("j".AsSpan());
        w.WriteLine();
        w.Write($"k{1}");
        w.Flush();
        Assert.Equal("abcdegh" + "i\nj\n\nk1", inner.ToString());
        Assert.Equal(1, created);
    }

    [Fact]
    public void PrintPaths_GitClosure_OnePathPerLineSorted()
    {
        var w = new StringWriter();
        ClosurePrinter.PrintPaths(PlanFixtures.GitClosure(), w);
        string[] lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(PlanFixtures.GitClosure().Entries.Select(e => e.Path).Order(StringComparer.Ordinal), lines);
        Assert.All(lines, l => Assert.StartsWith("/", l));
    }

    [Fact]
    public void PrintJson_GitClosure_HasTheDocumentedShape()
    {
        var w = new StringWriter();
        ClosurePrinter.PrintJson(PlanFixtures.GitClosure(), w);
        using var doc = JsonDocument.Parse(w.ToString());
        Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
        Assert.Equal(PlanFixtures.GitClosure().Entries.Count, doc.RootElement.GetArrayLength());
        foreach (JsonElement o in doc.RootElement.EnumerateArray())
            Assert.Equal(["kind", "neededBy", "path", "reason", "target"], o.EnumerateObject().Select(p => p.Name).Order());
        JsonElement libz = doc.RootElement.EnumerateArray().Single(o => o.GetProperty("path").GetString() == "/usr/lib/x86_64-linux-gnu/libz.so.1");
        Assert.Equal("symlink", libz.GetProperty("kind").GetString());
        Assert.Equal("libz.so.1.2.13", libz.GetProperty("target").GetString());
        Assert.Equal("/usr/bin/git", libz.GetProperty("neededBy").GetString());
        JsonElement git = doc.RootElement.EnumerateArray().Single(o => o.GetProperty("path").GetString() == "/usr/bin/git");
        Assert.Equal("file", git.GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, git.GetProperty("target").ValueKind);
        Assert.Equal(JsonValueKind.Null, git.GetProperty("neededBy").ValueKind);
        Assert.Equal("program", git.GetProperty("reason").GetString());
    }

    [Fact]
    public void Explain_GitClosure_PrintsTreeByNeededBy()
    {
        var w = new StringWriter();
        ExplainPrinter.Print(PlanFixtures.GitClosure(), w);
        Assert.Equal("""
            /usr/bin/git (program)
              /lib64 -> usr/lib64 (symlink hop)
              /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 (interpreter)
              /usr/lib/x86_64-linux-gnu/libc.so.6 (needed via ld.so.cache)
              /usr/lib/x86_64-linux-gnu/libz.so.1 -> libz.so.1.2.13 (needed via ld.so.cache)
                /usr/lib/x86_64-linux-gnu/libz.so.1.2.13 (symlink hop)
              /usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 (interpreter)
                /lib -> usr/lib (symlink hop)
            /bin/sh -> /usr/bin/dash (/bin/sh)
            /usr/bin/dash (/bin/sh)

            """, w.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void EmitUnit_GitClosure_FoldsLinksAndSetsTheModulesServiceConfig()
    {
        var options = PlanFixtures.Options() with { Properties = [new("User", "svc"), new("PrivateTmp", "no"), new("BindReadOnlyPaths", "/etc")] };
        options = options with { Switches = options.Switches.With("PrivateTmp", false) };
        var w = new StringWriter();
        UnitEmitter.Emit(options, PlanFixtures.GitClosure(), w);
        string[] lines = w.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] unit = [.. lines.SkipWhile(l => l != "[Service]")];
        Assert.Equal(
        [
            "[Service]",
            "RootDirectory=/run/confinement/%n",
            "RuntimeDirectory=confinement/%n",
            "ReadOnlyPaths=+/",
            "InaccessiblePaths=-+/run/confinement/%n",
            "PrivateMounts=yes",
            "MountAPIVFS=yes",
            "PrivateDevices=yes",
            "PrivateTmp=no",
            "PrivateUsers=yes",
            "ProtectControlGroups=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelTunables=yes",
            "InaccessiblePaths=-+/tmp",
            "InaccessiblePaths=-+/var/tmp",
            "BindReadOnlyPaths=/usr/bin/dash:/bin/sh",
            "BindReadOnlyPaths=/usr/lib:/lib",
            "BindReadOnlyPaths=/usr/lib64:/lib64",
            "BindReadOnlyPaths=/usr/bin/dash",
            "BindReadOnlyPaths=/usr/bin/git",
            "BindReadOnlyPaths=/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "BindReadOnlyPaths=/usr/lib/x86_64-linux-gnu/libc.so.6",
            "BindReadOnlyPaths=/usr/lib/x86_64-linux-gnu/libz.so.1.2.13:/usr/lib/x86_64-linux-gnu/libz.so.1",
            "BindReadOnlyPaths=/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
            "BindReadOnlyPaths=/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2:/usr/lib64/ld-linux-x86-64.so.2",
            "# A directory link (e.g. /lib -> usr/lib) is bound as its whole target: systemd cannot create symlinks.",
            "User=svc",
            "BindReadOnlyPaths=/etc",
        ], unit);
        Assert.Contains("# ExecStart=/usr/bin/git status", lines);
    }

    [Fact]
    public void EmitUnit_ChrootOnly_SetsAllSevenSwitchesToNo()
    {
        var w = new StringWriter();
        UnitEmitter.Emit(PlanFixtures.Options(ConfinementMode.ChrootOnly), PlanFixtures.GitClosure(), w);
        foreach (string name in ConfinementSwitches.Names) Assert.Contains($"\n{name}=no\n", w.ToString());
    }

    [Fact]
    public void EmitUnit_PathWithSpecialCharacters_IsEscapedForSystemd()
    {
        var closure = new ConfineExec.Elf.Closure
        {
            ProgramPath = "/opt/a b/100%/x:y",
            Entries = [new("/opt/a b/100%/x:y", ConfineExec.Elf.ClosureEntryKind.File, null, "program", null)],
        };
        var w = new StringWriter();
        UnitEmitter.Emit(PlanFixtures.Options(), closure, w);
        Assert.Contains("BindReadOnlyPaths=\"/opt/a b/100%%/x\\:y\"\n", w.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void DryRun_FullApiVfsAsRootWithUser_PrintsCredentialOrder()
    {
        var creds = new TargetCredentials(1001, 1002, [1002], "svc");
        LaunchPlan plan = PlanFixtures.Build(PlanFixtures.Options() with { Umask = 0x3f, NewSession = true }, PlanFixtures.Root, creds);
        var w = new StringWriter();
        DryRunPrinter.Print(plan, w);
        string[] lines = w.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["strategy forked-child", "unshare mount", "make-rslave /", "root-tmpfs mode=755"], lines[..4]);
        Assert.Equal(plan.Ops.Select(o => o.ToString()), lines[3..(3 + plan.Ops.Length)]);
        Assert.Equal(
        [
            "remount-ro / (root mount only)", "pivot-root", "setgroups 1002", "setresgid 1002",
            "unshare user after-mounts", "setgroups-file deny", "gid-map 0 0 1", "gid-map 1002 1002 1",
            "uid-map 0 0 1", "uid-map 1001 1001 1", "drop-bounding-caps 16,17,27", "setresuid 1001", "umask 0077",
            "setsid", "no-new-privs", "chdir /", "close-fds above 2", "exec /usr/bin/git", "argv git status", "env 1 variables",
        ], lines[(3 + plan.Ops.Length)..]);
    }

    [Fact]
    public void DryRun_Unprivileged_PrintsUserNamespaceBeforeMounts()
    {
        LaunchPlan plan = PlanFixtures.Build(PlanFixtures.Options(), PlanFixtures.Unprivileged);
        var w = new StringWriter();
        DryRunPrinter.Print(plan, w);
        string text = w.ToString().ReplaceLineEndings("\n");
        Assert.StartsWith("strategy forked-child\nunshare user before-mounts\nsetgroups-file deny\ngid-map 100 100 1\nuid-map 1000 1000 1\nunshare mount\nmake-rslave /\nroot-tmpfs", text);
        Assert.Contains("\nsetgroups keep\n", text);
    }
}
