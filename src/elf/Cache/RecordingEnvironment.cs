using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace ConfineExec.Elf;

/// <summary>The target environment as the scan sees it, reporting every variable read to an
/// <see cref="ObservationLog"/>; enumerating it (or asking its size) makes the scan uncacheable.</summary>
internal sealed class RecordingEnvironment(IReadOnlyDictionary<string, string> inner, ObservationLog log) : IReadOnlyDictionary<string, string>
{
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        bool found = inner.TryGetValue(key, out value);
        log.Read(key, found ? value : null);
        return found;
    }

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public string this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);

    public int Count { get { ReadAll(); return inner.Count; } }

    public IEnumerable<string> Keys { get { ReadAll(); return inner.Keys; } }

    public IEnumerable<string> Values { get { ReadAll(); return inner.Values; } }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        ReadAll();
        return inner.GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void ReadAll() => log.ReadAll();
}
