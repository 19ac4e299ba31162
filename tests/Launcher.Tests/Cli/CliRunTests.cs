using ConfineExec.Elf;
using ConfineExec.Launcher.CommandLine;
using ConfineExec.Launcher.Execution;
using ConfineExec.Launcher.Planning;
using ConfineExec.Launcher.Tests.PlanningTests;

namespace ConfineExec.Launcher.Tests.CliTests;

/// <summary><see cref="Cli.Run(IReadOnlyList{string}, TextWriter, TextWriter, CliServices)"/> end to end with
/// a hand-made closure and a recording executor: wiring, exit codes, laziness.</summary>
public class CliRunTests
{
    sealed class Recorder
    {
        public ClosureRequest? Request;
        public LaunchPlan? Plan;
        public bool UserDbOpened;
    }

    static CliServices Services(Recorder r, Func<ClosureRequest, Closure>? closure = null, int exitCode = 0) => new()
    {
        BuildClosure = req => { r.Request = req; return (closure ?? (_ => PlanFixtures.GitClosure()))(req); },
        Execute = plan => { r.Plan = plan; return exitCode; },
        DetectHost = () => PlanFixtures.Root,
        OpenUserDatabase = () => { r.UserDbOpened = true; throw new InvalidOperationException("passwd read"); },
        Environment = [new("PATH", "/usr/bin:/bin"), new("HOME", "/root")],
        PathExists = p => p is "/usr/bin" or "/bin",
    };

    static (int Rc, string Out, string Err) Run(CliServices services, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = Cli.Run(args, o, e, services);
        return (rc, o.ToString(), e.ToString());
    }

    [Fact]
    public void Run_Help_PrintsUsageEveryOptionAndExitCodes()
    {
        var r = new Recorder();
        var (rc, output, err) = Run(Services(r), "--help");
        Assert.Equal(0, rc);
        Assert.Equal("", err);
        Assert.StartsWith("Usage: confine-exec [OPTION]... [--] PROGRAM [ARG]...", output);
        foreach (string opt in new[] { "--mode", "--property", "--package", "--full-env", "--closure-file", "--bin-sh",
                     "--allow-missing", "--new-session", "--no-closure-cache", "CONFINE_EXEC_CACHE_DIR", "--print-closure", "--json", "--explain", "--dry-run", "--emit-unit",
                     "--help", "--version", "125", "126", "127" })
            Assert.Contains(opt, output);
        foreach (string name in PropertyParser.KnownNames) Assert.Contains(name + "=", output);
        Assert.Null(r.Request);
    }

    [Fact]
    public void Run_Version_PrintsNameAndVersion()
    {
        var (rc, output, _) = Run(Services(new Recorder()), "--version");
        Assert.Equal(0, rc);
        Assert.Matches(@"^confine-exec \d+\.\d+\.\d+\n$", output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Run_Program_BuildsClosureThenExecutesPlanAndReturnsItsStatus()
    {
        var r = new Recorder();
        var (rc, _, err) = Run(Services(r, exitCode: 42), "-p", "Environment=FOO=bar", "--bin-sh", "none", "--package", "/opt/x",
            "--allow-missing", "git", "status");
        Assert.Equal(42, rc);
        Assert.Equal("", err);
        Assert.Equal("git", r.Request!.Program);
        Assert.Null(r.Request.BinSh);
        Assert.Equal(["/opt/x"], r.Request.Packages);
        Assert.True(r.Request.AllowMissing);
        Assert.Equal("bar", r.Request.Environment["FOO"]);
        Assert.Equal(["git", "status"], r.Plan!.Argv);
        Assert.Contains("FOO=bar", r.Plan.Environment);
        Assert.False(r.UserDbOpened); // no User=/Group=: /etc/passwd is never read
    }

    [Fact]
    public void Run_DryRun_PrintsPlanAndExecutesNothing()
    {
        var r = new Recorder();
        var (rc, output, _) = Run(Services(r), "--dry-run", "git");
        Assert.Equal(0, rc);
        Assert.Null(r.Plan);
        Assert.Contains("\nroot-tmpfs mode=755\n", output);
        Assert.Contains("\nexec /usr/bin/git\n", output);
    }

    [Fact]
    public void Run_FullEnv_AddsExistingAbsolutePathsAsPackages()
    {
        var r = new Recorder();
        Run(Services(r), "--full-env", "--print-closure", "git");
        Assert.Equal(["/usr/bin", "/bin"], r.Request!.Packages); // PATH's; HOME=/root does not exist in this fake host
    }

    [Fact]
    public void Run_WithoutFullEnv_AddsNoEnvironmentPaths()
    {
        var r = new Recorder();
        Run(Services(r), "--print-closure", "git");
        Assert.Empty(r.Request!.Packages);
    }

    public static TheoryData<Exception, int, string> Failures => new()
    {
        { new ClosureException(ClosureError.ProgramNotFound, "nope", "program: nope: not found in PATH"), 127, "confine-exec: program: nope: not found in PATH" },
        { new ClosureException(ClosureError.ProgramNotExecutable, "/etc", "program: /etc: is a directory"), 126, "confine-exec: program: /etc: is a directory" },
        { new ClosureException(ClosureError.MissingLibrary, "/x", "library: libfoo.so.1: not found (needed by /x)"), 125, "confine-exec: library: libfoo.so.1: not found (needed by /x)" },
        { new ClosureException(ClosureError.ShebangTooDeep, "/s", "shebang: /s: loop"), 125, "confine-exec: shebang: /s: loop" },
        { new ElfFormatException("/x", 0x36, "e_phentsize", "is 12, expected 56"), 125, "confine-exec: /x: offset 0x36: e_phentsize is 12, expected 56" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Run_ClosureFailure_MapsToExitCodeWithOneLine(Exception failure, int code, string line)
    {
        var (rc, output, err) = Run(Services(new Recorder(), _ => throw failure), "git");
        Assert.Equal(code, rc);
        Assert.Equal(line + "\n", err.ReplaceLineEndings("\n"));
        Assert.Equal("", output);
    }

    [Fact]
    public void Run_LaunchException_ExitsWithItsCode()
    {
        var services = Services(new Recorder()) with { Execute = _ => throw new LaunchException("mount: /proc: EPERM (Operation not permitted)", 125) };
        var (rc, _, err) = Run(services, "git");
        Assert.Equal(125, rc);
        Assert.Equal("confine-exec: mount: /proc: EPERM (Operation not permitted)\n", err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Run_PlanBreaksARule_Exits125()
    {
        var services = Services(new Recorder()) with { DetectHost = () => PlanFixtures.Root with { PathExists = _ => false } };
        var (rc, _, err) = Run(services, "--dry-run", "-p", "BindReadOnlyPaths=/srv/gone", "git");
        Assert.Equal(125, rc);
        Assert.StartsWith("confine-exec: plan: /srv/gone: a bind source must exist on the host", err);
    }

    [Fact]
    public void Run_UnknownUser_Exits125NamingIt()
    {
        string dir = Directory.CreateTempSubdirectory("confine-exec-cli-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
            File.WriteAllText(Path.Combine(dir, "group"), "root:x:0:\n");
            var services = Services(new Recorder()) with { OpenUserDatabase = () => new UserDatabase(Path.Combine(dir, "passwd"), Path.Combine(dir, "group")) };
            var (rc, _, err) = Run(services, "-p", "User=nosuchuser", "git");
            Assert.Equal(125, rc);
            Assert.Equal($"confine-exec: User: nosuchuser: no such user in {dir}/passwd\n", err);

            var r = new Recorder();
            services = Services(r) with { OpenUserDatabase = () => new UserDatabase(Path.Combine(dir, "passwd"), Path.Combine(dir, "group")) };
            (rc, _, _) = Run(services, "-p", "WorkingDirectory=~", "git");
            Assert.Equal(0, rc);
            Assert.Equal("/root", r.Plan!.WorkingDirectory);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Run_ClosureFile_BindsListedPathsWithLinksResolved()
    {
        string dir = Directory.CreateTempSubdirectory("confine-exec-cf-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "store", "pkg"));
            File.WriteAllText(Path.Combine(dir, "store", "file"), "x");
            File.CreateSymbolicLink(Path.Combine(dir, "store", "link"), "file");
            string list = Path.Combine(dir, "store-paths");
            File.WriteAllLines(list, [$"{dir}/store/pkg", $"{dir}/store/link", "", $"{dir}/store/file"]);
            var r = new Recorder();
            var services = Services(r) with { DetectHost = () => PlanFixtures.Root with { PathExists = HostPaths.Exists } };
            var (rc, output, err) = Run(services, "--print-closure", "--closure-file", list, "git");
            Assert.Equal(0, rc);
            Assert.Equal("", err);
            Assert.Contains($"{dir}/store/link\n", output);
            Assert.Contains($"{dir}/store/pkg\n", output);

            (rc, output, _) = Run(services, "--emit-unit", "--closure-file", list, "git");
            Assert.Equal(0, rc);
            string realDir = HostPaths.RealPath(dir)!;
            Assert.Contains($"BindReadOnlyPaths={realDir}/store/file:{dir}/store/link\n", output);
            Assert.Contains($"BindReadOnlyPaths={dir}/store/pkg\n", output);

            File.AppendAllLines(list, [$"{dir}/store/missing"]);
            (rc, _, err) = Run(services, "--print-closure", "--closure-file", list, "git");
            Assert.Equal(125, rc);
            Assert.Equal($"confine-exec: --closure-file: {dir}/store/missing: does not exist\n", err);
        }
        finally { Directory.Delete(dir, true); }
    }
}
