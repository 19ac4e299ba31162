using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>Computes a program's runtime closure the way the kernel and glibc's ld.so would find it.</summary>
public static class ClosureBuilder
{
    /// <summary>The kernel's limit on nested <c>#!</c> interpreters after the first script (measured: a
    /// script whose interpreter chain holds 5 scripts runs, 6 fail with ELOOP).</summary>
    public const int MaxShebangNesting = 4;

    /// <summary>The interpreter assumed for shared libraries met as packages (they have no PT_INTERP).</summary>
    public const string DefaultInterpreter = "/lib64/ld-linux-x86-64.so.2";

    /// <summary>Throws <see cref="ClosureException"/> (not found, not executable, missing library, shebang
    /// loop) or <see cref="ElfFormatException"/> (corrupt object).</summary>
    public static Closure Build(ClosureRequest request)
    {
        string ourCwd = Directory.GetCurrentDirectory();
        var ctx = new ResolutionContext
        {
            Environment = request.Environment,
            AllowMissing = request.AllowMissing,
            WorkingDirectory = SymlinkChain.Tidy(SymlinkChain.Join(ourCwd, request.WorkingDirectory.Length == 0 ? "/" : request.WorkingDirectory)),
        };
        request.Environment.TryGetValue("PATH", out var targetPath);
        var walker = new ProgramWalker(ctx, targetPath, request.AllowMissing);

        string program = ProgramLocator.Locate(request.Program, targetPath, ourCwd);
        walker.AddProgram(program, "program", null, nesting: 0, located: true);
        bool usesOrigin = walker.UsesOrigin;

        if (request.BinSh is { } binSh)
        {
            string shPath = ProgramLocator.Locate(binSh, targetPath, ourCwd, "bin-sh");
            string? real = ctx.Collector.Links.Resolve(shPath, null, out _, out _)
                ?? throw new ClosureException(ClosureError.ProgramNotFound, shPath, $"bin-sh: {shPath}: no such file or directory");
            walker.AddProgram(real, "/bin/sh", null, nesting: 0, located: true);
            ctx.Collector.Set(new ClosureEntry("/bin/sh", ClosureEntryKind.File, real, "/bin/sh", real));
        }

        if (request.Packages.Count > 0)
        {
            var packages = new PackageWalker(ctx, walker);
            foreach (var p in request.Packages) packages.Add(SymlinkChain.Tidy(SymlinkChain.Join(ourCwd, p)));
        }

        return new Closure
        {
            ProgramPath = program,
            Entries = ctx.Collector.Finish(),
            MainUsesOrigin = usesOrigin,
            Warnings = ctx.Warnings,
            MissingLibraries = ctx.MissingLibraries,
        };
    }
}
