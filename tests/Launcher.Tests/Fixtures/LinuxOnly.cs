// The tests exercise Linux namespaces and file modes; nothing here runs elsewhere.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
