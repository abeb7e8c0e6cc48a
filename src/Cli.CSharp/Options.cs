using System.Globalization;

namespace FunctionalNN.Cli;

/// <summary>Parsed "--name value" pairs and "--flag" switches; every option must be used by the command.</summary>
public sealed class Options
{
    private static readonly HashSet<string> Flags = new() { "json" };
    private readonly Dictionary<string, string> values = new();
    private readonly HashSet<string> used = new();

    /// <summary>Parses the arguments after the command name.</summary>
    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--") || a.Length < 3) throw new UsageException($"unexpected argument '{a}' (options start with --; fnn --help)");
            var name = a[2..];
            string value;
            var eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (Flags.Contains(name)) value = "true";
            else if (i + 1 < args.Length) value = args[++i];
            else throw new UsageException($"--{name} needs a value");
            if (!o.values.TryAdd(name, value)) throw new UsageException($"--{name} is given twice");
        }
        return o;
    }

    /// <summary>True when the option was given.</summary>
    public bool Has(string name) { used.Add(name); return values.ContainsKey(name); }

    /// <summary>The option's text, or the default.</summary>
    public string? Get(string name, string? fallback = null) { used.Add(name); return values.TryGetValue(name, out var v) ? v : fallback; }

    /// <summary>The option's text; a usage error when it is missing.</summary>
    public string Require(string name, string what) => Get(name) ?? throw new UsageException($"--{name} {what} is required");

    /// <summary>A switch.</summary>
    public bool Flag(string name) => Get(name) is string v && v != "false";

    /// <summary>A number option.</summary>
    public double Double(string name, double fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
            throw new UsageException($"--{name} needs a number, not '{v}'");
        return d;
    }

    /// <summary>An integer option.</summary>
    public long Long(string name, long fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d)) throw new UsageException($"--{name} needs an integer, not '{v}'");
        return d;
    }

    /// <summary>An int option.</summary>
    public int Int(string name, int fallback)
    {
        var v = Long(name, fallback);
        if (v < int.MinValue || v > int.MaxValue) throw new UsageException($"--{name} is out of range");
        return (int)v;
    }

    /// <summary>A comma-separated list, or null.</summary>
    public string[]? List(string name) =>
        Get(name) is string v ? v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null;

    /// <summary>A usage error for any option the command did not read.</summary>
    public void CheckAllUsed()
    {
        var unknown = values.Keys.Where(k => !used.Contains(k)).ToArray();
        if (unknown.Length > 0) throw new UsageException($"unknown option --{unknown[0]} for this command (fnn --help)");
    }
}
