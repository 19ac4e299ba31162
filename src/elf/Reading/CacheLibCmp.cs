namespace ConfineExec.Elf.Reading;

/// <summary>glibc's <c>_dl_cache_libcmp</c> (elf/dl-cache.c) over byte strings: runs of digits compare
/// numerically (with C <c>int</c> wrap-around, as glibc), a digit sorts after a non-digit, everything else by
/// byte value. The end of a span plays the C string's NUL.</summary>
internal static class CacheLibCmp
{
    public static int Compare(ReadOnlySpan<byte> p1, ReadOnlySpan<byte> p2)
    {
        int i = 0, j = 0;
        while (i < p1.Length)
        {
            byte c1 = p1[i], c2 = j < p2.Length ? p2[j] : (byte)0;
            if (IsDigit(c1))
            {
                if (!IsDigit(c2)) return 1;
                int v1 = c1 - '0', v2 = c2 - '0';
                i++; j++;
                unchecked
                {
                    while (i < p1.Length && IsDigit(p1[i])) v1 = v1 * 10 + p1[i++] - '0';
                    while (j < p2.Length && IsDigit(p2[j])) v2 = v2 * 10 + p2[j++] - '0';
                    if (v1 != v2) return v1 - v2;
                }
            }
            else if (IsDigit(c2))
            {
                return -1;
            }
            else if (c1 != c2)
            {
                return c1 - c2;
            }
            else
            {
                i++; j++;
            }
        }
        return 0 - (j < p2.Length ? p2[j] : 0);
    }

    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;
}
