namespace ConfineExec.Launcher.Planning;

/// <summary>One <c>BindPaths=</c>/<c>BindReadOnlyPaths=</c> entry: <c>[-]SRC[:DEST[:rbind|norbind]]</c>.</summary>
/// <param name="Source">Host path (resolved on the host by the executor).</param>
/// <param name="Dest">Path inside the root (SRC when DEST is omitted).</param>
/// <param name="IgnoreMissing">The <c>-</c> prefix: skip when SRC does not exist.</param>
/// <param name="Recursive">rbind (default) or norbind.</param>
public sealed record BindSpec(string Source, string Dest, bool ReadOnly, bool IgnoreMissing = false, bool Recursive = true);
