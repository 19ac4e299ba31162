using ConfineExec.Launcher.Tests.Fixtures;
using static ConfineExec.Launcher.Tests.Hardening.HardeningTools;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>DESIGN §6.2 and §6.5 and issue 6's root-target list: what PROGRAM can and cannot do once confined.</summary>
[Collection(nameof(BinaryCollection))]
public sealed class PrivilegeTests(ConfineExecFixture fixture) : HostCheckedTest
{
    public static TheoryData<bool> Callers => Users;

    private static readonly string s_statusScript =
        "while read k v; do case $k in CapInh:|CapPrm:|CapEff:|CapAmb:|NoNewPrivs:|Uid:|Groups:) echo \"$k $v\";; esac; done < /proc/self/status";

    /// <summary>As root with User=nobody, and as the unprivileged caller 65534 (its own target).</summary>
    [Theory]
    [MemberData(nameof(Callers))]
    public void NonRootTarget_ProcSelfStatus_AllCapabilitySetsEmptyAndNoNewPrivs(bool asNobody)
    {
        string[] user = asNobody ? [] : ["-p", "User=nobody"];
        RunResult r = fixture.Run(["--bin-sh", "none", .. user, "--", "/bin/sh", "-c", s_statusScript], asNobody);
        AssertOk(r);
        var status = Lines(r);
        foreach (string set in new[] { "CapInh:", "CapPrm:", "CapEff:", "CapAmb:" })
            Assert.True(status[set] == "0000000000000000", $"{set} {status[set]}\n{r}");
        Assert.Equal("1", status["NoNewPrivs:"]);
        Assert.StartsWith("65534", status["Uid:"]);
    }

    [Fact]
    public void NonRootTarget_RootCallerWithSupplementaryGroups_GroupsGone()
    {
        // setpriv gives the root caller adm (4) and sudo (27); the target must have only nobody's own groups.
        RunResult r = ProcessRunner.Run(["setpriv", "--groups=4,27", fixture.Binary, "--bin-sh", "none", "-p", "User=nobody", "--",
            "/bin/sh", "-c", s_statusScript]);
        AssertOk(r);
        string[] groups = Lines(r)["Groups:"].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("4", groups);
        Assert.DoesNotContain("27", groups);
        Assert.DoesNotContain("0", groups);
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void NonRootTarget_SetuidRootBinaryBoundIn_EuidStaysNonRoot(bool asNobody)
    {
        string pkg = Dir.Subdirectory("suid");
        string id = Path.Combine(pkg, "id");
        File.Copy("/usr/bin/id", id);
        File.SetUnixFileMode(id, (UnixFileMode)0x9ed); // 4755, owned by root
        string[] user = asNobody ? [] : ["-p", "User=nobody"];
        RunResult r = fixture.Run(["--bin-sh", "none", "--package", pkg, .. user, "--", "/bin/sh", "-c", $"{id} -u; {id} -ru"], asNobody);
        AssertOk(r, "65534\n65534\n");
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void FullApivfs_EscapeProbe_NoMountPivotModulesOrWritesAndNoWayOut(bool asNobody)
    {
        string probe = CompileStatic(Dir.Path, "escape-probe", EscapeProbe);
        string data = Path.Combine(Dir.Path, "data");
        File.WriteAllText(data, "bound\n");
        File.SetUnixFileMode(data, (UnixFileMode)0x1b6); // 0666: only the read-only bind stops the write
        RunResult r = fixture.Run(["--bin-sh", "none", "-p", $"BindReadOnlyPaths={data}", "--", probe, data], asNobody);
        AssertOk(r);
        var o = Lines(r);
        Assert.True(o["mount"] == "EPERM", r.ToString());
        Assert.True(o["umount"] == "EPERM", r.ToString());
        Assert.True(o["pivot_root"] == "EPERM", r.ToString());
        // A kernel built without module support answers ENOSYS; either way nothing is loaded.
        Assert.True(o["init_module"] is "EPERM" or "ENOSYS", r.ToString());
        Assert.True(o["finit_module"] is "EPERM" or "ENOSYS", r.ToString());
        Assert.True(o["write_bound"] is "EROFS" or "EACCES", r.ToString());
        Assert.True(o["write_proc_sys"] is "EROFS" or "EACCES", r.ToString());
        // Inaccessible: an empty 0000 file is bound over them (root in the user namespace may open it: 0 bytes).
        Assert.True(o["kallsyms_bytes"] is "0" or "-1", r.ToString());
        Assert.True(o["kcore_bytes"] is "0" or "-1", r.ToString());
        // chroot may succeed for root (CAP_SYS_CHROOT in its user namespace), but the old root is detached:
        // climbing out of a nested chroot reaches only the confined root, which has no /etc and no /home.
        Assert.True(o["escaped_etc"] == "ENOENT", r.ToString());
        Assert.True(o["escaped_home"] == "ENOENT", r.ToString());
        Assert.True(File.ReadAllText(data) == "bound\n");
    }

    [Fact]
    public void FullApivfs_RootTarget_BoundingSetLacksSysModuleRawioMknod()
    {
        RunResult r = fixture.Run(["--bin-sh", "none", "--", "/bin/sh", "-c", "while read k v; do [ $k = CapBnd: ] && echo $v; done < /proc/self/status; true"]);
        AssertOk(r);
        ulong bounding = Convert.ToUInt64(r.Stdout.Trim(), 16);
        foreach (int cap in new[] { 16 /* SYS_MODULE */, 17 /* SYS_RAWIO */, 27 /* MKNOD */ })
            Assert.True((bounding & (1UL << cap)) == 0, $"capability {cap} still in the bounding set {r.Stdout}");
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void ReadOnlyBind_SourceMountedNosuidNodevNoexec_KeepsAllThree(bool asNobody)
    {
        string source = Dir.Subdirectory("flags");
        RunResult mount = ProcessRunner.Run(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,noexec,size=64k,mode=0755", "confine-exec-flags", source]);
        Assert.True(mount.ExitCode == 0, mount.ToString());
        try
        {
            HostSnapshot mounted = HostSnapshot.Take();
            RunResult r = fixture.Run(["--bin-sh", "none", "-p", $"BindReadOnlyPaths={source}", "-p", $"BindReadOnlyPaths={source}:/flags-again", "--",
                "/bin/sh", "-c", "while read id parent dev root point opts rest; do case $point in " + source + "|/flags-again) echo $point $opts;; esac; done < /proc/self/mountinfo"], asNobody);
            AssertOk(r);
            string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            foreach (string line in lines)
            {
                string[] options = line.Split(' ')[1].Split(',');
                foreach (string flag in new[] { "ro", "nosuid", "nodev", "noexec" })
                    Assert.True(options.Contains(flag), $"{flag} missing: {line}");
            }
            mounted.AssertUnchanged();
        }
        finally
        {
            ProcessRunner.Run(["umount", source]);
        }
    }
}
