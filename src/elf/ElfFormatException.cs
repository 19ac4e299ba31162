namespace ConfineExec.Elf;

/// <summary>
/// The one exception type for malformed input (ELF objects, <c>ld.so.cache</c>, shebang lines).
/// Its message names the file, the byte offset, the field and what was expected, e.g.
/// <c>/usr/lib/libfoo.so: offset 0x36: e_phentsize is 12, expected 56 for ELFCLASS64</c>.
/// </summary>
public sealed class ElfFormatException : FormatException
{
    public ElfFormatException(string path, long offset, string field, string problem)
        : base($"{path}: offset 0x{offset:x}: {field} {problem}")
    {
        FilePath = path;
        Offset = offset;
        Field = field;
        Problem = problem;
    }

    public string FilePath { get; }
    public long Offset { get; }
    public string Field { get; }
    public string Problem { get; }
}
