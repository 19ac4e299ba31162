using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ConfineExec.Elf.Reading;

/// <summary>
/// Reads what ld.so reads of an object with positioned reads (pread): the ELF header and program headers in one
/// small read, PT_INTERP, PT_DYNAMIC (in chunks, up to DT_NULL), and only the part of the dynamic string table
/// that the used string offsets span, located by translating DT_STRTAB's address through the PT_LOAD mappings.
/// Section headers are never read. The bytes read depend on the number of program headers, dynamic entries and
/// the string lengths, never on the file's size.
/// </summary>
internal static class ElfObjectReader
{
    /// <summary>The first read: ELF header plus the program header table of any ordinary object (glibc's
    /// open_verify reads 832 bytes for the same purpose).</summary>
    internal const int HeadSize = 1024;

    private const int DynamicChunk = 4096;
    private const int InitialStringSlack = 512;
    private const ulong ClusterGap = 2048;
    private const int MaxInterpreter = 4096; // the kernel's PATH_MAX cap on PT_INTERP (binfmt_elf.c)

    private readonly record struct StringRef(long Tag, ulong Offset, long EntryFileOffset);

    public static ElfObject Read(SafeFileHandle handle, string path)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return Read((int)handle.DangerousGetHandle(), RandomAccess.GetLength(handle), default, path);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>Reads from a raw descriptor of a file of <paramref name="fileLength"/> bytes. When the caller
    /// already holds the file's first bytes (<paramref name="knownHead"/>, e.g. open_verify's 832) they are used
    /// instead of reading the head again: the common library costs three preads (head, PT_DYNAMIC, strings).</summary>
    internal static ElfObject Read(int fd, long fileLength, ReadOnlySpan<byte> knownHead, string path)
    {
        long bytesRead = 0;

        Span<byte> headBuffer = stackalloc byte[HeadSize];
        scoped ReadOnlySpan<byte> head;
        if (knownHead.Length >= Math.Min(HeadSize, fileLength) || knownHead.Length >= LoaderCompatibility.ReadSize)
        {
            head = knownHead;
            bytesRead += knownHead.Length;
        }
        else
        {
            int n = PRead(fd, headBuffer, 0, ref bytesRead, path);
            head = headBuffer[..n];
        }

        ThrowIfNotElf(head, path);
        var h = ElfHeader.Read(head, path);
        bool is64 = h.Is64;

        // Program header table: validated as the loader does before anything is trusted.
        ProgramHeader[] loads = [];
        ProgramHeader? interp = null, dynamic = null;
        if (h.PhNum != 0)
        {
            int expected = is64 ? ProgramHeader.Size64 : ProgramHeader.Size32;
            if (h.PhEntSize != expected)
            {
                ElfThrow.Invalid(path, is64 ? 0x36 : 0x2a, "e_phentsize",
                    $"is {h.PhEntSize}, expected {expected} for {(is64 ? "ELFCLASS64" : "ELFCLASS32")}");
            }
            ulong tableSize = (ulong)h.PhNum * h.PhEntSize;
            if (h.PhOff > (ulong)fileLength || tableSize > (ulong)fileLength - h.PhOff)
            {
                ElfThrow.Invalid(path, is64 ? ElfHeader.PhNumOffset64 : ElfHeader.PhNumOffset32, "e_phnum",
                    $"is {h.PhNum}: {tableSize} bytes of program headers at e_phoff 0x{h.PhOff:x} run past the end of the file ({fileLength} bytes)");
            }

            byte[]? rented = null;
            scoped ReadOnlySpan<byte> table;
            if (h.PhOff + tableSize <= (ulong)head.Length)
            {
                table = head.Slice((int)h.PhOff, (int)tableSize);
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent((int)tableSize);
                int got = PRead(fd, rented.AsSpan(0, (int)tableSize), (long)h.PhOff, ref bytesRead, path);
                table = rented.AsSpan(0, got);
            }
            try
            {
                loads = ParseProgramHeaders(table, (long)h.PhOff, h, path, out interp, out dynamic);
            }
            finally
            {
                if (rented != null) ArrayPool<byte>.Shared.Return(rented);
            }
        }

        string? interpreter = interp is { } ip ? ReadInterpreter(fd, ip, fileLength, path, ref bytesRead) : null;

        var result = new DynamicInfo();
        if (dynamic is { } dp)
            ReadDynamic(fd, dp, loads, fileLength, h, path, ref result, ref bytesRead);

        return new ElfObject
        {
            Path = path,
            Class = h.Class,
            BigEndian = h.BigEndian,
            Machine = h.Machine,
            Type = (ElfType)h.Type,
            OsAbi = h.OsAbi,
            AbiVersion = h.AbiVersion,
            Interpreter = interpreter,
            HasDynamic = dynamic.HasValue,
            Needed = result.Needed ?? [],
            SoName = result.SoName,
            RPath = result.RPath,
            RunPath = result.RunPath,
            Flags = result.Flags,
            Flags1 = result.Flags1,
            Auxiliary = result.Auxiliary ?? [],
            Filter = result.Filter ?? [],
            BytesRead = bytesRead,
        };
    }

    /// <summary>Diagnoses input that is not ELF at all, before ELF parsing starts.</summary>
    internal static void ThrowIfNotElf(ReadOnlySpan<byte> head, string path)
    {
        if (ElfObject.HasElfMagic(head))
        {
            int need = head.Length > ElfHeader.EI_CLASS && head[ElfHeader.EI_CLASS] == 1 ? ElfHeader.Size32 : ElfHeader.Size64;
            if (head.Length < need)
                ElfThrow.Invalid(path, head.Length, "ELF header", $"is cut short: file too short ({head.Length} bytes, the header needs {need})");
            return;
        }
        string problem =
            head.Length == 0 ? "is missing: the file is empty" :
            head.Length >= 2 && head[0] == '#' && head[1] == '!' ? "is missing: the file is a #! script, not ELF" :
            head.Length < 4 && head.SequenceEqual("\x7f\x45\x4c\x46"u8[..head.Length]) ? $"is cut short: file too short ({head.Length} bytes)" :
            head.StartsWith("!<arch>\n"u8) ? "is missing: the file is an ar archive (static library), not ELF" :
            head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b ? "is missing: the file is gzip-compressed, not ELF" :
            head.Length >= 4 && (head.StartsWith("\xca\xfe\xba\xbe"u8) || head.StartsWith("\xcf\xfa\xed\xfe"u8)) ? "is missing: the file is Mach-O, not ELF" :
            head.StartsWith("MZ"u8) ? "is missing: the file is a PE/DOS executable, not ELF" :
            $"is missing: the file starts with {Convert.ToHexString(head[..Math.Min(4, head.Length)])}, expected 7F454C46 (\\x7fELF)";
        ElfThrow.Invalid(path, 0, "ELF magic", problem);
    }

    private static ProgramHeader[] ParseProgramHeaders(ReadOnlySpan<byte> table, long tableOffset, in ElfHeader h,
        string path, out ProgramHeader? interp, out ProgramHeader? dynamic)
    {
        interp = null;
        dynamic = null;
        var r = new EndianReader(table, tableOffset, h.BigEndian, path);
        // p_type leads both layouts: count the PT_LOADs first so one pass reads every header once.
        int loadCount = 0;
        for (int i = 0; i < h.PhNum; i++)
            if (r.U32At((ulong)i * h.PhEntSize, "p_type") == ProgramHeader.PT_LOAD) loadCount++;
        ProgramHeader[] loads = loadCount == 0 ? [] : new ProgramHeader[loadCount];
        for (int i = 0, k = 0; i < h.PhNum; i++)
        {
            var ph = ProgramHeader.Read(ref r, h.Is64);
            if (ph.Type == ProgramHeader.PT_LOAD) loads[k++] = ph;
            else if (ph.Type == ProgramHeader.PT_INTERP) interp ??= ph;
            else if (ph.Type == ProgramHeader.PT_DYNAMIC) dynamic ??= ph;
        }
        return loads;
    }

    private static string ReadInterpreter(int fd, ProgramHeader ph, long fileLength, string path, ref long bytesRead)
    {
        CheckWithinFile(ph, fileLength, path, "PT_INTERP");
        if (ph.FileSize < 2 || ph.FileSize > MaxInterpreter)
            ElfThrow.Invalid(path, (long)ph.Offset, "PT_INTERP p_filesz", $"is {ph.FileSize}, expected 2..{MaxInterpreter} (the kernel's limits)");
        Span<byte> buffer = stackalloc byte[(int)ph.FileSize];
        int got = PRead(fd, buffer, (long)ph.Offset, ref bytesRead, path);
        var r = new EndianReader(buffer[..got], (long)ph.Offset, false, path);
        return r.Utf8String(0, ph.FileSize, "PT_INTERP", "p_filesz");
    }

    private static void CheckWithinFile(in ProgramHeader ph, long fileLength, string path, string what)
    {
        if (ph.Offset > (ulong)fileLength || ph.FileSize > (ulong)fileLength - ph.Offset)
        {
            ElfThrow.Invalid(path, (long)Math.Min(ph.Offset, long.MaxValue), what,
                $"segment (p_offset 0x{ph.Offset:x}, p_filesz 0x{ph.FileSize:x}) lies outside the file ({fileLength} bytes)");
        }
    }

    private struct DynamicInfo
    {
        public List<string>? Needed, Auxiliary, Filter;
        public string? SoName, RPath, RunPath;
        public ulong Flags, Flags1;
    }

    private static void ReadDynamic(int fd, ProgramHeader dp, ProgramHeader[] loads, long fileLength,
        in ElfHeader h, string path, ref DynamicInfo info, ref long bytesRead)
    {
        CheckWithinFile(dp, fileLength, path, "PT_DYNAMIC");
        if (dp.FileSize == 0)
            ElfThrow.Invalid(path, (long)dp.Offset, "PT_DYNAMIC p_filesz", "is 0 (ld.so: \"object file has no dynamic section\")");

        int entrySize = h.Is64 ? DynamicEntry.Size64 : DynamicEntry.Size32;
        List<StringRef>? refs = null;
        ulong strtab = 0, strsz = 0;
        bool haveStrtab = false, haveStrsz = false;
        long strtabEntryOffset = (long)dp.Offset;

        byte[] chunk = ArrayPool<byte>.Shared.Rent(DynamicChunk);
        try
        {
            ulong done = 0;
            bool sawNull = false;
            while (!sawNull && dp.FileSize - done >= (ulong)entrySize)
            {
                int want = (int)Math.Min((ulong)(DynamicChunk / entrySize * entrySize), (dp.FileSize - done) / (ulong)entrySize * (ulong)entrySize);
                long at = (long)(dp.Offset + done);
                int got = PRead(fd, chunk.AsSpan(0, want), at, ref bytesRead, path);
                var r = new EndianReader(chunk.AsSpan(0, got), at, h.BigEndian, path);
                int count = got / entrySize;
                for (int i = 0; i < count; i++)
                {
                    long entryOffset = at + (long)i * entrySize;
                    var d = DynamicEntry.Read(ref r, h.Is64);
                    switch (d.Tag)
                    {
                        case DynamicEntry.DT_NULL:
                            sawNull = true;
                            break;
                        case DynamicEntry.DT_NEEDED:
                        case DynamicEntry.DT_SONAME:
                        case DynamicEntry.DT_RPATH:
                        case DynamicEntry.DT_RUNPATH:
                        case DynamicEntry.DT_AUXILIARY:
                        case DynamicEntry.DT_FILTER:
                            (refs ??= new List<StringRef>(8)).Add(new StringRef(d.Tag, d.Value, entryOffset));
                            break;
                        case DynamicEntry.DT_STRTAB:
                            strtab = d.Value; haveStrtab = true; strtabEntryOffset = entryOffset;
                            break;
                        case DynamicEntry.DT_STRSZ:
                            strsz = d.Value; haveStrsz = true;
                            break;
                        case DynamicEntry.DT_FLAGS:
                            info.Flags = d.Value;
                            break;
                        case DynamicEntry.DT_FLAGS_1:
                            info.Flags1 = d.Value;
                            break;
                    }
                    if (sawNull) break;
                }
                if (got < want) break;
                done += (ulong)got;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        if (refs == null) return;
        if (!haveStrtab)
            ElfThrow.Invalid(path, refs[0].EntryFileOffset, "DT_STRTAB", $"is missing, but {refs.Count} dynamic entries name strings in it");

        // Locate the string table the way the loader sees it: through the file-backed part of a PT_LOAD.
        ulong strtabOffset = 0, segmentRoom = 0;
        bool mapped = false;
        foreach (var load in loads)
        {
            if (load.TryMapFileBacked(strtab, out strtabOffset))
            {
                segmentRoom = load.FileSize - (strtab - load.VAddr);
                mapped = true;
                break;
            }
        }
        if (!mapped)
            ElfThrow.Invalid(path, strtabEntryOffset, "DT_STRTAB", $"address 0x{strtab:x} is not inside the file-backed part of any PT_LOAD segment");

        ulong limit = haveStrsz ? Math.Min(strsz, segmentRoom) : segmentRoom;
        if (strtabOffset >= (ulong)fileLength) limit = 0;
        else limit = Math.Min(limit, (ulong)fileLength - strtabOffset);
        string limitName = haveStrsz ? "DT_STRSZ" : "the PT_LOAD segment";

        foreach (var s in CollectionsMarshal.AsSpan(refs))
        {
            if (haveStrsz && s.Offset >= strsz)
                ElfThrow.Invalid(path, s.EntryFileOffset, DynamicEntry.TagName(s.Tag), $"string offset 0x{s.Offset:x} is outside DT_STRSZ (0x{strsz:x})");
            if (s.Offset >= limit)
                ElfThrow.Invalid(path, s.EntryFileOffset, DynamicEntry.TagName(s.Tag), $"string offset 0x{s.Offset:x} is outside the string table's file-backed bytes (0x{limit:x})");
        }

        // The used strings can be megabytes apart in a big library's dynstr (DT_NEEDED names near the start,
        // DT_SONAME near the end), so read clusters of nearby offsets, each window growing only if a string
        // runs past it.
        var order = new ulong[refs.Count];
        for (int i = 0; i < order.Length; i++) order[i] = refs[i].Offset;
        Array.Sort(order);
        var decoded = new string[order.Length]; // decoded[k]: the string at order[k]
        byte[] window = ArrayPool<byte>.Shared.Rent(InitialStringSlack * 2);
        try
        {
            int c = 0;
            while (c < order.Length)
            {
                ulong first = order[c];
                int last = c;
                while (last + 1 < order.Length && order[last + 1] - order[last] < ClusterGap) last++;
                ulong end = Math.Min(limit, order[last] + InitialStringSlack);
                while (true)
                {
                    int size = (int)(end - first);
                    if (window.Length < size)
                    {
                        ArrayPool<byte>.Shared.Return(window);
                        window = ArrayPool<byte>.Shared.Rent(size);
                    }
                    int got = PRead(fd, window.AsSpan(0, size), (long)(strtabOffset + first), ref bytesRead, path);
                    var span = window.AsSpan(0, got);
                    if (got == size && end < limit && span[(int)(order[last] - first)..].IndexOf((byte)0) < 0)
                    {
                        end = Math.Min(limit, end + Math.Max(end - first, (ulong)InitialStringSlack));
                        continue;
                    }
                    var r = new EndianReader(span, (long)(strtabOffset + first), h.BigEndian, path);
                    for (int k = c; k <= last; k++)
                    {
                        if (k > c && order[k] == order[k - 1]) { decoded[k] = decoded[k - 1]; continue; }
                        // The field (a search of the references) is named only for the error.
                        if (!r.TryCString(order[k] - first, (ulong)got, out var text))
                            text = r.CString(order[k] - first, (ulong)got, FieldFor(refs, order[k]), limitName);
                        decoded[k] = Encoding.UTF8.GetString(text);
                    }
                    break;
                }
                c = last + 1;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }
        Assign(refs, order, decoded, ref info);
    }

    private static string FieldFor(List<StringRef> refs, ulong offset)
    {
        foreach (var s in CollectionsMarshal.AsSpan(refs)) if (s.Offset == offset) return DynamicEntry.TagName(s.Tag);
        return "string";
    }

    private static void Assign(List<StringRef> refs, ulong[] order, string[] decoded, ref DynamicInfo info)
    {
        foreach (var s in CollectionsMarshal.AsSpan(refs))
        {
            string value = decoded[Array.BinarySearch(order, s.Offset)];
            switch (s.Tag)
            {
                case DynamicEntry.DT_NEEDED: (info.Needed ??= new List<string>(8)).Add(value); break;
                case DynamicEntry.DT_AUXILIARY: (info.Auxiliary ??= []).Add(value); break;
                case DynamicEntry.DT_FILTER: (info.Filter ??= []).Add(value); break;
                // Several of one kind: glibc's get-dynamic-info keeps the last (info[tag] = dyn).
                case DynamicEntry.DT_SONAME: info.SoName = value; break;
                case DynamicEntry.DT_RPATH: info.RPath = value; break;
                case DynamicEntry.DT_RUNPATH: info.RunPath = value; break;
            }
        }
    }

    /// <summary>pread(2) on a raw descriptor until <paramref name="buffer"/> is full or end of file (no lseek,
    /// no handle bookkeeping); returns the bytes read. An error is an IOException, as RandomAccess.Read gives.</summary>
    internal static int PRead(int fd, Span<byte> buffer, long offset, ref long bytesRead, string path)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = Interop.Libc.PRead(fd, buffer[total..], offset + total);
            if (n == -Interop.Libc.EINTR) continue;
            if (n < 0) throw new IOException($"pread {path} at offset {offset + total}: errno {-n}", -n);
            if (n == 0) break;
            total += n;
        }
        bytesRead += total;
        return total;
    }

    /// <summary>pread until <paramref name="buffer"/> is full or end of file; returns the bytes read.</summary>
    internal static int PRead(SafeFileHandle handle, Span<byte> buffer, long offset, ref long bytesRead)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer[total..], offset + total);
            if (n <= 0) break;
            total += n;
        }
        bytesRead += total;
        return total;
    }
}
