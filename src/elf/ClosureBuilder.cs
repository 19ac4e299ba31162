namespace ConfineExec.Elf;

/// <summary>Computes a program's runtime closure the way the kernel and glibc's ld.so would find it.</summary>
public static class ClosureBuilder
{
    /// <summary>Throws <see cref="ClosureException"/> (not found, not executable, missing library, shebang
    /// loop) or <see cref="ElfFormatException"/> (corrupt object).</summary>
    public static Closure Build(ClosureRequest request) => throw new NotImplementedException();
}
