using System.Reflection;
using FN = Functional.NN;

namespace FunctionalNN.Cli;

/// <summary>A command-line mistake: an unknown option, a missing value, a value that does not parse.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Data that cannot be read, its message rewritten for the command line: advice that works for a saved
/// model, or the option or model a column name came from (exit code 1).</summary>
public sealed class ModelDataException(string message, Exception inner) : Exception(message, inner);

/// <summary>The commands of fnn and their error handling: every error is one line on stderr and a non-zero exit.</summary>
public static class Cli
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        fnn: train, evaluate and run Functional.NN models.

        fnn [train] [--data PATH | --dataset iris|digits|commute] [options]
            --target COLUMN            the target column (default: the last one)
            --task auto|classification|regression
            --features A,B             use these feature columns only
            --layers 16,16             hidden layer widths ("none": no hidden layer)
            --activation tanh          identity, sigmoid, tanh, relu, leaky_relu, softplus
            --dropout P                a dropout block of rate P in [0, 1) after every hidden layer
            --normalization none       none, batch or layer: hidden layers become dense -> normalisation -> activation
            --residual                 skip connections around consecutive hidden layers of equal width
            --loss NAME                cross_entropy, mse, half_mse, bce, bce_logits, hinge, ...
            --optimizer adam           sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw
            --lr 0.001                 step size
            --epochs 200               the most epochs
            --batch-size 32            minibatch size, or "full" for full-batch gradient descent
            --scaling standard         standard, minmax, none
            --seed 0                   seed of the split, the weights and the batches
            --test-fraction 0.2        share of rows held out for testing (stratified)
            --validation-fraction 0    share of training rows held out for the validation loss
            --precision float64        float64 or float32: the network's precision (float32 files are half the size)
            --backend auto             auto (the kernels wherever they support the network), kernels or reference
            --patience 10              stop when the loss (the validation loss with --validation-fraction, else
                                       the training loss) has not improved by 1e-4 for N epochs; "off": never stop early
          the training defaults are the library's (scikit-learn's MLP: Adam 0.001, at most 200 epochs, the
          plateau stop; batches of 32); the notes' gradient descent: --optimizer sgd --batch-size full
          --lr 0.5 --epochs 500 --patience off
            --out MODEL                save the trained model
            --plots DIR                write loss, confusion-matrix and decision-region PNGs
            --json                     print the final metrics as one JSON object
            --quiet                    no summary and no progress lines: only the results
          Ctrl-C stops training at the next step, saves the model trained so far to --out, prints the
          report and exits with 130 (a second Ctrl-C ends the process at once)
          data options (train, evaluate, predict, explain; with --data only; a linear model's, and fnn linear, take
          all but --unknown-category, which goes with pipeline models):
            --separator ,|;|tab        the field separator (default: detected)
            --quote "'"                the quote character (default: ", as RFC 4180; never guessed)
            --no-header                the first line is data; columns are column1 .. columnN
            --missing error            error, drop, mean, median, most_frequent: what to do with missing values
            --missing-values "NA,?"    the texts that mean missing besides the empty field, in place of the default
                                       (pandas' list but None, and ?: NA,N/A,NaN,-NaN,null,#N/A,#N/A N/A,#NA,<NA>,1.#IND,
                                       -1.#IND,1.#QNAN,-1.#QNAN,?; any case)
            --text-columns A,B         read these columns as text (categories) even where their values are numbers
            --unknown-category error   error or zeros: an unseen text category at prediction
        fnn evaluate --model MODEL --data PATH [--target COLUMN] [data options] [--json]
        fnn predict --model MODEL --data PATH [data options] [--out CSV]   (a linear model: also [--target COLUMN])
        fnn predict --model M.onnx|NETWORK --data PATH [--features A,B] [--separator C] [--quote Q] [--no-header] [--out CSV]
        fnn export --model MODEL --out M.onnx [--opset 17]
        fnn import --onnx M.onnx --out MODEL
        fnn linear (--data PATH | --dataset commute) [--target COLUMN] [--features A,B] [--lambda L] [--test-fraction 0.2]
            [--seed 0] [--out MODEL] [--json] [data options]
            (--features A,B: fit on these columns only, as fnn train reads them, e.g. to leave out an ID or a text column;
            --lambda L: ridge with the intercept not penalised, as scikit-learn's Ridge(alpha = n L) on the n training rows;
            --missing mean|median|most_frequent fills the training and test rows with the training rows' values;
            a linear model file keeps its target's name and those fill values, and works with evaluate, predict and explain as a
            network's does, filling missing cells as the training rows were)
        fnn explain --model MODEL (--data PATH | --dataset NAME) [--row N] [--method integrated_gradients|gradient_x_input|permutation]
            [--class NAME] [--output probability|logit] [--steps N] [--tolerance 1e-6] [--backend auto|kernels|reference]
            [--repeats 5] [--seed 0] [--json] [--plots DIR] [data options]
          (evaluate and explain also read a pipeline's ONNX export; explain takes pipeline and linear models: a linear
          model's attributions are w_i (x_i - b_i) from the mean of the data's rows, its permutation importance the drop
          in R^2; --class, --output, --steps, --tolerance and --backend go with pipeline models; --tolerance is the
          integrated gradients' completeness gap, relative to the output's scale)
        fnn --help | --version
        """;

    private static readonly string[] Commands = { "train", "evaluate", "predict", "linear", "explain", "export", "import" };

    /// <summary>Runs a command line; returns the exit code (0 success, 1 error, 2 usage error, 130 training
    /// interrupted by Ctrl-C, with what was trained saved and reported).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        Stderr = stderr;
        // The options, for the error messages that name the option a value came from (null until they are parsed).
        Options? options = null;
        try
        {
            // "fnn train --help" (or -h after any command) is a request for the usage, not an option without its value.
            if (args.Length > 0 && (args[0] is "--help" or "-h" or "help" || args.Skip(1).Any(a => a is "--help" or "-h")))
            {
                stdout.WriteLine(Usage);
                return 0;
            }
            if (args.Length > 0 && args[0] == "--version")
            {
                stdout.WriteLine(typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown");
                return 0;
            }
            var command = args.Length == 0 || args[0].StartsWith("--") ? "train" : args[0];
            var rest = args.Length == 0 || args[0].StartsWith("--") ? args : args[1..];
            options = Options.Parse(rest);
            var code = command switch
            {
                "train" => TrainCommand.Run(options, stdout),
                "evaluate" => EvaluateCommand.Run(options, stdout),
                "predict" => PredictCommand.Run(options, stdout),
                "linear" => LinearCommand.Run(options, stdout),
                "explain" => ExplainCommand.Run(options, stdout),
                "export" => ExportCommand.Run(options, stdout),
                "import" => ImportCommand.Run(options, stdout),
                _ => throw new UsageException($"unknown command '{command}'{(Options.DidYouMean(command, Commands) is string near ? $"; did you mean '{near}'?" : "")} (the commands are train, evaluate, predict, linear, explain, export and import; fnn --help)"),
            };
            options.CheckAllUsed();
            return code;
        }
        catch (UsageException e)
        {
            // A message naming the command ("fnn export writes ONNX ...") after the tool's own prefix: "fnn: export writes ...".
            stderr.WriteLine($"fnn: {(e.Message.StartsWith("fnn ", StringComparison.Ordinal) ? e.Message["fnn ".Length..] : e.Message)}");
            return 2;
        }
        catch (Exception e) when (e is DataFormatException or ModelFormatException or FileNotFoundException
                                      or DirectoryNotFoundException or IOException or UnauthorizedAccessException
                                      or ArgumentException or TrainingDivergedException or InvalidOperationException
                                      or FN.DataFormatException or FN.ModelFormatException or FN.TrainingDivergedException or ModelDataException)
        {
            stderr.WriteLine($"fnn: {Describe(e, options)}");
            return 1;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"fnn: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            return 70;
        }
    }

    private static TextWriter Stderr = TextWriter.Null;

    /// <summary>Prints the data's reading warnings (e.g. a header of numbers: probably a file without a header) on
    /// stderr, one line each, and returns the data.</summary>
    public static Dataset Warn(Dataset data)
    {
        foreach (var warning in data.Warnings) Warn(warning);
        return data;
    }

    /// <summary>Prints a warning that is not an error on stderr, on one line, as <see cref="Warn(Dataset)"/> prints
    /// the data's reading warnings.</summary>
    public static void Warn(string warning) =>
        Stderr.WriteLine($"fnn: warning: {OneLine(CommandLineAdvice(warning))}");

    // The library's advice names an option of its API and then the command line's ("set CsvFormat.Missing (CLI: --missing
    // ...)"); fnn says only the command line's. The core's form and the C# facade's (which names its members) both.
    private static readonly (string Api, string CommandLine)[] Advice =
    {
        ("set CsvFormat.Missing (CLI: --missing drop|mean|median|most_frequent)", "use --missing drop|mean|median|most_frequent"),
        ("set the option Missing (CLI: --missing drop|mean|median|most_frequent)", "use --missing drop|mean|median|most_frequent"),
        ("set UnknownCategory to Zeros (CLI: --unknown-category zeros)", "use --unknown-category zeros"),
        ("read it with HasHeader = false (CLI: --no-header)", "read it with --no-header"),
        ("read it with format.HasHeader = false (CLI: --no-header)", "read it with --no-header"),
        ("read the file with HasHeader = false, CLI: --no-header", "read the file with --no-header"),
        ("read the file with format.HasHeader = false, CLI: --no-header", "read the file with --no-header"),
        ("leave it out with Features, CLI: --features", "leave it out with --features"),
        ("leave it out with features, CLI: --features", "leave it out with --features"),
        ("set TargetKind to Classification (CLI: --task classification)", "use --task classification"),
        ("set targetKind to TargetKind.Classification (CLI: --task classification)", "use --task classification"),
        ("set TargetKind (CLI: --task classification)", "use --task classification"),
        ("set targetKind (CLI: --task classification)", "use --task classification"),
        ("add it to MissingMarkers (CLI: --missing-values)", "add it to --missing-values"),
        ("add it to format.MissingMarkers (CLI: --missing-values)", "add it to --missing-values"),
        ("format.TextColumns names the column '", "--text-columns names the column '"),
        ("format.TextColumns: the column name '", "--text-columns: the column name '"),
        ("name it in TextColumns", "name it in --text-columns"),
        ("name it in format.TextColumns", "name it in --text-columns"),
        ("name the column in TextColumns", "name the column in --text-columns"),
        ("name the column in format.TextColumns", "name the column in --text-columns"),
        ("missing with MissingMarkers (CLI: --missing-values)", "missing with --missing-values"),
        ("missing with format.MissingMarkers (CLI: --missing-values)", "missing with --missing-values"),
        ("set MissingMarkers to a list without it (CLI: --missing-values)", "give --missing-values a list without it"),
        ("set format.MissingMarkers to a list without it (CLI: --missing-values)", "give --missing-values a list without it"),
        ("set the quote character to ' (Quote; CLI: --quote \"'\")", "use --quote \"'\""),
        ("set the quote character to ' (format.Quote; CLI: --quote \"'\")", "use --quote \"'\""),
        ("load the data with Missing set to Mean, Median or MostFrequent (CLI: --missing) and train again",
         "train again with --missing mean|median|most_frequent"),
        ("fit the model on imputed rows and keep their fill values (CLI: fnn linear --missing mean|median|most_frequent)",
         "refit it with fnn linear --missing mean|median|most_frequent"),
        ("read them with the ModelFile functions (CLI: rename it to .fnn, the name the command line reads model files by)",
         "rename it to .fnn, the name fnn reads model files by"),
        ("read it with the ONNX importer (Onnx.loadNetwork, or Onnx.loadPipeline for a pipeline export; CLI: name it .onnx, the name the command line reads ONNX files by)",
         "name it .onnx, the name fnn reads ONNX files by"),
        ("read it with the ONNX importer (OnnxModel.Import, or OnnxModel.ImportPipeline for a pipeline export; CLI: name it .onnx, the name the command line reads ONNX files by)",
         "name it .onnx, the name fnn reads ONNX files by"),
        ("(fnn export --model <file>.fnn --out <file>.onnx, or Onnx.exportPipeline)", "(fnn export --model <file>.fnn --out <file>.onnx)"),
        ("(fnn export --model <file>.fnn --out <file>.onnx, or Pipeline.Load(\"<file>.fnn\").ExportOnnx(\"<file>.onnx\"))",
         "(fnn export --model <file>.fnn --out <file>.onnx)"),
    };

    /// <summary>A library message as fnn prints it: advice that names an option of the library's API and then the
    /// command line's (<c>set CsvFormat.Missing (CLI: --missing drop|mean|median|most_frequent)</c>) names only the
    /// command line's (<c>use --missing drop|mean|median|most_frequent</c>).</summary>
    /// <param name="message">The library's message.</param>
    public static string CommandLineAdvice(string message)
    {
        foreach (var (api, commandLine) in Advice) message = message.Replace(api, commandLine, StringComparison.Ordinal);
        return message;
    }

    /// <summary>Prints what a command did on stderr, as it is (one line, no prefix: it is no error), for a command whose
    /// stdout may be its data: <c>fnn predict --out /dev/stdout</c> writes its CSV there, and a status line on stdout
    /// would become a line of it.</summary>
    public static void Status(string message) => Stderr.WriteLine(OneLine(message));

    /// <summary>Prints an error line on stderr (<c>fnn: </c> and the message on one line), for an error that does not
    /// end the command at once (a plot that could not be written after the model was saved and the report printed).</summary>
    public static void Error(string message) => Stderr.WriteLine($"fnn: {OneLine(message)}");

    /// <summary>The reason in a TrainingDivergedException's message ("the batch loss became NaN", ...).</summary>
    private static string DivergenceReason(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"step \d+: (.*?)( \(TrainingOptions\.DivergenceFactor\))?\. The last finite");
        return m.Success ? m.Groups[1].Value : OneLine(message);
    }

    private static string Describe(Exception e, Options? o) => e switch
    {
        // The core's message names LastGood and the options record; a command-line user gets what happened and the option to lower.
        TrainingDivergedException d => $"training diverged at epoch {d.Epoch}, step {d.Step}: {DivergenceReason(d.Message)}; lower --lr (the defaults, Adam with --lr 0.001, suit standardised data)",
        // An ONNX importer's refusal concerns an ONNX file (fnn import --onnx, fnn predict --model M.onnx), not a model file.
        OnnxFormatException or FN.OnnxFormatException => $"the ONNX file cannot be read: {OneLine(CommandLineAdvice(e.Message))}",
        ModelFormatException or FN.ModelFormatException => $"the model file cannot be read: {OneLine(CommandLineAdvice(e.Message))}",
        // The same refusal from the reader of a linear model's data (evaluate): the same message.
        DataFormatException or FN.DataFormatException when e.Message.EndsWith("' cannot be both a feature and the target.", StringComparison.Ordinal)
                                                          && o?.Has("model") == true && o.Get("target") is string t => TargetIsFeature(t),
        DataFormatException or FN.DataFormatException or ModelDataException => $"the data cannot be read: {OneLine(CommandLineAdvice(DataOptions(OptionNames(e.Message), e, o)))}",
        // The reader's refusal of a --target that is one of the model's features (evaluate), naming the option.
        ArgumentException { ParamName: "target" } a when a.Message.StartsWith("target is '", StringComparison.Ordinal) && o?.Get("target") is string t =>
            TargetIsFeature(t),
        ArgumentException a when a.ParamName is not null => OneLine(CommandLineAdvice(a.Message.Replace($" (Parameter '{a.ParamName}')", ""))),
        _ => OneLine(CommandLineAdvice(e.Message)),
    };

    /// <summary>The refusal of a --target that names one of a saved model's feature columns (fnn evaluate of a pipeline
    /// or a linear model).</summary>
    private static string TargetIsFeature(string target) =>
        $"--target {target} is one of the model's feature columns; name the column of the target with --target (or leave --target out: the model's own target)";

    /// <summary>A reading error's message with the option a column name came from as the command line spells it: the
    /// data set's target parameter is --target (a command whose target may be the model's says so itself, see
    /// <see cref="NamesFrom"/>); the features the commands pass to the reader are a model's.</summary>
    private static string OptionNames(string message) =>
        message.StartsWith("target: the column name '", StringComparison.Ordinal) ? "--target" + message["target".Length..]
        : message.StartsWith("features: the column name '", StringComparison.Ordinal) ? "the model's feature '" + message["features: the column name '".Length..]
        : message;

    /// <summary>A reading error's message in the command line's terms, from the options given (<paramref name="o"/>): a
    /// target column that is not there names --target (or the model's target) and, as a column of --features that is not
    /// there, the column it is probably a typo of (<see cref="Options.DidYouMean"/>) or, for a header read as one column
    /// that holds another separator, --separator; a column in both --features and the target names both options; no row
    /// left by --missing drop names it.</summary>
    private static string DataOptions(string message, Exception e, Options? o)
    {
        if (o is null) return message;
        const string noTarget = "There is no target column '";
        if (message.StartsWith(noTarget, StringComparison.Ordinal))
        {
            var given = o.Get("target");
            var name = e is DataFormatException d ? d.Column : null;
            message = given is not null ? "--target: there is no target column '" + message[noTarget.Length..]
                : $"the model's target: there is no target column '{message[noTarget.Length..].TrimEnd('.')}; name the data's target column with --target.";
            return WithColumnHint(message, given is not null ? name : null, o);
        }
        if (message.StartsWith("--features: the column name '", StringComparison.Ordinal) && message.Contains("' matches no column;", StringComparison.Ordinal))
            return WithColumnHint(message, (e.InnerException as DataFormatException)?.Column, o);
        if (message.StartsWith("the model's feature '", StringComparison.Ordinal) && message.Contains("' matches no column;", StringComparison.Ordinal))
            return WithColumnHint(message, null, o);
        if (message.EndsWith("' cannot be both a feature and the target.", StringComparison.Ordinal) && e is DataFormatException both && o.Has("features"))
            return $"--features names the column '{both.Column}', which is the target ({(o.Get("target") is not null ? "--target" : "the last column, as no --target is given")}); a column cannot be both a feature and the target: leave it out of --features{(o.Get("target") is null ? " or name another target with --target" : "")}.";
        if (message == "Every row has a missing value, so no row is left to read." && o.DataFormat() is { Missing: MissingValues.Drop })
            return "every row has a missing value in a column read, so --missing drop leaves no row: fill the missing values in the file, or " +
                   (o.Has("model") ? "use a model that fills them (trained with --missing mean|median|most_frequent)." : "have them filled with --missing mean|median|most_frequent.");
        return message;
    }

    /// <summary>A message about a column name that matches no column of --data, with a hint when one applies: the
    /// column <paramref name="name"/> (a name the user typed; null for a model's) is probably a typo of ("did you mean
    /// 'mode'?", by <see cref="Options.DidYouMean"/>), or the header was read as one column that holds another
    /// separator (the file looks separated by it: give --separator).</summary>
    private static string WithColumnHint(string message, string? name, Options o)
    {
        string? hint = null;
        try
        {
            var format = o.DataFormat();
            if (o.Get("data") is string path)
            {
                var header = FN.Csv.readFileWith(ImportCommand.Opt(format?.Separator), ImportCommand.Opt(format?.Quote), format?.HasHeader ?? true, path).Header;
                var other = header.Length == 1 && (format?.HasHeader ?? true)
                    ? new[] { ';', ',', '\t', '|' }.Where(s => header[0].Contains(s)).OrderByDescending(s => header[0].Count(x => x == s)).Cast<char?>().FirstOrDefault()
                    : null;
                if (other is char sep)
                {
                    var option = sep switch { '\t' => "tab", ',' => ",", _ => $"'{sep}'" };
                    var what = sep == '\t' ? "tabs" : $"'{sep}'";
                    hint = $"the file looks separated by {what} (its header line, read as one column, holds {what}): give --separator {option}";
                }
                else if (name is not null && Options.DidYouMean(name, header) is string near)
                    hint = $"did you mean '{near}'?";
            }
        }
        catch (Exception x) when (x is DataFormatException or FN.DataFormatException or IOException or UnauthorizedAccessException or UsageException or ArgumentException) { }
        return hint is null ? message : $"{message.TrimEnd('.')}; {hint}";
    }

    /// <summary>Refuses, before any work, an --out path the command could not write: a folder, or a path whose folder does
    /// not exist (or is a file); the one message of every command that writes --out.</summary>
    public static void CheckOut(string? outPath)
    {
        if (outPath is null) return;
        var full = Path.GetFullPath(outPath);
        if (Directory.Exists(full)) throw new IOException($"--out {outPath} is a folder; give a file's path");
        var folder = Path.GetDirectoryName(full);
        if (folder is null || Directory.Exists(folder)) return;
        // The nearest ancestor that exists: a file there (a.fnn/m.fnn with a.fnn a file) is said to be a file.
        for (var up = folder; !string.IsNullOrEmpty(up) && !Directory.Exists(up); up = Path.GetDirectoryName(up))
            if (File.Exists(up)) throw new IOException($"--out {outPath}: {up} is a file, not a folder");
        throw new DirectoryNotFoundException($"--out {outPath}: the folder {folder} does not exist");
    }

    /// <summary>Runs <paramref name="load"/>; a reading error whose message starts with one of the prefixes (a name
    /// from an option of the library's API) is rethrown with the prefix replaced (the command line's option, or the
    /// model the name came from).</summary>
    public static T NamesFrom<T>(Func<T> load, params (string Prefix, string Replacement)[] prefixes)
    {
        try { return load(); }
        catch (Exception e) when (e is DataFormatException or FN.DataFormatException
                                  && prefixes.FirstOrDefault(p => e.Message.StartsWith(p.Prefix, StringComparison.Ordinal)) is { Prefix: not null } p)
        {
            throw new ModelDataException(p.Replacement + e.Message[p.Prefix.Length..], e);
        }
    }

    private static string OneLine(string s) => s.Replace("\r", " ").Replace("\n", " ");
}
