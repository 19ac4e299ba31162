using ConfineExec.Launcher.CommandLine;

namespace ConfineExec.Launcher.Tests.CliTests;

/// <summary>Malformed command lines: each gives exit 125 and exactly one stderr line
/// <c>confine-exec: &lt;what&gt;: &lt;value&gt;: &lt;reason&gt;</c>, with nothing run.</summary>
public class CommandLineErrorTests
{
    public static TheoryData<string[], string> Cases => new()
    {
        { ["--frob", "ls"], "confine-exec: option: --frob: unknown option (see --help)" },
        { ["-l", "ls"], "confine-exec: option: -l: unknown option (see --help)" },
        { ["-p", "PrivateTmp", "ls"], "confine-exec: --property: PrivateTmp: expected NAME=VALUE" },
        { ["-p", "Frob=1", "ls"], "confine-exec: --property: Frob=1: unknown property (see --help)" },
        { ["-p", "privatetmp=no", "ls"], "confine-exec: --property: privatetmp=no: unknown property (see --help)" },
        { ["-p", "PrivateTmp=maybe", "ls"], "confine-exec: PrivateTmp: maybe: not a boolean (yes/no, true/false, on/off, 1/0)" },
        { ["-p", "NoNewPrivileges=2", "ls"], "confine-exec: NoNewPrivileges: 2: not a boolean (yes/no, true/false, on/off, 1/0)" },
        { ["-p", "User=bad:name", "ls"], "confine-exec: User: bad:name: not a valid user or group name" },
        { ["-p", "Group=-x", "ls"], "confine-exec: Group: -x: not a valid user or group name" },
        { ["-p", "BindPaths=etc", "ls"], "confine-exec: BindPaths: etc: source must be an absolute path" },
        { ["-p", "BindPaths=/etc:rel", "ls"], "confine-exec: BindPaths: rel: destination must be an absolute path" },
        { ["-p", "BindPaths=/etc:/x:idmap", "ls"], "confine-exec: BindPaths: idmap: unknown bind option (expected rbind or norbind)" },
        { ["-p", "BindPaths=/a/../b", "ls"], "confine-exec: BindPaths: /a/../b: source must not contain '..'" },
        { ["-p", "BindPaths=\"/a", "ls"], "confine-exec: BindPaths: \"/a: unterminated quote" },
        { ["-p", "StateDirectory=/abs", "ls"], "confine-exec: StateDirectory: /abs: must be a relative directory name" },
        { ["-p", "RuntimeDirectory=a/../b", "ls"], "confine-exec: RuntimeDirectory: a/../b: must be a relative directory name without '.' or '..'" },
        { ["-p", "WorkingDirectory=rel", "ls"], "confine-exec: WorkingDirectory: rel: directory must be an absolute path" },
        { ["-p", "Environment=NOVALUE", "ls"], "confine-exec: Environment: NOVALUE: expected KEY=VALUE" },
        { ["-p", "Environment=1X=y", "ls"], "confine-exec: Environment: 1X=y: not a valid variable name" },
        { ["-p", "UMask=0999", "ls"], "confine-exec: UMask: 0999: not an octal mode (0000-07777)" },
        { ["--mode", "strict", "ls"], "confine-exec: --mode: strict: expected full-apivfs or chroot-only" },
        { ["--mode"], "confine-exec: option: --mode: requires a value" },
        { ["--bin-sh=", "ls"], "confine-exec: option: --bin-sh: requires a value" },
        { ["--json", "ls"], "confine-exec: option: --json: only applies to --print-closure" },
        { ["--dry-run", "--emit-unit", "ls"], "confine-exec: option: --dry-run --emit-unit: mutually exclusive" },
        { [], "confine-exec: command line: PROGRAM: missing: give the program to run after the options (see --help)" },
        { ["--dry-run", "--"], "confine-exec: command line: PROGRAM: missing: give the program to run after the options (see --help)" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_BadCommandLine_Exits125WithOneLine(string[] args, string expected)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var services = new CliServices
        {
            BuildClosure = _ => throw new InvalidOperationException("closure must not be computed for a bad command line"),
            Execute = _ => throw new InvalidOperationException("nothing may run"),
            DetectHost = () => throw new InvalidOperationException("host facts not needed"),
        };
        int rc = Cli.Run(args, stdout, stderr, services);
        Assert.Equal(ExitCodes.LauncherFailure, rc);
        Assert.Equal(expected + Environment.NewLine, stderr.ToString());
        Assert.Equal("", stdout.ToString());
    }
}
