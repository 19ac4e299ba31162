using ConfineExec.Launcher.Planning;
using ConfineExec.Launcher.Tests.Fixtures;
using ConfineExec.Launcher.Tests.PlanningTests;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// RuntimeDirectory=NAME: host /run/NAME owned by the service user, bound read-write, removed when PROGRAM exits
/// (systemd removes it when the unit stops) — in every mode, including chroot-only as root, where confine-exec
/// would otherwise execve PROGRAM in-process and leave nobody to remove it. Host-snapshot tests never overlap
/// (their collections disable parallelization), so a directory that exists for one run confuses no other test.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class RuntimeDirectoryTests(ConfineExecFixture fixture) : IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();
    private readonly string _name = "confine-exec-rt-" + Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal);

    public void Dispose()
    {
        bool leftOver = Directory.Exists("/run/" + _name);
        if (leftOver) Directory.Delete("/run/" + _name, recursive: true);
        _before.AssertUnchanged();
        Assert.False(leftOver, $"/run/{_name} was left on the host");
    }

    [Fact]
    public void Plan_ChrootOnlyAsRootWithRuntimeDirectory_ForkedChildSoItCanBeRemoved()
    {
        LaunchOptions options = PlanFixtures.Options(ConfinementMode.ChrootOnly) with { RuntimeDirectories = ["rt"] };
        LaunchPlan plan = PlanFixtures.Build(options, PlanFixtures.Root);
        Assert.Equal(ExecutionStrategy.ForkedChild, plan.Strategy);
        Assert.Equal(UserNamespaceTiming.None, plan.UserNamespace);
        Assert.Contains(plan.HostDirectories, d => d.Path == "/run/rt" && d.RemoveOnExit);

        LaunchPlan state = PlanFixtures.Build(PlanFixtures.Options(ConfinementMode.ChrootOnly) with { StateDirectories = ["testme"] }, PlanFixtures.Root);
        Assert.Equal(ExecutionStrategy.InProcess, state.Strategy); // a StateDirectory= stays: no cleanup needed
    }

    public static TheoryData<string[]> Modes => new(
        [],
        ["--mode", "chroot-only"],
        ["-p", "User=daemon", "-p", "Group=daemon"],
        ["--mode", "chroot-only", "-p", "User=daemon", "-p", "Group=daemon"]);

    [Theory]
    [MemberData(nameof(Modes))]
    public void RuntimeDirectory_WritableInsideOwnedByUser_RemovedOnExit(string[] options)
    {
        string dir = "/run/" + _name;
        string uid = options.Contains("User=daemon") ? "1" : "0";
        RunResult r = fixture.Run([.. options, "-p", "RuntimeDirectory=" + _name, "--package", "/usr/bin/stat", "--", "/bin/sh", "-c",
            $"echo \"$RUNTIME_DIRECTORY\"; stat -c '%u %a' {dir}; echo hi > {dir}/x && echo wrote"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"{dir}\n{uid} 755\nwrote\n", r.Stdout);
        Assert.False(Directory.Exists(dir));
    }
}
