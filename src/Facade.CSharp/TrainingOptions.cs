using Microsoft.FSharp.Core;
using FN = Functional.NN;

namespace FunctionalNN;

/// <summary>How a minibatch is drawn from the training samples.</summary>
public enum Sampling
{
    /// <summary>A fresh random permutation each epoch, cut into batches: every sample once per epoch (the default).</summary>
    WithoutReplacement,
    /// <summary>Each step draws its samples independently and uniformly, with replacement.</summary>
    WithReplacement,
}

/// <summary>How much data one step sees: full-batch gradient descent, one-sample SGD, or minibatches. Compared by value: two
/// made with the same arguments are equal (<c>==</c>, <c>Equals</c>).</summary>
public sealed class Batching : IEquatable<Batching>
{
    private Batching(FN.Batching core, string text)
    {
        Core = core;
        Text = text;
    }

    internal FN.Batching Core { get; }

    private string Text { get; }

    /// <summary>Full-batch gradient descent: one step per epoch on every sample.</summary>
    public static Batching FullBatch { get; } = new(FN.Batching.FullBatch, "full batch");

    /// <summary>Stochastic gradient descent on one sample per step (n steps per epoch).</summary>
    public static Batching Stochastic(Sampling sampling = Sampling.WithoutReplacement) =>
        new(FN.Batching.NewStochastic(ToCore(sampling)), sampling == Sampling.WithReplacement ? "one sample per step, with replacement" : "one sample per step");

    /// <summary>Minibatch SGD with <paramref name="size"/> samples per step (ceil(n / size) steps per epoch).</summary>
    /// <exception cref="ArgumentException">size is below 1 (the core's check, ParamName <c>size</c>).</exception>
    public static Batching MiniBatch(int size, Sampling sampling = Sampling.WithoutReplacement)
    {
        var core = FN.Batching.NewMiniBatch(size, ToCore(sampling));
        Schedule.Validated(() => FN.BatchingModule.validate(core), "batching", new[] { ("batch size", nameof(size)) });
        return new(core, sampling == Sampling.WithReplacement ? $"minibatches of {size}, with replacement" : $"minibatches of {size}");
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    /// <summary>True when <paramref name="other"/> is the same batching (compared by value: the same kind and the same constants).</summary>
    /// <param name="other">The batching to compare with, or null.</param>
    public bool Equals(Batching? other) => other is not null && Core.Equals(other.Core);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Batching);

    /// <inheritdoc/>
    public override int GetHashCode() => Core.GetHashCode();

    /// <summary>Value equality, as <see cref="Equals(Batching)"/>.</summary>
    /// <param name="left">A batching, or null.</param>
    /// <param name="right">A batching, or null.</param>
    public static bool operator ==(Batching? left, Batching? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Value inequality, the negation of <c>==</c>.</summary>
    /// <param name="left">A batching, or null.</param>
    /// <param name="right">A batching, or null.</param>
    public static bool operator !=(Batching? left, Batching? right) => !(left == right);

    internal static Batching FromCore(FN.Batching core) => core switch
    {
        FN.Batching.MiniBatch m => MiniBatch(m.size, FromCore(m.sampling)),
        FN.Batching.Stochastic st => Stochastic(FromCore(st.sampling)),
        _ => FullBatch,
    };

    private static Sampling FromCore(FN.Sampling s) => s.IsWithReplacement ? Sampling.WithReplacement : Sampling.WithoutReplacement;

    private static FN.Sampling ToCore(Sampling sampling) => sampling switch
    {
        Sampling.WithoutReplacement => FN.Sampling.WithoutReplacement,
        Sampling.WithReplacement => FN.Sampling.WithReplacement,
        _ => throw new ArgumentOutOfRangeException(nameof(sampling), sampling, "Unknown sampling."),
    };
}

/// <summary>A step-size schedule eta_t, a pure function of the step count t = 1, 2, ... Compared by value: two
/// made with the same arguments are equal (<c>==</c>, <c>Equals</c>).</summary>
public sealed class Schedule : IEquatable<Schedule>
{
    private Schedule(FN.Schedule core, params (string Fragment, string Param)[] parameters)
    {
        Validated(() => FN.ScheduleModule.validate(core), "schedule", parameters);
        Core = core;
    }

    internal FN.Schedule Core { get; }

    internal static Schedule FromCore(FN.Schedule core) => new(core);

    /// <summary>Runs a core check whose errors name <paramref name="coreParam"/> (the whole schedule or optimizer);
    /// an error about one value names the C# parameter that gave it: the first of <paramref name="parameters"/>
    /// whose fragment the message holds.</summary>
    internal static void Validated(Action check, string coreParam, (string Fragment, string Param)[] parameters)
    {
        try { check(); }
        catch (ArgumentException e) when (e.ParamName == coreParam && parameters.Length > 0)
        {
            var param = parameters.FirstOrDefault(p => System.Text.RegularExpressions.Regex.IsMatch(e.Message, $@"\b{System.Text.RegularExpressions.Regex.Escape(p.Fragment)}\b")).Param
                        ?? parameters[0].Param;
            throw new ArgumentException(e.Message.Replace($" (Parameter '{coreParam}')", ""), param, e);
        }
    }

    /// <summary>eta_t = eta.</summary>
    public static Schedule Constant(double eta) => new(FN.Schedule.NewConstant(eta), ("step size", nameof(eta)));

    /// <summary>The notes' eta_t = C / sqrt(t).</summary>
    public static Schedule InverseSqrt(double c) => new(FN.Schedule.NewInverseSqrt(c), ("constant C", nameof(c)));

    /// <summary>eta_t = C / t.</summary>
    public static Schedule Inverse(double c) => new(FN.Schedule.NewInverse(c), ("constant C", nameof(c)));

    /// <summary>eta_t = eta0 * gamma^floor((t - 1) / every).</summary>
    public static Schedule StepDecay(double eta0, double gamma, int every) =>
        new(FN.Schedule.NewStepDecay(eta0, gamma, every), ("eta0", nameof(eta0)), ("gamma", nameof(gamma)), ("interval", nameof(every)));

    /// <summary>eta_t = eta0 * gamma^(t - 1).</summary>
    public static Schedule Exponential(double eta0, double gamma) =>
        new(FN.Schedule.NewExponential(eta0, gamma), ("eta0", nameof(eta0)), ("gamma", nameof(gamma)));

    /// <summary>eta_t = etaMin + (etaMax - etaMin) (1 + cos(pi min(t - 1, period) / period)) / 2.</summary>
    public static Schedule Cosine(double etaMax, double etaMin, int period) =>
        new(FN.Schedule.NewCosine(etaMax, etaMin, period), ("etaMin", nameof(etaMin)), ("etaMax", nameof(etaMax)), ("period", nameof(period)));

    /// <summary>eta_t at step <paramref name="t"/> (from 1).</summary>
    public double Rate(int t)
    {
        if (t < 1) throw new ArgumentOutOfRangeException(nameof(t), t, "Steps are counted from 1.");
        return FN.ScheduleModule.rate(Core, t);
    }

    /// <inheritdoc/>
    public override string ToString() => FN.ScheduleModule.describe(Core);

    /// <summary>True when <paramref name="other"/> is the same schedule (compared by value: the same kind and the same constants).</summary>
    /// <param name="other">The schedule to compare with, or null.</param>
    public bool Equals(Schedule? other) => other is not null && Core.Equals(other.Core);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Schedule);

    /// <inheritdoc/>
    public override int GetHashCode() => Core.GetHashCode();

    /// <summary>Value equality, as <see cref="Equals(Schedule)"/>.</summary>
    /// <param name="left">A schedule, or null.</param>
    /// <param name="right">A schedule, or null.</param>
    public static bool operator ==(Schedule? left, Schedule? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Value inequality, the negation of <c>==</c>.</summary>
    /// <param name="left">A schedule, or null.</param>
    /// <param name="right">A schedule, or null.</param>
    public static bool operator !=(Schedule? left, Schedule? right) => !(left == right);
}

/// <summary>An update rule, each equal to PyTorch's torch.optim rule of the same name (see docs/training.md). Compared by value: two
/// made with the same arguments are equal (<c>==</c>, <c>Equals</c>).</summary>
public sealed class Optimizer : IEquatable<Optimizer>
{
    private Optimizer(FN.Optimizer core, params string[] parameters)
    {
        Schedule.Validated(() => FN.OptimizerModule.validate(new FN.OptimizerSettings(core, 0.0, 0.0)), "optimizer",
            parameters.Select(p => (p, p)).ToArray());
        Core = core;
    }

    internal FN.Optimizer Core { get; }

    internal static Optimizer FromCore(FN.Optimizer core) => new(core);

    /// <summary>Plain gradient descent: theta -= eta g.</summary>
    public static Optimizer Sgd() => new(FN.Optimizer.Sgd);

    /// <summary>torch.optim.SGD with momentum: v = mu v + (1 - dampening) g (v_1 = g_1), theta -= eta v. Momentum 0
    /// with dampening above 0 is an <see cref="ArgumentException"/> naming <c>dampening</c> (PyTorch ignores
    /// dampening without momentum).</summary>
    public static Optimizer Momentum(double momentum = 0.9, double dampening = 0.0) =>
        new(FN.Optimizer.NewMomentum(momentum, dampening), nameof(dampening), nameof(momentum));

    /// <summary>torch.optim.SGD with nesterov=True: v = mu v + g, theta -= eta (g + mu v).</summary>
    public static Optimizer Nesterov(double momentum = 0.9) => new(FN.Optimizer.NewNesterov(momentum), nameof(momentum));

    /// <summary>torch.optim.Adagrad: s += g^2, theta -= eta g / (sqrt s + eps).</summary>
    public static Optimizer AdaGrad(double epsilon = 1e-10, double initialAccumulator = 0.0) =>
        new(FN.Optimizer.NewAdaGrad(epsilon, initialAccumulator), nameof(epsilon), nameof(initialAccumulator));

    /// <summary>torch.optim.RMSprop: s = alpha s + (1 - alpha) g^2, theta -= eta g / (sqrt s + eps) (eps outside the root).</summary>
    public static Optimizer RMSProp(double alpha = 0.99, double epsilon = 1e-8, double momentum = 0.0, bool centered = false) =>
        new(FN.Optimizer.NewRMSProp(alpha, epsilon, momentum, centered), nameof(alpha), nameof(epsilon), nameof(momentum));

    /// <summary>torch.optim.Adam with bias correction; eps is added to sqrt(v_hat).</summary>
    public static Optimizer Adam(double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) =>
        new(FN.Optimizer.NewAdam(beta1, beta2, epsilon), nameof(beta1), nameof(beta2), nameof(epsilon));

    /// <summary>torch.optim.AdamW: theta *= (1 - eta lambda), then the Adam step.</summary>
    public static Optimizer AdamW(double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01) =>
        new(FN.Optimizer.NewAdamW(beta1, beta2, epsilon, weightDecay), nameof(beta1), nameof(beta2), nameof(epsilon), nameof(weightDecay));

    /// <inheritdoc/>
    public override string ToString() => FN.OptimizerModule.name(Core);

    /// <summary>True when <paramref name="other"/> is the same update rule (compared by value: the same kind and the same constants).</summary>
    /// <param name="other">The optimizer to compare with, or null.</param>
    public bool Equals(Optimizer? other) => other is not null && Core.Equals(other.Core);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Optimizer);

    /// <inheritdoc/>
    public override int GetHashCode() => Core.GetHashCode();

    /// <summary>Value equality, as <see cref="Equals(Optimizer)"/>.</summary>
    /// <param name="left">A optimizer, or null.</param>
    /// <param name="right">A optimizer, or null.</param>
    public static bool operator ==(Optimizer? left, Optimizer? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Value inequality, the negation of <c>==</c>.</summary>
    /// <param name="left">A optimizer, or null.</param>
    /// <param name="right">A optimizer, or null.</param>
    public static bool operator !=(Optimizer? left, Optimizer? right) => !(left == right);
}

/// <summary>The hyperparameters of a training run. Every default is the core's
/// <c>Functional.NN.TrainingOptions.Default</c> (this class copies none): Adam at a constant step 1e-3 on
/// minibatches of 32, at most 200 epochs, and the plateau stop (patience 10, min delta 1e-4) on the
/// validation loss when there is validation data, on the training loss otherwise. These are scikit-learn's
/// MLP defaults (solver adam, learning_rate_init 0.001, max_iter 200, n_iter_no_change 10, tol 1e-4) with
/// Keras' batch size 32, the plateau stop counting as Keras' EarlyStopping does (not as scikit-learn); see
/// docs/training.md. Every stopping rule that is set is checked; the first that
/// fires stops training and is named in the result. The notes' plain gradient descent is
/// <see cref="GradientDescent"/>. Two options are equal (<c>==</c>, <c>Equals</c>) when every property is; the
/// <see cref="FunctionalNN.Batching"/>, <see cref="FunctionalNN.Schedule"/> and <see cref="FunctionalNN.Optimizer"/>
/// compare by value.</summary>
/// <example><code>
/// var adam = new TrainingOptions();                                 // the defaults
/// var notes = TrainingOptions.GradientDescent(rate: 0.5, epochs: 500); // full batch, plain SGD, no plateau stop
/// </code></example>
public sealed record TrainingOptions
{
    private static readonly FN.TrainingOptions D = FN.TrainingOptions.Default;

    /// <summary>How each step's batch is drawn (default: minibatches of 32 without replacement).</summary>
    public Batching Batching { get; init; } = Batching.FromCore(D.Batching);

    /// <summary>The step size eta_t (default: constant 1e-3).</summary>
    public Schedule Schedule { get; init; } = Schedule.FromCore(D.Schedule);

    /// <summary>The update rule (default: Adam with beta1 0.9, beta2 0.999, epsilon 1e-8).</summary>
    public Optimizer Optimizer { get; init; } = Optimizer.FromCore(D.Optimizer.Optimizer);

    /// <summary>L2 weight decay lambda, added to the gradient as lambda theta (default 0: off).</summary>
    public double WeightDecay { get; init; } = D.Optimizer.WeightDecay;

    /// <summary>Clip the gradient to this global norm before each step (default 0: off).</summary>
    public double ClipNorm { get; init; } = D.Optimizer.ClipNorm;

    /// <summary>The seed of the generator that draws the batches (default 0).</summary>
    public long Seed { get; init; } = D.Seed;

    /// <summary>Stop after this many epochs (default 200).</summary>
    public int MaxEpochs { get; init; } = D.MaxEpochs;

    /// <summary>Stop after this many steps in all (default 0: no limit).</summary>
    public int MaxSteps { get; init; } = D.MaxSteps;

    /// <summary>The notes' rule: stop when one step changes no parameter by this much (default 0: off).</summary>
    public double ParameterTolerance { get; init; } = D.ParameterTolerance;

    /// <summary>Stop at the end of an epoch whose training loss is at or below this (default null: off). A value must be
    /// finite: NaN or an infinity is refused when training starts (ArgumentException, ParamName "TargetLoss"); null, not
    /// NaN, turns the rule off. A negative value is accepted, for <see cref="Trainer.TrainVector"/>, whose objective may
    /// be negative; the built-in losses (<see cref="Trainer.Train"/>, <see cref="Pipeline.Fit"/>) are never negative, so
    /// there a negative TargetLoss never stops training (0 stops only at a loss of exactly 0).</summary>
    public double? TargetLoss { get; init; } = double.IsNaN(D.TargetLoss) ? null : D.TargetLoss;

    /// <summary>The plateau stop: epochs in a row without an improvement of <see cref="EarlyStoppingMinDelta"/>
    /// before stopping (default 10; null: off). It watches the validation loss when there is validation data
    /// (and then the result holds the best epoch's weights, whatever rule ended the run), else the training loss (and
    /// the result holds the last weights).</summary>
    public int? EarlyStoppingPatience { get; init; } = D.EarlyStopping is { } e ? e.Value.Patience : null;

    /// <summary>The loss decrease that counts as an improvement for the plateau stop (default 1e-4): an epoch improves
    /// when its loss is below the best before it minus this. The best epoch (the one restored,
    /// <see cref="TrainingResult{TModel}.BestEpoch"/>) is the last epoch that improved so, which with a value above 0
    /// is not always the epoch of the lowest loss.</summary>
    public double EarlyStoppingMinDelta { get; init; } = D.EarlyStopping is { } e ? e.Value.MinDelta : 0.0;

    /// <summary>Which implementation computes the steps (default <see cref="FunctionalNN.Backend.Auto"/>: the kernels
    /// wherever they support the network). The result's <c>Backend</c> says which ran.</summary>
    public Backend Backend { get; init; } = EnumInterop.FromCore(D.Backend);

    /// <summary>Record each epoch's exact training loss over the whole set (one more forward pass per epoch)
    /// instead of the mean of its batch losses (default false).</summary>
    public bool ExactEpochLoss { get; init; } = D.ExactEpochLoss;

    /// <summary>Record each epoch's full training-set gradient norm (one more forward and backward pass per
    /// epoch; default false, when the history's GradientNorm is NaN).</summary>
    public bool RecordGradientNorm { get; init; } = D.RecordGradientNorm;

    /// <summary>The growth rule: stop with <see cref="TrainingDivergedException{TModel}"/> when the epoch's loss so far
    /// (the sum of its batch losses so far, each times its batch size, divided by the number of samples; at the epoch's
    /// end the mean of its batch losses) exceeds this factor times max(L0, 1), L0 the loss of the whole training set at
    /// the initial parameters (measured by one pass over the set only when the epoch's loss first passes this factor);
    /// checked after every step (default 1e4; 0 turns the rule off, NaN and infinity still stop
    /// training; otherwise it must be a finite number above 1, else training throws ArgumentOutOfRangeException). Single
    /// batch losses are not compared (with small batches one sample's loss may be n times the mean): while the weights
    /// stay where they started the rule cannot fire. See docs/training.md.</summary>
    public double DivergenceFactor { get; init; } = D.DivergenceFactor;

    /// <summary>The notes' plain gradient descent: full batch, constant step <paramref name="rate"/>, plain SGD,
    /// <paramref name="epochs"/> epochs (one step each) and no plateau stop; the rest as the defaults.</summary>
    /// <param name="rate">The constant step size eta.</param>
    /// <param name="epochs">The number of epochs (= steps).</param>
    /// <exception cref="ArgumentException">rate is not a positive finite number, or epochs is below 1 (the core's
    /// checks; ParamName <c>rate</c> or <c>epochs</c>).</exception>
    public static TrainingOptions GradientDescent(double rate, int epochs)
    {
        Schedule.Validated(() => FN.ScheduleModule.validate(FN.Schedule.NewConstant(rate)), "schedule", new[] { ("step size", nameof(rate)) });
        FN.Check.positiveInt(nameof(epochs), epochs);
        var g = FN.TrainingOptions.GradientDescent(rate, epochs);
        return new TrainingOptions
        {
            Batching = Batching.FromCore(g.Batching),
            Schedule = Schedule.FromCore(g.Schedule),
            Optimizer = Optimizer.FromCore(g.Optimizer.Optimizer),
            MaxEpochs = g.MaxEpochs,
            EarlyStoppingPatience = null,
        };
    }

    internal FN.TrainingOptions ToCore()
    {
        ArgumentNullException.ThrowIfNull(Batching, nameof(Batching));
        ArgumentNullException.ThrowIfNull(Schedule, nameof(Schedule));
        ArgumentNullException.ThrowIfNull(Optimizer, nameof(Optimizer));
        // The core spells "off" NaN; in C# it is null, so a NaN here is a mistake, not "off".
        if (TargetLoss is double t && !double.IsFinite(t))
            throw new ArgumentException($"TargetLoss must be a finite number, or null for off, but is {t.ToString(System.Globalization.CultureInfo.InvariantCulture)}.", nameof(TargetLoss));
        var early = EarlyStoppingPatience is int p
            ? FSharpOption<FN.EarlyStopping>.Some(new FN.EarlyStopping(p, EarlyStoppingMinDelta))
            : FSharpOption<FN.EarlyStopping>.None;
        return new FN.TrainingOptions(Batching.Core, Schedule.Core, new FN.OptimizerSettings(Optimizer.Core, WeightDecay, ClipNorm),
            Seed, MaxEpochs, MaxSteps, ParameterTolerance, TargetLoss ?? double.NaN, early,
            Backend.ToCore(nameof(Backend)), ExactEpochLoss, RecordGradientNorm, DivergenceFactor);
    }
}
