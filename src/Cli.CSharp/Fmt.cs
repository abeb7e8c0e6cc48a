using System.Globalization;

namespace FunctionalNN.Cli;

/// <summary>The one place the command line turns numbers into text, always in the invariant culture.
/// Reports, progress and summaries print C's <c>%g</c> (<see cref="G"/>): 6 significant digits, trailing zeros
/// dropped, the exponent form below 1e-4 and from 1e6 on ("0.966667", "1", "2.5e-05", "1.23457e+08"), so that no
/// number is 17 or 300 digits long. Predictions written as CSV keep every digit (<see cref="Cell"/>): they are
/// data for other programs, as the JSON output is.</summary>
public static class Fmt
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>C's <c>%.{digits}g</c>: <paramref name="digits"/> significant digits (6 by default, as
    /// <c>%g</c>), fixed notation when the decimal exponent X satisfies -4 &lt;= X &lt; digits, else d.ddde+XX;
    /// trailing zeros and a trailing point removed; "nan", "inf" and "-inf" as C prints them.</summary>
    public static string G(double v, int digits = 6)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsPositiveInfinity(v)) return "inf";
        if (double.IsNegativeInfinity(v)) return "-inf";
        // .NET's "G<n>" chooses between the two notations by the same rule as C (-5 < X < n) and drops trailing
        // zeros; it writes the exponent as E+XX (at least two digits), which C writes e+XX.
        return v.ToString("G" + digits.ToString(Inv), Inv).Replace('E', 'e');
    }

    /// <summary>A number in a CSV file the command writes: the shortest text that reads back to the same double.</summary>
    public static string Cell(double v) => v.ToString("R", Inv);

    /// <summary>A count with its noun, singular for 1 ("1 output", "2 outputs", "0 epochs").</summary>
    public static string Count(long n, string noun) => $"{n.ToString(Inv)} {noun}{(n == 1 ? "" : "s")}";
}
