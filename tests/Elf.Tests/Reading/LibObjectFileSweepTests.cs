using System.Collections.Concurrent;
using System.Text;
using LibObjectFile.Elf;

namespace ConfineExec.Elf.Tests.Reading;

/// <summary>Our segment-based reader against LibObjectFile 2.3.1's section-based one on every ELF file with
/// section headers under /usr/lib/x86_64-linux-gnu and /usr/bin.</summary>
public class LibObjectFileSweepTests(ITestOutputHelper output)
{
    private static readonly string[] Roots = ["/usr/lib/x86_64-linux-gnu", "/usr/bin"];

    [Fact]
    public void Read_EveryElfWithSections_AgreesWithLibObjectFile()
    {
        var files = new List<string>();
        var opts = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var root in Roots)
            if (Directory.Exists(root)) files.AddRange(Directory.EnumerateFiles(root, "*", opts));

        int elf = 0, sectionless = 0, oracleFailed = 0, compared = 0;
        var differences = new ConcurrentBag<string>();
        var oracleFailures = new ConcurrentBag<string>();
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = 2 }, path =>
        {
            Span<byte> head = stackalloc byte[64];
            int n;
            try
            {
                using var h = File.OpenHandle(path);
                n = RandomAccess.Read(h, head, 0);
            }
            catch (IOException) { return; }
            catch (UnauthorizedAccessException) { return; }
            if (n < 64 || !ElfObject.HasElfMagic(head)) return;
            Interlocked.Increment(ref elf);
            bool is64 = head[4] == 2;
            int shnum = is64 ? BitConverter.ToUInt16(head[0x3c..]) : BitConverter.ToUInt16(head[0x30..]);
            if (shnum == 0) { Interlocked.Increment(ref sectionless); return; }

            ElfObject ours;
            try { ours = ElfObject.Read(path); }
            catch (ElfFormatException e) { differences.Add($"{path}: our reader threw: {e.Message}"); return; }

            Facts theirs;
            try { theirs = Facts.FromLibObjectFile(path); }
            catch (Exception e) { Interlocked.Increment(ref oracleFailed); oracleFailures.Add($"{path}: {e.GetType().Name}"); return; }

            Interlocked.Increment(ref compared);
            var mine = new Facts(ours.Interpreter, ours.Needed.ToList(), ours.SoName, ours.RPath, ours.RunPath);
            string? diff = mine.Diff(theirs);
            if (diff != null) differences.Add($"{path}: {diff}");
        });

        output.WriteLine($"{files.Count} files, {elf} ELF, {sectionless} without section headers (skipped), " +
                         $"{oracleFailed} LibObjectFile could not read, {compared} compared, {differences.Count} differences");
        foreach (var f in oracleFailures.Take(20)) output.WriteLine("oracle failed: " + f);
        foreach (var d in differences.Take(50)) output.WriteLine("DIFF " + d);
        Assert.True(compared > 100, $"only {compared} files compared");
        Assert.Empty(differences);
    }

    private sealed record Facts(string? Interpreter, List<string> Needed, string? SoName, string? RPath, string? RunPath)
    {
        public static Facts FromLibObjectFile(string path)
        {
            using var stream = File.OpenRead(path);
            var elf = ElfFile.Read(stream, new ElfReaderOptions { UseSubStream = true });
            string? interp = null;
            foreach (var section in elf.Sections)
            {
                if (section.Name.Value == ".interp" && section is ElfStreamSection s)
                {
                    var ms = new MemoryStream();
                    s.Stream.Position = 0;
                    s.Stream.CopyTo(ms);
                    var bytes = ms.ToArray();
                    int nul = Array.IndexOf(bytes, (byte)0);
                    interp = Encoding.UTF8.GetString(bytes, 0, nul < 0 ? bytes.Length : nul);
                }
            }
            var dyn = elf.Sections.OfType<ElfDynamicLinkingTable>().FirstOrDefault();
            var needed = dyn?.GetNeededLibraries().ToList() ?? [];
            string? soname = null, rpath = null, runpath = null;
            if (dyn != null)
            {
                foreach (var e in dyn.Entries)
                {
                    if (e.TagType == ElfDynamicTag.SoName && dyn.TryGetString(e, out var v1)) soname = v1;
                    else if (e.TagType == ElfDynamicTag.RPath && dyn.TryGetString(e, out var v2)) rpath = v2;
                    else if (e.TagType == ElfDynamicTag.RunPath && dyn.TryGetString(e, out var v3)) runpath = v3;
                }
            }
            return new Facts(interp, needed, soname, rpath, runpath);
        }

        public string? Diff(Facts o)
        {
            if (Interpreter != o.Interpreter) return $"PT_INTERP {Interpreter} vs {o.Interpreter}";
            if (!Needed.SequenceEqual(o.Needed)) return $"DT_NEEDED [{string.Join(",", Needed)}] vs [{string.Join(",", o.Needed)}]";
            if (SoName != o.SoName) return $"SONAME {SoName} vs {o.SoName}";
            if (RPath != o.RPath) return $"RPATH {RPath} vs {o.RPath}";
            if (RunPath != o.RunPath) return $"RUNPATH {RunPath} vs {o.RunPath}";
            return null;
        }
    }
}
