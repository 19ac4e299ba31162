using System.Buffers.Binary;
using ConfineExec.Launcher.Tests.Fixtures;
using static ConfineExec.Launcher.Tests.Hardening.HardeningTools;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>Hostile and broken input through the published binary: each ends in one stderr line
/// "confine-exec: ...", a documented exit code (125/126/127), and leaves nothing behind. The reader-level
/// cases have unit tests (tests/Elf.Tests/Reading/MalformedElfTests.cs); these are end to end.</summary>
[Collection(nameof(BinaryCollection))]
public sealed class HostileInputTests(ConfineExecFixture fixture) : HostCheckedTest
{
    private string Write(string name, byte[] content, int mode = 0x1ed)
    {
        string path = Path.Combine(Dir.Path, name);
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
        return path;
    }

    private RunResult Run(bool asNobody, params string[] args) => fixture.Run(["--bin-sh", "none", .. args], asNobody);

    private static byte[] Patched(Action<byte[]> patch)
    {
        byte[] image = File.ReadAllBytes("/usr/bin/true");
        patch(image);
        return image;
    }

    public static TheoryData<string> CorruptElves => new()
    {
        "truncated-4", "truncated-16", "truncated-63", "truncated-64", "truncated-phdrs", "truncated-half",
        "phnum-lie", "phentsize-lie", "class-32", "machine-aarch64", "dynamic-outside-file",
    };

    private static byte[] CorruptElf(string kind)
    {
        byte[] t = File.ReadAllBytes("/usr/bin/true");
        int phoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(32));
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(t.AsSpan(56));
        return kind switch
        {
            "truncated-4" => t[..4],
            "truncated-16" => t[..16],
            "truncated-63" => t[..63],
            "truncated-64" => t[..64],
            "truncated-phdrs" => t[..(phoff + 56 * phnum - 1)],
            "truncated-half" => t[..(t.Length / 2)],
            "phnum-lie" => Patched(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(56), 0xffff)),
            "phentsize-lie" => Patched(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(54), 7)),
            "class-32" => Patched(b => b[4] = 1),
            "machine-aarch64" => Patched(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 183)),
            "dynamic-outside-file" => Patched(b =>
            {
                for (int i = 0; i < phnum; i++)
                {
                    int ph = phoff + 56 * i;
                    if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(ph)) == 2 /* PT_DYNAMIC */)
                        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(ph + 8), (ulong)b.Length + 4096);
                }
            }),
            _ => throw new ArgumentException(kind),
        };
    }

    [Theory]
    [MemberData(nameof(CorruptElves))]
    public void Program_CorruptElf_OneLineError(string kind)
    {
        string program = Write(kind, CorruptElf(kind));
        foreach (bool asNobody in new[] { false, true })
        {
            RunResult r = Run(asNobody, "--", program);
            string line = AssertOneLineError(r, r.ExitCode is 125 or 126 ? r.ExitCode : 125);
            Assert.Contains(program, line);
        }
    }

    [Fact]
    public void Program_Directory_Exits126()
    {
        Assert.Contains("directory", AssertOneLineError(Run(false, "--", Dir.Path), 126));
    }

    /// <summary>A FIFO, a device and a socket are never opened for reading in a way that blocks: 126 at once.</summary>
    [Theory]
    [InlineData("fifo")]
    [InlineData("device")]
    [InlineData("socket")]
    public void Program_SpecialFile_Exits126WithoutBlocking(string kind)
    {
        string path = Path.Combine(Dir.Path, kind);
        System.Net.Sockets.Socket? socket = null;
        switch (kind)
        {
            case "fifo": Assert.Equal(0, ProcessRunner.Run(["mkfifo", "-m", "0777", path]).ExitCode); break;
            case "device": path = "/dev/null"; break;
            case "socket":
                // Kept open for the whole test: disposing a bound socket deletes its file.
                socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, 0);
                socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
                File.SetUnixFileMode(path, (UnixFileMode)0x1ff);
                break;
        }
        using var owned = socket;
        foreach (bool asNobody in new[] { false, true })
            AssertOneLineError(Run(asNobody, "--", path), 126);
    }

    [Fact]
    public void Program_NotExecutableOrEmpty_Exits126()
    {
        string script = Write("no-x", "#!/bin/sh\necho hi\n"u8.ToArray(), 0x1a4);
        string empty = Write("empty", []);
        foreach (bool asNobody in new[] { false, true })
        {
            AssertOneLineError(Run(asNobody, "--", script), 126);
            AssertOneLineError(Run(asNobody, "--", empty), 126);
        }
    }

    [Fact]
    public void Program_ShebangLongerThan256_Exits126()
    {
        string program = Write("long", System.Text.Encoding.ASCII.GetBytes("#!/" + new string('a', 300) + "\n"));
        AssertOneLineError(Run(false, "--", program), 126);
    }

    [Fact]
    public void Program_ShebangLoopAndTooDeep_OneLineError()
    {
        string a = Path.Combine(Dir.Path, "loop-a"), b = Path.Combine(Dir.Path, "loop-b");
        Write("loop-a", System.Text.Encoding.ASCII.GetBytes($"#!{b}\n"));
        Write("loop-b", System.Text.Encoding.ASCII.GetBytes($"#!{a}\n"));
        AssertOneLineError(Run(false, "--", a), Run(false, "--", a).ExitCode is 126 ? 126 : 125);
        // depth 6: s5 -> s4 -> ... -> s0 -> /bin/sh (the kernel allows 4 levels; execve says ELOOP)
        string previous = "/bin/sh";
        for (int i = 0; i <= 5; i++)
        {
            Write("s" + i, System.Text.Encoding.ASCII.GetBytes($"#!{previous}\n"));
            previous = Path.Combine(Dir.Path, "s" + i);
        }
        RunResult deep = Run(false, "--", previous);
        AssertOneLineError(deep, deep.ExitCode is 126 ? 126 : 125);
    }

    [Fact]
    public void Program_SymlinkLoop_OneLineError()
    {
        string one = Path.Combine(Dir.Path, "l1");
        File.CreateSymbolicLink(one, Path.Combine(Dir.Path, "l2"));
        File.CreateSymbolicLink(Path.Combine(Dir.Path, "l2"), one);
        RunResult r = Run(false, "--", one);
        AssertOneLineError(r, r.ExitCode is 126 or 127 ? r.ExitCode : 125);
        RunResult package = Run(false, "--package", one, "--", "/bin/true");
        AssertOneLineError(package, 125);
        RunResult bind = Run(false, "-p", $"BindReadOnlyPaths={one}:/x", "--", "/bin/true");
        AssertOneLineError(bind, 125);
    }

    [Theory]
    [InlineData("--no-such-option")]
    [InlineData("-p", "BindPaths")]
    [InlineData("-p", "User=no-such-user-confine-exec")]
    [InlineData("-p", "User=4000000")]
    [InlineData("-p", "NoSuchProperty=1")]
    [InlineData("--mode", "bogus")]
    public void Options_Bad_OneLineExit125(params string[] options)
    {
        RunResult r = Run(false, [.. options, "--", "/bin/true"]);
        AssertOneLineError(r, 125);
    }

    /// <summary>Spaces and newlines in PROGRAM, --package and a bind path: the closure and the mounts handle
    /// them; an error naming such a path stays one line.</summary>
    [Theory]
    [MemberData(nameof(Users))]
    public void Paths_WithSpacesAndNewlines_WorkAndErrorsStayOneLine(bool asNobody)
    {
        string weird = Dir.Subdirectory("a dir\nwith newline");
        string program = Path.Combine(weird, "prog ram");
        File.WriteAllText(program, "#!/bin/sh\nread l < \"$1\"; echo \"$l\"\n");
        File.SetUnixFileMode(program, (UnixFileMode)0x1ed);
        string data = Path.Combine(weird, "da ta");
        File.WriteAllText(data, "weird-ok\n");
        RunResult ok = Run(asNobody, "--package", weird, "--", program, data);
        AssertOk(ok, "weird-ok\n");
        RunResult missing = Run(asNobody, "--", Path.Combine(weird, "missing\nfile"));
        AssertOneLineError(missing, 127);

        // Bind paths, in systemd's BindPaths= syntax (extract_first_word with EXTRACT_UNQUOTE, ':' and whitespace as
        // separators): each field quoted on its own, or blanks backslash-escaped. A quoted "SRC:DEST" is ONE path
        // (quotes protect ':'), and \x20 is not decoded (no EXTRACT_CUNESCAPE), as in systemd.
        static string Quote(string s) => "\"" + s + "\"";
        static string Escape(string s) => s.Replace(" ", "\\ ", StringComparison.Ordinal).Replace("\n", "\\\n", StringComparison.Ordinal);
        const string inRoot = "/in root/da ta";
        RunResult quoted = Run(asNobody, "-p", $"BindReadOnlyPaths={Quote(data)}:{Quote(inRoot)}", "--", "/bin/sh", "-c", $"read l < '{inRoot}'; echo \"$l\"");
        AssertOk(quoted, "weird-ok\n");
        RunResult escaped = Run(asNobody, "-p", $"BindPaths={Escape(data)}:{Escape(inRoot)}", "--", "/bin/sh", "-c", $"read l < '{inRoot}'; echo \"$l\"");
        AssertOk(escaped, "weird-ok\n");
        RunResult missingSource = Run(asNobody, "-p", $"BindReadOnlyPaths={Quote(Path.Combine(weird, "no such"))}:/x", "--", "/bin/true");
        Assert.Contains("no such", AssertOneLineError(missingSource, 125));
    }

    [Fact]
    public void Paths_NonUtf8Bytes_OneLineErrorOrWork()
    {
        // .NET strings cannot carry the byte 0xff, so the shell creates the file and passes the name.
        string script = "d=\"$1\"; f=\"$d/$(printf 'n\\377x')\"; printf '#!/bin/sh\\necho ran\\n' > \"$f\"; chmod 755 \"$f\"; " +
                        "shift; \"$@\" --bin-sh none -- \"$f\"; echo \"rc=$?\"";
        RunResult r = ProcessRunner.Run(["/bin/sh", "-c", script, "sh", Dir.Path, fixture.Binary]);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines[^1] == "rc=0")
            Assert.Equal("ran", lines[0]);
        else
        {
            Assert.Matches("^rc=12[567]$", lines[^1]);
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("confine-exec: ", r.Stderr);
        }
    }

    public static TheoryData<bool> Users => HardeningTools.Users;

    [Fact]
    public void Program_TenThousandNeeded_OneLineMissingLibraryError()
    {
        var elf = new ConfineExec.Elf.Tests.Reading.TestElfWriter
        {
            Type = 2, Interpreter = "/lib64/ld-linux-x86-64.so.2", Needed = [.. Enumerable.Range(0, 10_000).Select(i => $"libconfine{i}.so")],
        };
        string program = Write("many-needed", elf.Build());
        string line = AssertOneLineError(Run(false, "--", program), 125);
        Assert.Contains("libconfine", line);
        Assert.True(line.Length < 4096, "the error line lists every missing library: " + line.Length);
    }

    [Fact]
    public void Program_NeededCycle_Terminates()
    {
        string dir = Dir.Path;
        Write("libcyca.so", new ConfineExec.Elf.Tests.Reading.TestElfWriter { SoName = "libcyca.so", Needed = ["libcycb.so"], RunPath = "$ORIGIN" }.Build());
        Write("libcycb.so", new ConfineExec.Elf.Tests.Reading.TestElfWriter { SoName = "libcycb.so", Needed = ["libcyca.so"], RunPath = "$ORIGIN" }.Build());
        string program = Write("cyclic", new ConfineExec.Elf.Tests.Reading.TestElfWriter
        {
            Type = 2, Interpreter = "/lib64/ld-linux-x86-64.so.2", Needed = ["libcyca.so"], RunPath = dir,
        }.Build());
        RunResult closure = Run(false, "--print-closure", "--", program);
        AssertOk(closure);
        Assert.Contains(Path.Combine(dir, "libcyca.so"), closure.Stdout);
        Assert.Contains(Path.Combine(dir, "libcycb.so"), closure.Stdout);
    }
}
