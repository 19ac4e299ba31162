using ConfineExec.Launcher.Planning;
using static ConfineExec.Launcher.Tests.PlanningTests.PlanFixtures;

namespace ConfineExec.Launcher.Tests.PlanningTests;

/// <summary>Each rule of <see cref="PlanValidator"/> broken once (the malformed-plan class).</summary>
public class PlanValidatorTests
{
    static LaunchPlan Valid => Build(Options(), Root);

    [Fact]
    public void Validate_BuiltPlans_Pass()
    {
        PlanValidator.Validate(Build(Options(), Root), Root);
        PlanValidator.Validate(Build(Options(ConfinementMode.ChrootOnly), Root), Root);
        PlanValidator.Validate(Build(Options(), Unprivileged), Unprivileged);
    }

    public static TheoryData<string, SetupOp> BadOps => new()
    {
        { "must be an absolute path", new BindOp("/etc", "etc", true) },
        { "must not contain '.', '..' or empty components", new BindOp("/etc", "/usr/../etc", true) },
        { "must not contain '.', '..' or empty components", new SymlinkOp("x", "/a//b") },
        { "must not contain '.', '..' or empty components", new BindOp("/etc/../root", "/x", true) },
        { "a bind source must exist on the host", new BindOp("/does/not/exist", "/x", true) },
        { "two operations create the same path", new BindOp("/etc", "/usr/bin/git", true) },
        { "nothing may be mounted over the root itself", new TmpfsOp("/", 0x1ed) },
        { "the root tmpfs must be the first operation and appear once", new RootTmpfsOp() },
    };

    [Theory]
    [MemberData(nameof(BadOps))]
    public void Validate_BadOp_ThrowsNamingTheRule(string rule, SetupOp op)
    {
        LaunchPlan plan = Valid with { Ops = [.. Valid.Ops, op] };
        var e = Assert.Throws<PlanValidationException>(() => PlanValidator.Validate(plan, Root));
        Assert.Contains(rule, e.Message);
        Assert.StartsWith("plan: ", e.Message);
    }

    /// <summary>A bind whose source type the planner knows (the closure's files, seen by the scan or by the cache's
    /// re-check of their stamps; a bind source the planner lstat'ed) is not looked up again; one of unknown type is.</summary>
    [Fact]
    public void Validate_SourceOfKnownKind_IsNotLookedUpAgain()
    {
        var asked = new List<string>();
        HostFacts host = Root with { PathExists = p => { asked.Add(p); return true; } };
        LaunchPlan plan = Valid with { Ops = [.. Valid.Ops, new BindOp("/srv/data", "/srv/data", true)] };
        Assert.Contains(plan.Ops, o => o is BindOp { SourceKind: BindSourceKind.File });
        PlanValidator.Validate(plan, host);
        Assert.Equal(["/srv/data"], asked);
    }

    [Fact]
    public void Validate_StateDirectoryNotYetOnHost_Passes()
    {
        LaunchPlan plan = Build(Options() with { StateDirectories = ["not-there-yet"], RuntimeDirectories = ["rt-new"] }, Root);
        PlanValidator.Validate(plan, Root);
    }

    [Fact]
    public void Validate_MissingSourceWithAllowMissing_Passes()
    {
        LaunchPlan plan = Valid with { Ops = [.. Valid.Ops, new BindOp("/does/not/exist", "/x", true, AllowMissing: true)] };
        PlanValidator.Validate(plan, Root);
    }

    public static TheoryData<string, Func<LaunchPlan, LaunchPlan>> BadFields => new()
    {
        { "the working directory must be an absolute path", p => p with { WorkingDirectory = "srv" } },
        { "the program must be exec'd by an absolute path", p => p with { ExecPath = "git" } },
        { "argv must hold at least the program name", p => p with { Argv = [] } },
        { "every environment entry must be KEY=VALUE", p => p with { Environment = ["NOEQUALS"] } },
        { "a user namespace needs a forked child", p => p with { Strategy = ExecutionStrategy.InProcess } },
        { "a user namespace needs a uid map and a gid map", p => p with { UidMap = [] } },
        { "the target uid must be mapped", p => p with { Uid = 1234, NoNewPrivileges = true } },
        { "the target gid must be mapped", p => p with { Gid = 1234 } },
        { "a non-root target must run with no_new_privs", p => p with { UidMap = [new(0, 0, 1), new(5, 5, 1)], Uid = 5, NoNewPrivileges = false } },
        { "supplementary groups cannot be set without CAP_SYS_ADMIN", p => p with { KeepSupplementaryGroups = true, SupplementaryGroups = [27] } },
        { "the umask must be between 0000 and 07777", p => p with { Umask = 0x1000 } },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Validate_BadField_ThrowsNamingTheRule(string rule, Func<LaunchPlan, LaunchPlan> change)
    {
        var e = Assert.Throws<PlanValidationException>(() => PlanValidator.Validate(change(Valid), Root));
        Assert.Contains(rule, e.Message);
    }

    [Fact]
    public void Validate_UnprivilegedWithoutUserNamespace_Throws()
    {
        LaunchPlan plan = Build(Options(ConfinementMode.ChrootOnly), Root);
        var e = Assert.Throws<PlanValidationException>(() => PlanValidator.Validate(plan, Unprivileged));
        Assert.Contains("without CAP_SYS_ADMIN the mounts need a user namespace", e.Message);
    }

    [Fact]
    public void Validate_UnprivilegedRunningAsAnotherUser_Throws()
    {
        LaunchPlan plan = Build(Options(), Unprivileged, new TargetCredentials(0, 0, []));
        var e = Assert.Throws<PlanValidationException>(() => PlanValidator.Validate(plan, Unprivileged));
        Assert.Contains("an unprivileged caller can only run as itself", e.Message);
    }
}
