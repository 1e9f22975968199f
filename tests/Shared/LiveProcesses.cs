namespace Gpff.Testing;

/// <summary>
/// The live processes working in a folder (Linux /proc), to check that a cancelled or killed run left no
/// child (pw.x) behind. Compiled into every test project (Directory.Build.props).
/// </summary>
internal static class LiveProcesses
{
    /// <summary>Live processes (not zombies) whose working directory is <paramref name="dir"/>, as "PID name".</summary>
    /// <param name="dir">The folder.</param>
    public static List<string> In(string dir)
    {
        var found = new List<string>();
        foreach (var p in Directory.EnumerateDirectories("/proc"))
        {
            string pid = Path.GetFileName(p);
            if (!pid.All(char.IsAsciiDigit))
            {
                continue;
            }

            try
            {
                var target = new DirectoryInfo(Path.Combine(p, "cwd")).LinkTarget;
                string stat = File.ReadAllText(Path.Combine(p, "stat"));
                bool zombie = stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
                if (!zombie && target is not null && Path.TrimEndingDirectorySeparator(target) == Path.TrimEndingDirectorySeparator(dir))
                {
                    found.Add($"{pid} {File.ReadAllText(Path.Combine(p, "comm")).Trim()}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Process ended or is not ours.
            }
        }

        return found;
    }
}
