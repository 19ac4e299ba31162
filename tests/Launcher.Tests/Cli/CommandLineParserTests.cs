using ConfineExec.Launcher.CommandLine;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Tests.CliTests;

public class CommandLineParserTests
{
    static LaunchOptions Parse(params string[] args) => CommandLineParser.Parse(args);

    [Theory]
    [InlineData(new[] { "ls", "-l" }, "ls", new[] { "-l" })]
    [InlineData(new[] { "--", "ls", "-l" }, "ls", new[] { "-l" })]
    [InlineData(new[] { "--dry-run", "--", "--weird-name", "--" }, "--weird-name", new[] { "--" })]
    [InlineData(new[] { "-p", "PrivateTmp=no", "ls", "-p", "x" }, "ls", new[] { "-p", "x" })]
    [InlineData(new[] { "--mode", "chroot-only", "/bin/echo", "--mode" }, "/bin/echo", new[] { "--mode" })]
    [InlineData(new[] { "--mode=chroot-only", "sh", "-c", "echo ok" }, "sh", new[] { "-c", "echo ok" })]
    [InlineData(new[] { "-", "a" }, "-", new[] { "a" })]
    public void Parse_FirstNonOptionOrDoubleDash_EndsLauncherOptions(string[] args, string program, string[] rest)
    {
        LaunchOptions o = Parse(args);
        Assert.Equal(program, o.Program);
        Assert.Equal(rest, o.Arguments);
    }

    /// <summary>Plain <c>-p VALUE</c> pairs are taken before System.CommandLine parses the rest; any other spelling
    /// among them sends every property through System.CommandLine. Both give the same properties in the same order.</summary>
    [Theory]
    [InlineData("plain", new[] { "-p", "User=a", "--property", "Group=b", "-p", "User=c", "--mode", "chroot-only" })]
    [InlineData("--property=", new[] { "-p", "User=a", "--property=Group=b", "-p", "User=c", "--mode", "chroot-only" })]
    [InlineData("-p=", new[] { "-p=User=a", "--property", "Group=b", "-p", "User=c", "--mode=chroot-only" })]
    [InlineData("-p:", new[] { "--mode", "chroot-only", "-p", "User=a", "-p:Group=b", "-p", "User=c" })]
    public void Parse_PropertiesInAnySpelling_KeepTheirOrder(string spelling, string[] options)
    {
        LaunchOptions o = Parse([.. options, "ls"]);
        Assert.True(o.Properties.SequenceEqual([new("User", "a"), new("Group", "b"), new("User", "c")]), spelling);
        Assert.Equal("c", o.User);
        Assert.Equal(ConfinementMode.ChrootOnly, o.Mode);
        Assert.Equal("ls", o.Program);
    }

    /// <summary>Command lines in the plain spelling, which are read without System.CommandLine.</summary>
    public static TheoryData<string[]> PlainCommandLines => new()
    {
        { ["ls"] },
        { ["--", "/usr/bin/true"] },
        { ["--mode", "chroot-only", "--", "/usr/bin/true", "-x", "--mode"] },
        { ["--mode", "full-apivfs", "-p", "PrivateTmp=no", "-p", "User=nobody", "--property", "BindReadOnlyPaths=/etc", "ls", "-l"] },
        { ["-p", "Environment=A=1 \"B=two words\"", "-p", "Environment=", "-p", "UMask=0077", "sh", "-c", "echo ok"] },
        { ["--package", "/opt/a", "--package", "/opt/b", "--full-env", "--closure-file", "/tmp/paths", "--bin-sh", "none", "git"] },
        { ["--allow-missing", "--new-session", "--no-closure-cache", "--dry-run", "--bin-sh", "/usr/bin/bash", "ls"] },
        { ["--print-closure", "--json", "/usr/bin/gdb"] },
        { ["--explain", "-p", "WorkingDirectory=~", "ls"] },
        { ["--emit-unit", "-p", "User=svc", "-p", "SupplementaryGroups=audio video", "--mode", "chroot-only", "ls"] },
        { ["-p", "PrivateUsers=yes", "-p", "PrivateUsers=", "-p", "BindPaths=-/nope:/x:norbind", "--", "--weird-name"] },
    };

    /// <summary>The plain reading gives exactly what System.CommandLine gives for the same command line.</summary>
    [Theory]
    [MemberData(nameof(PlainCommandLines))]
    public void Parse_PlainSpelling_ReadWithoutSystemCommandLineAsItWould(string[] args)
    {
        Assert.True(CommandLineParser.ReadsPlainly(args));
        Assert.Equal(Describe(CommandLineParser.Parse(args, plainReading: false)), Describe(CommandLineParser.Parse(args)));
    }

    /// <summary>Any other spelling, and anything System.CommandLine might read otherwise or reject.</summary>
    public static TheoryData<string[]> OtherCommandLines => new()
    {
        { ["--mode=chroot-only", "ls"] },
        { ["-p=User=a", "ls"] },
        { ["-pUser=a", "ls"] },
        { ["--property:User=a", "ls"] },
        { ["--mode", "chroot-only", "--mode", "full-apivfs", "ls"] },
        { ["--json", "--json", "--print-closure", "ls"] },
        { ["--bin-sh", "-x", "ls"] },
        { ["--package", "", "ls"] },
        { ["--closure-file", "@list", "ls"] },
        { ["--mode"] },
        { ["--frob", "ls"] },
        { ["--help"] },
        { ["-h", "ls"] },
        { ["--version"] },
    };

    /// <summary>These are left to System.CommandLine, which decides and reports.</summary>
    [Theory]
    [MemberData(nameof(OtherCommandLines))]
    public void Parse_OtherSpelling_LeftToSystemCommandLine(string[] args)
    {
        Assert.False(CommandLineParser.ReadsPlainly(args));
    }

    /// <summary>Every field of <paramref name="o"/>, lists and sets spelled out (the record's equality compares
    /// them by reference).</summary>
    static string Describe(LaunchOptions o) => string.Join("\n",
        $"mode={o.Mode} switches={o.Switches} overridden={string.Join(",", o.OverriddenSwitches.Order(StringComparer.Ordinal))}",
        $"user={o.User} group={o.Group} groups={string.Join(",", o.SupplementaryGroups)}",
        $"binds={string.Join(";", o.Binds)} state={string.Join(",", o.StateDirectories)} runtime={string.Join(",", o.RuntimeDirectories)}",
        $"wd={o.WorkingDirectory} wd-missing-ok={o.WorkingDirectoryMissingOk} env={string.Join(";", o.Environment)} umask={o.Umask} nnp={o.NoNewPrivileges}",
        $"packages={string.Join(",", o.Packages)} fullenv={o.FullEnv} closurefile={o.ClosureFile} binsh={o.BinSh}",
        $"allowmissing={o.AllowMissing} newsession={o.NewSession} nocache={o.NoClosureCache} action={o.Action} json={o.Json}",
        $"properties={string.Join(";", o.Properties)} program={o.Program} args={string.Join("\u0001", o.Arguments)}");

    [Fact]
    public void Parse_Defaults_AreFullApiVfsWithBinSh()
    {
        LaunchOptions o = Parse("ls");
        Assert.Equal(ConfinementMode.FullApiVfs, o.Mode);
        Assert.Equal(ConfinementSwitches.For(ConfinementMode.FullApiVfs), o.Switches);
        Assert.Equal("/bin/sh", o.BinSh);
        Assert.Equal(LauncherAction.Run, o.Action);
        Assert.False(o.NewSession);
        Assert.False(o.FullEnv);
        Assert.False(o.AllowMissing);
        Assert.False(o.NoClosureCache);
        Assert.Empty(o.Packages);
    }

    [Theory]
    [InlineData("--dry-run", LauncherAction.DryRun)]
    [InlineData("--print-closure", LauncherAction.PrintClosure)]
    [InlineData("--explain", LauncherAction.Explain)]
    [InlineData("--emit-unit", LauncherAction.EmitUnit)]
    [InlineData("--help", LauncherAction.Help)]
    [InlineData("-h", LauncherAction.Help)]
    [InlineData("--version", LauncherAction.Version)]
    public void Parse_ActionFlag_SelectsAction(string flag, LauncherAction action)
    {
        Assert.Equal(action, Parse(flag, "ls").Action);
    }

    [Fact]
    public void Parse_EveryFlagAndValueOption_IsRead()
    {
        LaunchOptions o = Parse("--mode", "chroot-only", "--package", "/opt/a", "--package=/opt/b", "--full-env",
            "--closure-file", "/tmp/paths", "--bin-sh", "/usr/bin/bash", "--allow-missing", "--new-session",
            "--no-closure-cache", "--print-closure", "--json", "git");
        Assert.Equal(ConfinementMode.ChrootOnly, o.Mode);
        Assert.Equal(ConfinementSwitches.For(ConfinementMode.ChrootOnly), o.Switches);
        Assert.Equal(["/opt/a", "/opt/b"], o.Packages);
        Assert.True(o.FullEnv);
        Assert.Equal("/tmp/paths", o.ClosureFile);
        Assert.Equal("/usr/bin/bash", o.BinSh);
        Assert.True(o.AllowMissing);
        Assert.True(o.NewSession);
        Assert.True(o.NoClosureCache);
        Assert.True(o.Json);
        Assert.Equal(LauncherAction.PrintClosure, o.Action);
    }

    [Fact]
    public void Parse_BinShNone_MeansNoBinSh() => Assert.Null(Parse("--bin-sh", "none", "ls").BinSh);

    public static TheoryData<string> SwitchNames => [.. ConfinementSwitches.Names];

    [Theory]
    [MemberData(nameof(SwitchNames))]
    public void Parse_SwitchOverride_ChangesOnlyThatSwitch(string name)
    {
        foreach (var (value, expected) in new[] { ("no", false), ("false", false), ("0", false), ("off", false), ("NO", false) })
        {
            LaunchOptions o = Parse("-p", $"{name}={value}", "ls");
            Assert.Equal(ConfinementSwitches.For(ConfinementMode.FullApiVfs).With(name, expected), o.Switches);
            Assert.Contains(name, o.OverriddenSwitches);
        }
        foreach (string value in new[] { "yes", "true", "1", "on", "y", "t" })
            Assert.True(Parse("--mode", "chroot-only", "--property", $"{name}={value}", "ls").Switches.Get(name));
        // Empty assignment: back to the mode's default.
        Assert.True(Parse("-p", $"{name}=no", "-p", $"{name}=", "ls").Switches.Get(name));
    }

    public static TheoryData<string, BindSpec[]> BindValues => new()
    {
        { "BindReadOnlyPaths=/etc", [new("/etc", "/etc", true)] },
        { "BindPaths=/srv/data:/data", [new("/srv/data", "/data", false)] },
        { "BindPaths=-/nope", [new("/nope", "/nope", false, IgnoreMissing: true)] },
        { "BindReadOnlyPaths=/a:/b:norbind", [new("/a", "/b", true, Recursive: false)] },
        { "BindReadOnlyPaths=/a:/b:rbind", [new("/a", "/b", true)] },
        { "BindReadOnlyPaths=/a /b:/c \"/with space\":/x", [new("/a", "/a", true), new("/b", "/c", true), new("/with space", "/x", true)] },
        // Inside quotes ':' is not a separator (extract_first_word with EXTRACT_UNQUOTE).
        { "BindReadOnlyPaths=\"/q:uoted\"", [new("/q:uoted", "/q:uoted", true)] },
        { @"BindPaths=/with\:colon:/y", [new("/with:colon", "/y", false)] },
        { "BindPaths=//a/./b/:/c//d/", [new("/a/b", "/c/d", false)] },
        // Blanks in paths: each field quoted, or the blank escaped; \x20 stays "x20" (BindPaths= has no EXTRACT_CUNESCAPE).
        { "BindPaths=\"/a b\":\"/c d\"", [new("/a b", "/c d", false)] },
        { @"BindPaths=/a\ b:/c\ d", [new("/a b", "/c d", false)] },
        { "BindPaths=\"/a b\":/c \"/e f\"", [new("/a b", "/c", false), new("/e f", "/e f", false)] },
        { @"BindPaths=/a\x20b", [new("/ax20b", "/ax20b", false)] },
    };

    [Theory]
    [MemberData(nameof(BindValues))]
    public void Parse_BindProperty_FollowsSystemdSyntax(string property, BindSpec[] expected)
    {
        Assert.Equal(expected, Parse("-p", property, "ls").Binds);
    }

    [Fact]
    public void Parse_BindRepeatedAndReset_AppendsThenClears()
    {
        Assert.Equal(2, Parse("-p", "BindPaths=/a", "-p", "BindReadOnlyPaths=/b", "ls").Binds.Count);
        Assert.Equal([new BindSpec("/c", "/c", true)], Parse("-p", "BindPaths=/a", "-p", "BindReadOnlyPaths=", "-p", "BindReadOnlyPaths=/c", "ls").Binds);
    }

    [Fact]
    public void Parse_ScalarAndListProperties_AreRead()
    {
        LaunchOptions o = Parse(
            "-p", "User=svc", "-p", "Group=1002", "-p", "SupplementaryGroups=audio video", "-p", "SupplementaryGroups=27",
            "-p", "StateDirectory=testme other/sub", "-p", "RuntimeDirectory=rt", "-p", "WorkingDirectory=/var/lib//testme/",
            "-p", "Environment=A=1 \"B=two words\" C=", "-p", "Environment=D=\\\"q\\\"", "-p", "UMask=0077",
            "-p", "NoNewPrivileges=yes", "ls");
        Assert.Equal("svc", o.User);
        Assert.Equal("1002", o.Group);
        Assert.Equal(["audio", "video", "27"], o.SupplementaryGroups);
        Assert.Equal(["testme", "other/sub"], o.StateDirectories);
        Assert.Equal(["rt"], o.RuntimeDirectories);
        Assert.Equal("/var/lib/testme", o.WorkingDirectory);
        Assert.Equal([new("A", "1"), new("B", "two words"), new("C", ""), new("D", "\"q\"")], o.Environment);
        Assert.Equal(0x3f, o.Umask);
        Assert.True(o.NoNewPrivileges);
        Assert.Equal(11, o.Properties.Count);
    }

    [Fact]
    public void Parse_WorkingDirectoryTilde_IsKept() => Assert.Equal("~", Parse("-p", "WorkingDirectory=~", "ls").WorkingDirectory);

    /// <summary>systemd's '-' prefix: the directory (or ~) is kept and a failing chdir becomes non-fatal; a later
    /// assignment without it, or an empty one, takes that back.</summary>
    [Theory]
    [InlineData(new[] { "WorkingDirectory=-/srv//data/" }, "/srv/data", true)]
    [InlineData(new[] { "WorkingDirectory=-~" }, "~", true)]
    [InlineData(new[] { "WorkingDirectory=-/srv", "WorkingDirectory=/opt" }, "/opt", false)]
    [InlineData(new[] { "WorkingDirectory=-/srv", "WorkingDirectory=" }, null, false)]
    [InlineData(new[] { "WorkingDirectory=/srv" }, "/srv", false)]
    public void Parse_WorkingDirectoryDashPrefix_MakesAMissingDirectoryNonFatal(string[] properties, string? directory, bool missingOk)
    {
        LaunchOptions o = Parse([.. properties.SelectMany(p => new[] { "-p", p }), "ls"]);
        Assert.Equal(directory, o.WorkingDirectory);
        Assert.Equal(missingOk, o.WorkingDirectoryMissingOk);
    }

    [Fact]
    public void Parse_PropertyWithEqualsForm_IsRead() =>
        Assert.Equal("svc", Parse("--property=User=svc", "ls").User);
}
