namespace ConfineExec.Elf;

/// <summary>Ordinal string equality with a hash of the length and the last characters only: the paths a scan
/// meets share long prefixes and differ at their ends, and the default (randomized) string hash reads every
/// character. Also looks strings up by span (a parent directory without cutting a substring).</summary>
internal sealed class PathTailComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    public static readonly PathTailComparer Instance = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string s) => GetHashCode(s.AsSpan());

    public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<char> s)
    {
        uint h = 2166136261u ^ (uint)s.Length;
        for (int i = Math.Max(0, s.Length - 12); i < s.Length; i++) h = (h ^ s[i]) * 16777619u;
        return (int)h;
    }

    public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();
}
