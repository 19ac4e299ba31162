using System.Text.RegularExpressions;

namespace ConfineExec.Elf.Tests.Closure;

/// <summary>The hand-written parsers that replaced a regex and a whole-image scan in the interpreter profile,
/// held to the regex they replaced and to the whole-image answer.</summary>
public class InterpreterProfileParsingTests
{
    private static readonly Regex Reference = new(@"^(?<store>.*/nix/store/[0-9a-df-np-sv-z]{32}-glibc-(?<ver>[0-9]+\.[0-9]+)[^/]*)/lib(64)?/ld-linux-x86-64\.so\.2$");

    private const string Hash = "0123456789abcdfghijklmnpqrsvwxyz";

    [Theory]
    [InlineData("/nix/store/" + Hash + "-glibc-2.38-44/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-2.38-44/lib64/ld-linux-x86-64.so.2")]
    [InlineData("/home/u/nix/store/" + Hash + "-glibc-2.40/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-2.38.1-rc/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-12.345x/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-2/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-2./lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-.38/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/0123456789abcdfghijklmnpqrsvwxye-glibc-2.38/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "x-glibc-2.38/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-musl-1.2/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-2.38/lib/lib/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-2.38/lib32/ld-linux-x86-64.so.2")]
    [InlineData("/nix/store/" + Hash + "-glibc-2.38/lib/ld-linux-x86-64.so.2.bak")]
    [InlineData("/nix/stor/" + Hash + "-glibc-2.38/lib/ld-linux-x86-64.so.2")]
    [InlineData("/xnix/store/" + Hash + "-glibc-2.38/lib/ld-linux-x86-64.so.2")]
    [InlineData("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")]
    [InlineData("/lib64/ld-linux-x86-64.so.2")]
    public void NixGlibcLoader_AnyPath_AgreesWithRegex(string path)
    {
        var m = Reference.Match(path);
        bool ours = InterpreterProfile.TryParseNixGlibcLoader(path, out string store, out string version);
        Assert.Equal(m.Success, ours);
        if (!ours) return;
        Assert.Equal(m.Groups["store"].Value, store);
        Assert.Equal(m.Groups["ver"].Value, version);
    }

    [Fact]
    public void FromImage_HostLoader_SameAsWholeImageWithoutSegments()
    {
        const string ldso = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
        if (!File.Exists(ldso)) Assert.Skip("no " + ldso);
        byte[] image = File.ReadAllBytes(ldso);
        var viaSegments = InterpreterProfile.FromImage(ldso, image, HwCaps.Current);
        // Without the ELF magic the reader cannot find segments and scans the whole image.
        byte[] flat = (byte[])image.Clone();
        flat[0] = 0;
        var whole = InterpreterProfile.FromImage(ldso, flat, HwCaps.Current);
        Assert.Equal(whole.SystemDirs, viaSegments.SystemDirs);
        Assert.Equal(whole.DstLib, viaSegments.DstLib);
        Assert.Equal(whole.CachePath, viaSegments.CachePath);
        Assert.Equal(whole.GlibcVersion, viaSegments.GlibcVersion);
        Assert.Equal(["/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib/", "/usr/lib/"], viaSegments.SystemDirs);
    }
}
