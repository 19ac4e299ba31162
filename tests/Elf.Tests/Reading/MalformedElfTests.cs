using System.Diagnostics;

namespace ConfineExec.Elf.Tests.Reading;

/// <summary>Corrupt and wrong-kind inputs: each must be one <see cref="ElfFormatException"/> naming the field.</summary>
public sealed class MalformedElfTests : IDisposable
{
    private readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TestElfWriter Valid(bool is64 = true) => new()
    {
        Is64 = is64, Interpreter = "/lib64/ld-linux-x86-64.so.2", Needed = ["libc.so.6"], SoName = "libt.so.1",
    };

    private ElfFormatException ReadFails(byte[] image)
    {
        string p = _dir.Write("bad-" + Guid.NewGuid().ToString("N")[..8], image);
        return Assert.Throws<ElfFormatException>(() => ElfObject.Read(p));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_TruncatedAtEveryHeaderBoundary_NamesTheField(bool is64)
    {
        var w = Valid(is64);
        var image = w.Build();
        int ehsize = is64 ? 64 : 52;
        var cases = new (int Length, string Field)[]
        {
            (0, "ELF magic"), (1, "ELF magic"), (3, "ELF magic"), (4, "ELF header"), (16, "ELF header"), (ehsize - 1, "ELF header"),
            (ehsize, "e_phnum"), (w.PhEnd - 1, "e_phnum"),
            (w.PhEnd, "PT_INTERP"), (w.StrtabOffset - 1, "PT_INTERP"),
            (w.StrtabOffset, "PT_DYNAMIC"), (w.DynEnd - 1, "PT_DYNAMIC"),
        };
        foreach (var (length, field) in cases)
        {
            var e = ReadFails(image[..length]);
            Assert.True(e.Field == field, $"truncated at {length}: field '{e.Field}' ({e.Message}), expected '{field}'");
            Assert.Contains(field, e.Message);
        }
    }

    [Fact]
    public void Read_EmptyFile_SaysEmpty()
    {
        var e = ReadFails([]);
        Assert.Equal("ELF magic", e.Field);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Read_Script_SaysItIsAScript()
    {
        var e = ReadFails("#!/bin/sh\necho hi\n"u8.ToArray());
        Assert.Contains("#! script", e.Message);
    }

    [Fact]
    public void Read_Directory_SaysItIsADirectory()
    {
        var e = Assert.Throws<ElfFormatException>(() => ElfObject.Read(_dir.Path));
        Assert.Equal("file", e.Field);
        Assert.Contains("is a directory", e.Message);
        Assert.Equal(ElfCompatibility.Invalid, ElfObject.CheckCompatibility(_dir.Path, out var reason));
        Assert.Contains("Is a directory", reason);
    }

    [Fact]
    public void Read_PhentsizeLie_NamesEPhentsize()
    {
        var e = ReadFails(new TestElfWriter { PhEntSize = 12, Needed = ["x"] }.Build());
        Assert.Equal("e_phentsize", e.Field);
        Assert.Contains("expected 56 for ELFCLASS64", e.Message);
        Assert.Equal(0x36, e.Offset);
    }

    [Fact]
    public void Read_PhnumLie_NamesEPhnum()
    {
        var e = ReadFails(new TestElfWriter { PhNum = 60000, Needed = ["x"] }.Build());
        Assert.Equal("e_phnum", e.Field);
    }

    [Fact]
    public void Read_DynamicOutsideFile_NamesPtDynamic()
    {
        var e = ReadFails(new TestElfWriter { DynamicOffset = 0xFFFF_FFFF_FFFF_FF00, Needed = ["x"] }.Build());
        Assert.Equal("PT_DYNAMIC", e.Field);
    }

    [Fact]
    public void Read_StrtabOutsideEveryLoad_NamesDtStrtab()
    {
        var e = ReadFails(new TestElfWriter { StrtabAddress = 0x7000_0000, Needed = ["x"] }.Build());
        Assert.Equal("DT_STRTAB", e.Field);
        Assert.Contains("PT_LOAD", e.Message);
    }

    [Fact]
    public void Read_MissingStrtab_NamesDtStrtab()
    {
        var e = ReadFails(new TestElfWriter { OmitStrtab = true, Needed = ["x"] }.Build());
        Assert.Equal("DT_STRTAB", e.Field);
    }

    [Fact]
    public void Read_UnterminatedString_NamesTheEntry()
    {
        var w = new TestElfWriter { Needed = ["libfirst.so"], SoName = "libunterminated.so" };
        var image = w.Build();
        // DT_STRSZ that ends inside the last string (the SONAME): its NUL is outside the table.
        var lying = new TestElfWriter { Needed = ["libfirst.so"], SoName = "libunterminated.so", StrSz = (ulong)w.StrtabSize - 2 }.Build();
        var e = ReadFails(lying);
        Assert.Equal("DT_SONAME", e.Field);
        Assert.Contains("NUL-terminated", e.Message);
        Assert.NotNull(image);
    }

    [Fact]
    public void Read_StringOffsetBeyondStrsz_NamesTheEntry()
    {
        var e = ReadFails(new TestElfWriter { Needed = ["liba.so", "libb.so"], StrSz = 3 }.Build());
        Assert.Equal("DT_NEEDED", e.Field);
        Assert.Contains("DT_STRSZ", e.Message);
    }

    [Fact]
    public void Read_TenThousandNeeded_ReadsThemAll()
    {
        var names = Enumerable.Range(0, 10_000).Select(i => $"libn{i}.so.{i % 7}").ToList();
        string p = _dir.Write("many", new TestElfWriter { Needed = names }.Build());
        var o = ElfObject.Read(p);
        Assert.Equal(names, o.Needed);
        Assert.Equal(names, ReadelfFacts.Of(p).Needed);
    }

    public static TheoryData<string, ElfCompatibility, string> CompatibilityCases => new()
    {
        { "x86-64 ET_DYN", ElfCompatibility.Compatible, "" },
        { "ELFCLASS32", ElfCompatibility.Incompatible, "wrong ELF class: ELFCLASS32" },
        { "aarch64", ElfCompatibility.Incompatible, "wrong machine" },
        { "big-endian 64", ElfCompatibility.Invalid, "not little-endian" },
        { "ET_REL", ElfCompatibility.Invalid, "only ET_DYN and ET_EXEC" },
        { "phentsize 12", ElfCompatibility.Invalid, "phentsize" },
        { "OSABI 97", ElfCompatibility.Invalid, "OS ABI invalid" },
        { "no magic", ElfCompatibility.Invalid, "invalid ELF header" },
        { "40 bytes", ElfCompatibility.Invalid, "file too short" },
        { "phnum past EOF", ElfCompatibility.Invalid, "cannot read file data" },
    };

    [Theory]
    [MemberData(nameof(CompatibilityCases))]
    public void CheckCompatibility_Case_ClassifiesAsGlibc(string name, ElfCompatibility expected, string reasonPart)
    {
        byte[] image = name switch
        {
            "x86-64 ET_DYN" => Valid().Build(),
            "ELFCLASS32" => new TestElfWriter { Is64 = false, Machine = 3 }.Build(),
            "aarch64" => new TestElfWriter { Machine = 183 }.Build(),
            "big-endian 64" => new TestElfWriter { BigEndian = true }.Build(),
            "ET_REL" => new TestElfWriter { Type = 1 }.Build(),
            "phentsize 12" => new TestElfWriter { PhEntSize = 12 }.Build(),
            "OSABI 97" => new TestElfWriter { OsAbi = 97 }.Build(),
            "no magic" => new byte[100],
            "40 bytes" => Valid().Build()[..40],
            "phnum past EOF" => new TestElfWriter { PhNum = 1000 }.Build(),
            _ => throw new UnreachableException(name),
        };
        string p = _dir.Write("c", image);
        Assert.Equal(expected, ElfObject.CheckCompatibility(p, out var reason));
        Assert.Contains(reasonPart, reason);
    }
}
