namespace ConfineExec.Elf;

/// <summary>Nix store paths: <c>/nix/store/&lt;32 nix-base32 chars&gt;-&lt;name&gt;</c>, bound whole.</summary>
public static class NixStore
{
    public const string Prefix = "/nix/store/";

    /// <summary>The store path <paramref name="path"/> lies in (or is), or null.</summary>
    public static string? StorePathOf(string path)
    {
        if (!path.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        int start = Prefix.Length;
        int end = path.IndexOf('/', start);
        if (end < 0) end = path.Length;
        return IsStoreName(path.AsSpan(start, end - start)) ? path[..end] : null;
    }

    /// <summary>True for "&lt;hash&gt;-&lt;name&gt;" with a 32-character nix-base32 hash and a non-empty name.</summary>
    public static bool IsStoreName(ReadOnlySpan<char> name)
    {
        if (name.Length < 34 || name[32] != '-') return false;
        foreach (char c in name[..32])
            if (!IsBase32(c)) return false;
        return true;
    }

    private static bool IsBase32(char c) => c is (>= '0' and <= '9') || (c is >= 'a' and <= 'z' && c is not ('e' or 'o' or 'u' or 't'));
}
