namespace ConfineExec.Elf.Tests.Reading;

public class ElfObjectTests(ITestOutputHelper output)
{
    public static TheoryData<string> RealFiles => new()
    {
        "/bin/ls",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/ld-linux-x86-64.so.2",
        "/usr/bin/git",
        "/lib/x86_64-linux-gnu/libz.so.1",
    };

    [Theory]
    [MemberData(nameof(RealFiles))]
    public void Read_RealFile_AgreesWithReadelf(string path)
    {
        if (!File.Exists(path)) Assert.Skip($"{path} is not on this machine");
        AssertAgrees(path, ElfObject.Read(path));
    }

    [Fact]
    public void Read_LibC_IsElf64LsbX8664SharedObject()
    {
        var o = ElfObject.Read("/lib/x86_64-linux-gnu/libc.so.6");
        Assert.Equal(ElfClass.Elf64, o.Class);
        Assert.False(o.BigEndian);
        Assert.Equal(62, o.Machine);
        Assert.Equal(ElfType.Dyn, o.Type);
        Assert.True(o.HasDynamic);
        Assert.Equal("libc.so.6", o.SoName);
        Assert.Equal(["ld-linux-x86-64.so.2"], o.Needed);
    }

    [Fact]
    public void Read_Gcc32BitExecutable_AgreesWithReadelf()
    {
        using var dir = new ScratchDir();
        string src = dir.Write("m.c", "int main(void){return 0;}"u8.ToArray());
        string exe = Path.Combine(dir.Path, "m32");
        if (!Tool.Exists("gcc") || Tool.Run("gcc", "-m32", src, "-o", exe, "-Wl,-rpath,/opt/x").Code != 0)
            Assert.Skip("gcc -m32 cannot build here (no multilib)");
        var o = ElfObject.Read(exe);
        Assert.Equal(ElfClass.Elf32, o.Class);
        Assert.Equal(3, o.Machine); // EM_386
        Assert.Equal(ElfCompatibility.Incompatible, ElfObject.CheckCompatibility(exe, out var reason));
        Assert.Equal("wrong ELF class: ELFCLASS32", reason);
        AssertAgrees(exe, o);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Read_WriterImageOfEitherClassAndOrder_AgreesWithReadelf(bool is64, bool bigEndian)
    {
        using var dir = new ScratchDir();
        var w = new TestElfWriter
        {
            Is64 = is64, BigEndian = bigEndian, Machine = bigEndian ? (ushort)22 : (ushort)62, // EM_S390 / EM_X86_64
            Interpreter = "/lib/ld-test.so.1", Needed = ["liba.so.1", "libb.so.2"], SoName = "libme.so.3",
            RunPath = "$ORIGIN/../lib:/opt/lib", Flags1 = ElfObject.DF_1_NODEFLIB,
        };
        string path = dir.Write("image", w.Build());
        var o = ElfObject.Read(path);
        Assert.Equal(is64 ? ElfClass.Elf64 : ElfClass.Elf32, o.Class);
        Assert.Equal(bigEndian, o.BigEndian);
        Assert.Equal(w.Machine, o.Machine);
        Assert.Equal(ElfObject.DF_1_NODEFLIB, o.Flags1);
        Assert.Equal(["liba.so.1", "libb.so.2"], o.Needed);
        AssertAgrees(path, o);
    }

    [Fact]
    public void Read_SectionlessCopyOfBinary_ReadsIdentically()
    {
        using var dir = new ScratchDir();
        var bytes = File.ReadAllBytes("/bin/ls");
        // e_shoff (0x28, 8 bytes), e_shnum (0x3c), e_shstrndx (0x3e) zeroed: the loader never looks at them.
        bytes.AsSpan(0x28, 8).Clear();
        bytes.AsSpan(0x3c, 4).Clear();
        string copy = dir.Write("ls-nosections", bytes);
        var a = ElfObject.Read("/bin/ls");
        var b = ElfObject.Read(copy);
        Assert.Equal(a.Interpreter, b.Interpreter);
        Assert.Equal(a.Needed, b.Needed);
        Assert.Equal((a.SoName, a.RPath, a.RunPath, a.Flags, a.Flags1), (b.SoName, b.RPath, b.RunPath, b.Flags, b.Flags1));
        Assert.Equal(a.BytesRead, b.BytesRead);
        AssertAgrees(copy, b);
    }

    [Fact]
    public void Read_LargestSharedObject_ReadsAboutAsManyBytesAsASmallOne()
    {
        const string small = "/lib/x86_64-linux-gnu/libz.so.1";
        string? largest = LargestSharedObject();
        if (largest == null || !File.Exists(small)) Assert.Skip("no shared objects to compare");
        var s = ElfObject.Read(small);
        var l = ElfObject.Read(largest);
        long sSize = new FileInfo(Path.GetFullPath(small)).ResolveLinkTarget(true) is FileInfo t ? t.Length : new FileInfo(small).Length, lSize = new FileInfo(largest).Length;
        output.WriteLine($"{small}: {sSize:N0} bytes on disk, {s.BytesRead:N0} read");
        output.WriteLine($"{largest}: {lSize:N0} bytes on disk, {l.BytesRead:N0} read");
        // Flat: the cost follows the header/dynamic/string sizes, not the file size (which differs ~1000×).
        Assert.InRange(l.BytesRead, 1, 64 * 1024);
        Assert.InRange(l.BytesRead, 1, Math.Max(8 * s.BytesRead, 16 * 1024));
    }

    [Fact]
    public void CheckCompatibility_RealX8664Objects_AreCompatible()
    {
        foreach (var p in new[] { "/bin/ls", "/lib/x86_64-linux-gnu/libc.so.6" })
        {
            Assert.Equal(ElfCompatibility.Compatible, ElfObject.CheckCompatibility(p, out var reason));
            Assert.Equal("", reason);
        }
    }

    internal static string? LargestSharedObject()
    {
        string? best = null;
        long bestSize = 0;
        var opts = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var f in new DirectoryInfo("/usr/lib").EnumerateFiles("*.so*", opts))
        {
            if (f.Length > bestSize) { best = f.FullName; bestSize = f.Length; }
        }
        return best;
    }

    private static void AssertAgrees(string path, ElfObject o)
    {
        var r = ReadelfFacts.Of(path);
        Assert.Equal(r.Interpreter, o.Interpreter);
        Assert.Equal(r.Needed, o.Needed);
        Assert.Equal(r.SoName, o.SoName);
        Assert.Equal(r.RPath, o.RPath);
        Assert.Equal(r.RunPath, o.RunPath);
    }
}
