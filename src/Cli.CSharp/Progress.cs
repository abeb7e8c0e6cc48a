namespace FunctionalNN.Cli;

/// <summary>Training progress: a bar with the loss, redrawn in place, on a terminal; when the output is
/// redirected, plain lines for the first epoch and every ceil(epochs / 20)-th (at most 21 lines); nothing in
/// JSON or quiet mode. Losses print as %g (<see cref="Fmt.G"/>); a regressor's are in the target's units
/// (<see cref="PipelineFitResult.History"/>). Reports arrive on the training thread.</summary>
public sealed class EpochProgress(TextWriter w, int epochs, bool terminal, bool quiet) : IProgress<EpochRecord>
{
    private DateTime lastDraw = DateTime.MinValue;

    /// <inheritdoc/>
    public void Report(EpochRecord r)
    {
        if (quiet) return;
        var val = r.ValidationLoss is double v ? $", validation loss {Fmt.G(v)}" : "";
        if (!terminal)
        {
            int every = Math.Max(1, (epochs + 19) / 20);
            if (r.Epoch != 1 && r.Epoch % every != 0) return;
            w.WriteLine($"epoch {r.Epoch}/{epochs}: loss {Fmt.G(r.TrainLoss)}{val}");
            return;
        }
        var now = DateTime.UtcNow;
        if (r.Epoch != epochs && (now - lastDraw).TotalMilliseconds < 50) return;
        lastDraw = now;
        const int width = 30;
        int filled = (int)Math.Round(width * (double)r.Epoch / Math.Max(1, epochs));
        w.Write($"\r[{new string('#', filled)}{new string('-', width - filled)}] epoch {r.Epoch}/{epochs} loss {Fmt.G(r.TrainLoss)}{val}   ");
        if (r.Epoch >= epochs) w.WriteLine();
    }

    /// <summary>Ends the bar's line when training stopped before the last epoch.</summary>
    public void Finish(int epochsDone)
    {
        if (!quiet && terminal && epochsDone < epochs) w.WriteLine();
    }
}
