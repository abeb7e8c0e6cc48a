using System.Globalization;

namespace FunctionalNN.Cli;

/// <summary>Parsed "--name value" pairs and "--flag" switches; every option must be used by the command.</summary>
public sealed class Options
{
    private static readonly HashSet<string> Flags = new() { "json", "no-header", "residual", "quiet" };
    private readonly Dictionary<string, string> values = new();
    private readonly HashSet<string> used = new();
    /// <summary>Options given without a value (at the end of the line, or followed by another option), with what
    /// followed them: an error only when the command reads them, so that an unknown one is reported as unknown.</summary>
    private readonly Dictionary<string, string?> withoutValue = new();

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
            else if (i + 1 < args.Length && !IsOption(args[i + 1])) value = args[++i];
            else
            {
                // "--out --json": the next argument is an option, not --out's value (--out=--json gives such a value).
                value = "";
                o.withoutValue[name] = i + 1 < args.Length ? args[i + 1] : null;
            }
            if (!o.values.TryAdd(name, value)) throw new UsageException($"--{name} is given twice");
        }
        return o;
    }

    private static bool IsOption(string a) => a.StartsWith("--") && a.Length >= 3;

    /// <summary>True when the option was given.</summary>
    public bool Has(string name) { used.Add(name); return values.ContainsKey(name); }

    /// <summary>The option's text, or the default.</summary>
    public string? Get(string name, string? fallback = null)
    {
        used.Add(name);
        if (withoutValue.TryGetValue(name, out var next))
            throw new UsageException(next is null
                ? $"--{name} needs a value"
                : $"--{name} needs a value: the next argument, {next}, is an option (write --{name}={next} for a value that starts with --)");
        return values.TryGetValue(name, out var v) ? v : fallback;
    }

    /// <summary>The option's text, a column's name (null when absent); a usage error when it is empty or blank.</summary>
    public string? GetColumnName(string name)
    {
        var v = Get(name);
        if (v is not null && string.IsNullOrWhiteSpace(v)) throw new UsageException($"--{name} is empty; give a column's name");
        return v;
    }

    /// <summary>The option's text; a usage error when it is missing.</summary>
    public string Require(string name, string what)
    {
        if (Get(name) is string v) return v;
        // A typo of the required option (--modle for --model) gets its hint here, before the unused options are checked.
        var typo = values.Keys.Where(k => !used.Contains(k)).FirstOrDefault(k => DidYouMean(k, new[] { name }) is not null);
        throw new UsageException(typo is null ? $"--{name} {what} is required" : $"--{name} {what} is required; unknown option --{typo}: did you mean --{name}?");
    }

    /// <summary>A switch.</summary>
    public bool Flag(string name) => Get(name) is string v && v != "false";

    /// <summary>A number option.</summary>
    public double Double(string name, double fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
            throw new UsageException($"--{name} needs a number, not '{v}'");
        // A nonzero number below the smallest double (1e-400) reads as 0, which each option takes as something else
        // (--lambda 0 is least squares, --test-fraction 0 no test rows) or refuses naming 0, not what was given.
        if (d == 0 && NonzeroMantissa(v))
            throw new UsageException($"--{name} {v} is so small that it underflows to 0 in double precision (the smallest positive double is about 4.9e-324); give a larger value, or 0");
        return d;
    }

    /// <summary>True when a number's text has a nonzero digit before its exponent ("1e-400", "0.5e-330"; not "0", "0.0e5"):
    /// a number that is not zero, whatever it parses to.</summary>
    private static bool NonzeroMantissa(string text)
    {
        var e = text.IndexOfAny(['e', 'E']);
        return (e < 0 ? text : text[..e]).Any(c => c is >= '1' and <= '9');
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

    /// <summary>The CSV options --separator, --quote, --no-header, --missing, --missing-values and --text-columns, as
    /// a format (null when none is given, so that the library detects and defaults everything).</summary>
    public CsvFormat? DataFormat()
    {
        var separator = Get("separator");
        var quoteText = Get("quote");
        var noHeader = Flag("no-header");
        var missing = Get("missing");
        var markers = Get("missing-values");
        var text = List("text-columns");
        if (separator is null && quoteText is null && !noHeader && missing is null && markers is null && text is null) return null;
        char? quote = quoteText switch
        {
            null => null,
            _ when quoteText.Trim().ToLowerInvariant() is "double" => '"',
            _ when quoteText.Trim().ToLowerInvariant() is "single" or "apostrophe" => '\'',
            _ when quoteText.Length == 1 && quoteText[0] is not ('\n' or '\r') => quoteText[0],
            _ => throw new UsageException($"--quote needs one character (\" or ', or the names double and single), not '{quoteText.Replace("\n", "\\n").Replace("\r", "\\r")}'"),
        };
        char? sep = separator?.Trim().ToLowerInvariant() switch
        {
            null => null,
            "," or "comma" => ',',
            ";" or "semicolon" => ';',
            "tab" or "\\t" or "\t" => '\t',
            "|" or "pipe" => '|',
            _ when separator.Length == 1 => separator[0],
            _ => throw new UsageException($"--separator needs one character, 'tab' or 'semicolon', not '{separator}'"),
        };
        var policy = missing?.Trim().ToLowerInvariant() switch
        {
            null or "error" => MissingValues.Error,
            "drop" => MissingValues.Drop,
            "mean" => MissingValues.Mean,
            "median" => MissingValues.Median,
            "most_frequent" or "most-frequent" or "mode" => MissingValues.MostFrequent,
            _ => throw new UsageException($"--missing needs error, drop, mean, median or most_frequent, not '{missing}'"),
        };
        return new CsvFormat
        {
            Separator = sep,
            Quote = quote,
            HasHeader = !noHeader,
            Missing = policy,
            MissingMarkers = markers?.Split(',', StringSplitOptions.TrimEntries),
            TextColumns = text,
        };
    }

    /// <summary>Refuses, as a usage error, the options that go with --data only when the data are an embedded data
    /// set (--dataset): the CSV options of <see cref="DataFormat"/> (there is no file to read with them), and
    /// --target when the command reads one (<paramref name="target"/>; the data set has its own), and a
    /// <paramref name="name"/> that is no embedded data set's.</summary>
    public static void CheckEmbedded(CsvFormat? format, string? target = null, string? name = null)
    {
        if (name is not null && !Dataset.EmbeddedNames.Contains(name.Trim().ToLowerInvariant()))
            throw new UsageException($"--dataset: there is no embedded data set called '{name}'; the embedded data sets are {string.Join(", ", Dataset.EmbeddedNames)} (or give --data PATH)");
        if (target is not null) throw new UsageException("--target goes with --data; an embedded data set has its own target");
        if (format is not null) throw new UsageException("--separator, --quote, --no-header, --missing, --missing-values and --text-columns go with --data");
    }

    /// <summary>--unknown-category error|zeros, or null when not given.</summary>
    public UnknownCategory? Unknown()
    {
        var v = Get("unknown-category");
        return v?.Trim().ToLowerInvariant() switch
        {
            null => null,
            "error" => UnknownCategory.Error,
            "zeros" or "zero" => UnknownCategory.Zeros,
            _ => throw new UsageException($"--unknown-category needs error or zeros, not '{v}'"),
        };
    }

    /// <summary>A usage error for any option the command did not read, with the nearest option it reads as a hint.</summary>
    public void CheckAllUsed()
    {
        var unknown = values.Keys.Where(k => !used.Contains(k)).ToArray();
        if (unknown.Length == 0) return;
        var hint = DidYouMean(unknown[0], used) is string near ? $"; did you mean --{near}?" : "";
        throw new UsageException($"unknown option --{unknown[0]} for this command{hint} (fnn --help)");
    }

    /// <summary>The candidate nearest to <paramref name="word"/> by edit distance (insertions, deletions,
    /// substitutions and swaps of neighbours), when it is near enough to be a typo: at most 1 edit for words up
    /// to 4 letters, 2 up to 8, 3 beyond; null otherwise.</summary>
    public static string? DidYouMean(string word, IEnumerable<string> candidates)
    {
        int limit = word.Length <= 4 ? 1 : word.Length <= 8 ? 2 : 3;
        var best = candidates.Select(c => (c, d: Distance(word.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(x => x.d <= limit).OrderBy(x => x.d).ThenBy(x => x.c, StringComparer.Ordinal).FirstOrDefault();
        return best.c;
    }

    // Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring).
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
