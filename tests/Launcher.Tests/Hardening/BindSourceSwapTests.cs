using System.Diagnostics;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>
/// Bind sources are opened once and bound by descriptor (sandbox-peers.md §2.4 item 4; Flatpak CVE-2024-42472):
/// a path swapped for a symlink between the closure scan and the mount must not redirect the bind.
/// </summary>
/// <remarks>
/// Deterministic, without a hook in the product: confine-exec reads /etc/passwd (for User=) after the closure
/// scan and before it forks the child that mounts. In a private mount namespace a FIFO is bound over
/// /etc/passwd, so opening the FIFO for writing returns exactly when the launcher has finished the scan and
/// is waiting for the user database; the test swaps the package path then, and only then lets it go on.
/// </remarks>
[Collection(nameof(BinaryCollection))]
public sealed class BindSourceSwapTests(ConfineExecFixture fixture) : HostCheckedTest
{
    // As root (the caller a package owner could attack) and as 65534. setpriv --reuid looks its argument up as a user
    // name first (getpwnam("65534")) and so reads the FIFO itself (the "closes it before the test writes: EPIPE"
    // seen before); for 65534 the ids are dropped with unshare --setuid/--setgid, which parses numbers only.
    /// <summary>Swaps: a directory above the package becomes a symlink (the bind source path then passes through
    /// one); the package directory itself becomes a symlink; it becomes a regular file (the planner saw a
    /// directory, so the executor makes a directory mount point, and the mount must fail rather than bind
    /// what now sits at the path). With a single file as the package (bound through its directory, opened once
    /// for the binds out of it): the file becomes a symlink; it becomes a directory.</summary>
    private const string ParentToLink = "parent", ItselfToLink = "link", ItselfToFile = "file",
        FileToLink = "file-link", FileToDirectory = "file-dir";

    public static TheoryData<bool, string> Cases => new()
    {
        { false, ParentToLink }, { false, ItselfToLink }, { false, ItselfToFile }, { false, FileToLink }, { false, FileToDirectory },
        { true, ParentToLink }, { true, ItselfToLink }, { true, ItselfToFile }, { true, FileToLink }, { true, FileToDirectory },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Swap_BetweenClosureScanAndMount_NeverBindsTheSymlinkTarget(bool asNobody, string swap)
    {
        string top = Dir.Subdirectory("swap");
        string package = Path.Combine(top, "pkg");
        Directory.CreateDirectory(package);
        File.WriteAllText(Path.Combine(package, "data"), "original\n");
        string evil = Dir.Subdirectory("evil");
        Directory.CreateDirectory(Path.Combine(evil, "pkg"));
        File.WriteAllText(Path.Combine(evil, "pkg", "data"), "secret\n");
        string fifo = Path.Combine(Dir.Path, "passwd.fifo");
        Assert.Equal(0, ProcessRunner.Run(["mkfifo", "-m", "0644", fifo]).ExitCode);

        string[] launcher = asNobody
            ? ["unshare", $"--setuid={ProcessRunner.Nobody}", $"--setgid={ProcessRunner.Nobody}", fixture.Binary] // also clears groups
            : [fixture.Binary];
        string[] user = ["-p", "User=nobody"]; // for the unprivileged caller too: User= is then the caller itself
        string data = Path.Combine(package, "data");
        bool fileSource = swap is FileToLink or FileToDirectory;
        string[] argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", "mount --bind \"$0\" /etc/passwd && exec \"$@\"", fifo,
            .. launcher, "--bin-sh", "none", "--package", fileSource ? data : package, .. user, "--", "/bin/sh", "-c", $"read l < {package}/data; echo $l"];
        var start = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (string a in argv.Skip(1)) start.ArgumentList.Add(a);
        TestClosureCaches.Apply(start.Environment);
        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> stderr = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);

        byte[] passwd = File.ReadAllBytes("/etc/passwd");
        Task exited = p.WaitForExitAsync(TestContext.Current.CancellationToken);
        async Task<FileStream> NextReader()
        {
            Task<FileStream> writer = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write));
            if (await Task.WhenAny(writer, exited) != writer)
            {
                // The launcher ended without reading the user database: unblock the pending open, then report.
                using (File.OpenRead(fifo)) { }
                Assert.Fail($"confine-exec exited before reading /etc/passwd: exit {p.ExitCode}\n{await stdout}\n{await stderr}");
            }
            return await writer;
        }
        await using (FileStream w = await NextReader())
        {
            if (swap == ParentToLink)
            {
                Directory.Move(top, top + ".orig");
                File.CreateSymbolicLink(top, evil);
            }
            else if (fileSource)
            {
                File.Move(data, data + ".orig");
                if (swap == FileToLink)
                    File.CreateSymbolicLink(data, Path.Combine(evil, "pkg", "data"));
                else
                    File.WriteAllText(Path.Combine(Directory.CreateDirectory(data).FullName, "data"), "secret\n");
            }
            else
            {
                Directory.Move(package, package + ".orig");
                if (swap == ItselfToLink)
                    File.CreateSymbolicLink(package, Path.Combine(evil, "pkg"));
                else
                    File.WriteAllText(package, "secret\n");
            }
            await w.WriteAsync(passwd, TestContext.Current.CancellationToken);
        }
        await exited;
        string output = await stdout, errors = await stderr;
        string result = $"exit {p.ExitCode}\nstdout:\n{output}\nstderr:\n{errors}";
        Assert.DoesNotContain("secret", output);
        // Either refused as a swapped path (one line, 125) or, had it been bound before the swap, the original.
        // A file in place of the planned directory (or a directory in place of the file) is never bound: the
        // mount point's type no longer matches.
        if (p.ExitCode == 0 && swap is not (ItselfToFile or FileToDirectory))
            Assert.True(output == "original\n", result);
        else
        {
            Assert.True(p.ExitCode == 125, result);
            Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(package, errors);
        }
    }
}
