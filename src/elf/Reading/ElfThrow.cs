using System.Diagnostics.CodeAnalysis;

namespace ConfineExec.Elf.Reading;

// Throwing lives here so the hot readers stay small and inlinable (System.Reflection.Metadata's Throw.cs idiom).
internal static class ElfThrow
{
    [DoesNotReturn]
    public static void Invalid(string path, long offset, string field, string problem) =>
        throw new ElfFormatException(path, offset, field, problem);

    [DoesNotReturn]
    public static void Truncated(string path, long offset, string field, ulong needed, long available) =>
        throw new ElfFormatException(path, offset, field,
            $"needs {needed} byte(s) but only {Math.Max(available, 0)} are there (truncated or lying size)");

    [DoesNotReturn]
    public static void Unterminated(string path, long offset, string field, string limit) =>
        throw new ElfFormatException(path, offset, field, $"string is not NUL-terminated within {limit}");
}
