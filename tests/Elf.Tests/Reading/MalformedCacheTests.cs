using System.Buffers.Binary;

namespace ConfineExec.Elf.Tests.Reading;

/// <summary>Corrupt ld.so.cache files: Parse throws naming the field, TryLoad gives null (ld.so uses no cache).</summary>
public sealed class MalformedCacheTests : IDisposable
{
    private readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] SystemCache()
    {
        if (!File.Exists("/etc/ld.so.cache")) Assert.Skip("no /etc/ld.so.cache");
        var bytes = File.ReadAllBytes("/etc/ld.so.cache");
        if (!bytes.AsSpan().StartsWith("glibc-ld.so.cache1.1"u8)) Assert.Skip("system cache is not new-format");
        return bytes;
    }

    private void AssertCorrupt(byte[] data, string field)
    {
        var e = Assert.Throws<ElfFormatException>(() => LdSoCache.Parse(data, "test.cache"));
        Assert.True(e.Field.Contains(field), $"field '{e.Field}' ({e.Message}), expected '{field}'");
        Assert.Null(LdSoCache.TryLoad(_dir.Write("c" + Guid.NewGuid().ToString("N")[..6], data)));
    }

    [Fact]
    public void Parse_BadMagic_NamesMagic()
    {
        var d = SystemCache();
        d[0] = (byte)'X';
        AssertCorrupt(d, "magic");
    }

    [Fact]
    public void Parse_NlibsTooLarge_NamesNlibs()
    {
        var d = SystemCache();
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(0x14), 0x7fffffff);
        AssertCorrupt(d, "nlibs");
    }

    [Fact]
    public void Parse_KeyOffsetOutsideFile_NamesTheEntry()
    {
        var d = SystemCache();
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(0x30 + 4), (uint)d.Length + 10);
        AssertCorrupt(d, "libs[0].key");
    }

    [Fact]
    public void Parse_ValueOffsetOutsideFile_NamesTheEntry()
    {
        var d = SystemCache();
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(0x30 + 24 * 3 + 8), 0xfffffff0);
        AssertCorrupt(d, "libs[3].value");
    }

    [Fact]
    public void Parse_BadExtensionMagic_NamesExtension()
    {
        var d = SystemCache();
        uint ext = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(0x20));
        if (ext == 0) Assert.Skip("cache has no extension");
        d[ext] ^= 0xff;
        AssertCorrupt(d, "extension magic");
    }

    [Fact]
    public void Parse_MisalignedExtensionOffset_NamesExtensionOffset()
    {
        var d = SystemCache();
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(0x20), 0x31);
        AssertCorrupt(d, "extension_offset");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Parse_BadEndiannessFlag_NamesFlags(byte flag)
    {
        var d = SystemCache();
        d[0x1c] = flag;
        AssertCorrupt(d, "flags");
    }

    [Fact]
    public void Parse_TooShort_NamesMagic()
    {
        AssertCorrupt("glibc-ld.so.cache1.1"u8.ToArray(), "magic");
        AssertCorrupt([], "magic");
    }

    [Fact]
    public void TryLoad_MissingFile_ReturnsNull() =>
        Assert.Null(LdSoCache.TryLoad(Path.Combine(_dir.Path, "absent")));
}
