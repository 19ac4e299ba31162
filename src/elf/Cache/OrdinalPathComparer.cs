namespace ConfineExec.Elf;

/// <summary>Ordinal string equality with a non-randomized FNV-1a hash of every character (the default string hash
/// needs a random seed read at start-up; hashing only the tail made every same-length <c>…/__init__.py</c> of a
/// package tree collide). Also looks strings up by span (a parent directory without cutting a substring).</summary>
internal sealed class OrdinalPathComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    public static readonly OrdinalPathComparer Instance = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string s) => GetHashCode(s.AsSpan());

    public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<char> s)
    {
        uint h = 2166136261u ^ (uint)s.Length;
        for (int i = 0; i < s.Length; i++) h = (h ^ s[i]) * 16777619u;
        return (int)h;
    }

    public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();
}
