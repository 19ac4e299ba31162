using ConfineExec.Elf.Tests.Reading;

namespace ConfineExec.Elf.Tests.Hostile;

/// <summary>Hostile objects through the whole closure walk (ClosureBuilder.Build): it terminates, and only
/// ClosureException or ElfFormatException escape.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClosureHostileTests : IDisposable
{
    private readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ConfineExec.Elf.Closure? BuildOrDeclared(string program, bool allowMissing = true)
    {
        try { return ClosureBuilder.Build(new ClosureRequest { Program = program, BinSh = null, AllowMissing = allowMissing }); }
        catch (ClosureException) { return null; }
        catch (ElfFormatException) { return null; }
    }

    [Fact(Timeout = 60_000)]
    public async Task Build_NeededCycle_TerminatesWithBothLibraries()
    {
        _dir.Write("libcyca.so", new TestElfWriter { SoName = "libcyca.so", Needed = ["libcycb.so"], RunPath = "$ORIGIN" }.Build());
        _dir.Write("libcycb.so", new TestElfWriter { SoName = "libcycb.so", Needed = ["libcyca.so"], RunPath = "$ORIGIN" }.Build());
        string program = _dir.Write("prog", new TestElfWriter { Type = 2, Interpreter = "/lib64/ld-linux-x86-64.so.2", Needed = ["libcyca.so"], RunPath = _dir.Path }.Build());
        File.SetUnixFileMode(program, (UnixFileMode)0x1ed);
        ConfineExec.Elf.Closure? c = await Task.Run(() => BuildOrDeclared(program), TestContext.Current.CancellationToken);
        Assert.NotNull(c);
        Assert.Contains(c.Entries, e => e.Path == Path.Combine(_dir.Path, "libcyca.so"));
        Assert.Contains(c.Entries, e => e.Path == Path.Combine(_dir.Path, "libcycb.so"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Build_TenThousandMissingNeeded_DeclaredErrorOrWarnings()
    {
        string program = _dir.Write("many", new TestElfWriter
        {
            Type = 2, Interpreter = "/lib64/ld-linux-x86-64.so.2", Needed = [.. Enumerable.Range(0, 10_000).Select(i => $"libconfine{i}.so")],
        }.Build());
        File.SetUnixFileMode(program, (UnixFileMode)0x1ed);
        await Task.Run(() =>
        {
            Assert.ThrowsAny<ClosureException>(() => ClosureBuilder.Build(new ClosureRequest { Program = program, BinSh = null }));
            ConfineExec.Elf.Closure? c = BuildOrDeclared(program);
            Assert.NotNull(c);
        }, TestContext.Current.CancellationToken);
    }

    [Fact]
    public void Build_InterpreterIsADirectory_ProgramNotExecutableNamingIt()
    {
        string program = _dir.Write("dirinterp", new TestElfWriter { Type = 2, Interpreter = "/usr", Needed = ["libc.so.6"] }.Build());
        File.SetUnixFileMode(program, (UnixFileMode)0x1ed);
        var e = Assert.Throws<ClosureException>(() => ClosureBuilder.Build(new ClosureRequest { Program = program, BinSh = null }));
        Assert.Equal(ClosureError.ProgramNotExecutable, e.Error);
        Assert.Contains("/usr", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>Fixed-seed mutations of a valid program fed to the whole closure walk (CONFINE_FUZZ_ITERATIONS
    /// overrides the default 500): anything but the declared exceptions fails the test.</summary>
    [Fact(Timeout = 120_000)]
    public async Task Build_MutatedProgram_OnlyDeclaredExceptions()
    {
        // Found by this test: a PT_INTERP mutated to a directory ("/") made InterpreterProfile.For throw
        // UnauthorizedAccessException out of ClosureBuilder.Build; it is now ClosureException (ProgramNotExecutable).
        int iterations = int.TryParse(Environment.GetEnvironmentVariable("CONFINE_FUZZ_ITERATIONS"), out int n) && n > 0 ? Math.Max(1, n / 10) : 500;
        byte[] original = new TestElfWriter { Type = 2, Interpreter = "/lib64/ld-linux-x86-64.so.2", Needed = ["libc.so.6"], RunPath = "$ORIGIN/x" }.Build();
        await Task.Run(() =>
        {
            var rng = new Random(6);
            for (int i = 0; i < iterations; i++)
            {
                byte[] image = (byte[])original.Clone();
                for (int k = rng.Next(1, 6); k > 0; k--)
                    image[rng.Next(image.Length)] = (byte)rng.Next(256);
                string program = _dir.Write("m", image);
                File.SetUnixFileMode(program, (UnixFileMode)0x1ed);
                BuildOrDeclared(program);
            }
        }, TestContext.Current.CancellationToken);
    }
}
