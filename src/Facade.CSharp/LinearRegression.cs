using MathNet.Numerics.LinearAlgebra;
using FL = Functional.NN.Linear;

namespace FunctionalNN;

/// <summary>Options of gradient descent on the least-squares or ridge cost.</summary>
public sealed class LinearGradientDescentOptions
{
    /// <summary>A fixed learning rate eta; null (the default) uses eta = 1/L, L the largest eigenvalue
    /// of the cost's Hessian, for which every step lowers the cost.</summary>
    public double? LearningRate { get; init; }

    /// <summary>The step cap (default 100000).</summary>
    public int MaxSteps { get; init; } = 100000;

    /// <summary>Stop when the gradient's norm falls below this (default 1e-10): an absolute tolerance on the Euclidean
    /// norm of the gradient of the cost (the intercept's entry included), in the data's units (the entry of feature j's
    /// weight is in y's units times x_j's), not scaled by the data. On badly scaled features the gradient is small
    /// everywhere and the fit can stop far from the minimum (x = 1e-12 i, y = 3e12 x + 1 + noise: after 1 step, R^2 0);
    /// scale the features first (for example standardise them), or lower the tolerance.</summary>
    public double GradientTolerance { get; init; } = 1e-10;

    /// <summary>The ridge lambda (default 0: least squares).</summary>
    public double Lambda { get; init; }

    /// <summary>The ridge form (default the notes' PenalizeAll); ignored when Lambda is 0.</summary>
    public RidgeForm RidgeForm { get; init; } = RidgeForm.PenalizeAll;

    /// <summary>Fit an intercept (default true).</summary>
    public bool FitIntercept { get; init; } = true;

    /// <summary>Throws ArgumentException (ParamName the property, as <see cref="TrainingOptions"/> names its own; the
    /// message names it as <paramref name="path"/>.Property, e.g. "options.LearningRate") for a property out of range.</summary>
    internal void Validate(string path)
    {
        if (LearningRate is double eta)
            LinearInterop.Option(eta > 0 && double.IsFinite(eta), nameof(LearningRate), $"{path}.LearningRate must be a positive finite number (or null for 1/L), but is {eta}.");
        LinearInterop.Option(MaxSteps >= 0, nameof(MaxSteps), $"{path}.MaxSteps must not be negative, but is {MaxSteps}.");
        LinearInterop.Option(GradientTolerance > 0 && double.IsFinite(GradientTolerance), nameof(GradientTolerance), $"{path}.GradientTolerance must be a positive finite number, but is {GradientTolerance}.");
        LinearInterop.Option(Lambda >= 0 && double.IsFinite(Lambda), nameof(Lambda), $"{path}.Lambda must be a finite number >= 0, but is {Lambda}.");
        LinearInterop.Option(Enum.IsDefined(RidgeForm), nameof(RidgeForm), $"{path}.RidgeForm is {(int)RidgeForm}, which is not a RidgeForm.");
    }
}

/// <summary>Options of minibatch SGD (notes ch. 2.2): W(t+1) = W(t) - eta_t / b sum grad C_i.</summary>
public sealed class LinearSgdOptions
{
    /// <summary>eta_t, the learning rate of step t (default the notes' C / sqrt t with C = 0.01); any
    /// <see cref="FunctionalNN.Schedule"/> of the trainer, for example Schedule.Constant(0.06).</summary>
    public Schedule Schedule { get; init; } = Schedule.InverseSqrt(0.01);

    /// <summary>b, samples per step (default 1).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>The epoch cap (default 100).</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>The notes' rule (they use 0.02): stop as soon as one step moves no weight by this much or more,
    /// max_i |W_i(t+1) - W_i(t)| &lt; StepTolerance; 0 (the default) never stops early.</summary>
    public double StepTolerance { get; init; }

    /// <summary>The seed of the sample order (default 42).</summary>
    public long Seed { get; init; } = 42;

    /// <summary>The trainer's divergence growth rule, as <see cref="TrainingOptions.DivergenceFactor"/> (the same rule
    /// and default, 1e4): training stops with <see cref="TrainingDivergedException{TModel}"/> when the epoch's loss so far
    /// (its batch losses times their sizes, summed and divided by the number of samples) exceeds this times max(L0, 1),
    /// L0 the cost at W = 0. 0 turns the rule off (a NaN or infinite cost or weight still stops training); otherwise it
    /// must be a finite number above 1.</summary>
    public double DivergenceFactor { get; init; } = FL.LinearSgdOptions.Default.DivergenceFactor;

    /// <summary>Throws ArgumentException (ParamName the property, as <see cref="TrainingOptions"/> names its own; the
    /// message names it as <paramref name="path"/>.Property: "options.BatchSize" for FitBySgd's options,
    /// "options.Sgd.BatchSize" for a classifier's) for a property out of range.</summary>
    internal void Validate(string path)
    {
        LinearInterop.Option(Schedule is not null, nameof(Schedule), $"{path}.Schedule must not be null.");
        LinearInterop.Option(BatchSize >= 1, nameof(BatchSize), $"{path}.BatchSize must be at least 1, but is {BatchSize}.");
        LinearInterop.Option(Epochs >= 0, nameof(Epochs), $"{path}.Epochs must not be negative, but is {Epochs}.");
        LinearInterop.Option(StepTolerance >= 0 && double.IsFinite(StepTolerance), nameof(StepTolerance), $"{path}.StepTolerance must be a finite number >= 0, but is {StepTolerance}.");
        LinearInterop.Option(DivergenceFactor == 0 || DivergenceFactor > 1 && double.IsFinite(DivergenceFactor), nameof(DivergenceFactor),
            $"{path}.DivergenceFactor must be 0 (off) or a finite number above 1 (a factor of at most 1 would stop training whose cost is falling), but is {DivergenceFactor}.");
    }

    internal FL.LinearSgdOptions ToCore() => new(Schedule.Core, BatchSize, Epochs, StepTolerance, Seed, DivergenceFactor);
}

/// <summary>Least squares and ridge regression (notes ch. 1), in closed form (least squares by a QR factorisation
/// of the design, ridge by a Cholesky solve of its normal equation or, near singular, a QR of the stacked system
/// [X; sqrt(n lambda) I], never an inverse) and by gradient descent or SGD.</summary>
public static class LinearRegression
{
    /// <summary>Least squares: minimises 1/(2n) ||X W + b - y||^2 for x (n x d) and one target per row.</summary>
    /// <exception cref="ArgumentException">Bad shapes or values, or a rank-deficient design (a duplicated
    /// feature, fewer samples than unknowns): the message says why and points to ridge regression.</exception>
    public static LinearModel Fit(double[,] x, double[] y, bool fitIntercept = true, string[]? featureNames = null) =>
        Fit(x, LinearInterop.Column(y, nameof(y)), fitIntercept, featureNames);

    /// <summary>Least squares with several target columns (y is n x k).</summary>
    public static LinearModel Fit(double[,] x, double[,] y, bool fitIntercept = true, string[]? featureNames = null) =>
        Fit(x, Interop.ToMatrix(y, nameof(y)), fitIntercept, featureNames);

    private static LinearModel Fit(double[,] x, Matrix<double> y, bool fitIntercept, string[]? featureNames) =>
        new(Errors.Run(() => FL.LeastSquares.fitNamed(FL.LeastSquaresOptions.Default.WithFitIntercept(fitIntercept), featureNames ?? Array.Empty<string>(),
            Interop.ToMatrix(x, nameof(x)), y)));

    /// <summary>Ridge regression with lambda/2 ||W||^2 (the notes' scale). <paramref name="form"/> says whether
    /// the intercept is penalised (the notes) or not (scikit-learn, with alpha = n lambda); <paramref name="featureNames"/>
    /// names the features in the model and in the messages.</summary>
    /// <exception cref="ArgumentException">Bad arguments; with lambda = 0, a rank-deficient design (as <see cref="Fit(double[,], double[], bool, string[])"/>);
    /// a lambda &gt; 0 so small for nearly dependent columns that the solver's own bound on the relative error of the weights
    /// exceeds about 1.1e-2 (for the QR of the stacked system [X; sqrt(n lambda) I], u (2 sqrt(kappa) / cos(theta) + kappa tan(theta)),
    /// kappa the condition number of X^T X / n + lambda I scaled to unit diagonal, which may well exceed 1e14)
    /// (ParamName "lambda"; the message names the nearly dependent columns). Columns of very different scales, and features
    /// too large to square (1e200), are fine.</exception>
    public static LinearModel FitRidge(double[,] x, double[] y, double lambda, RidgeForm form = RidgeForm.PenalizeAll, bool fitIntercept = true, string[]? featureNames = null) =>
        new(Errors.Run(() => FL.Ridge.fitNamed(new FL.RidgeOptions(lambda, form.ToCore(), fitIntercept), featureNames ?? Array.Empty<string>(), Interop.ToMatrix(x, nameof(x)), LinearInterop.Column(y, nameof(y)))));

    /// <summary>scikit-learn's Ridge(alpha): the intercept unpenalised, lambda = alpha / n.</summary>
    /// <exception cref="ArgumentException">Bad arguments; an alpha &gt; 0 too small for the data (ParamName "alpha", the
    /// message says alpha and lambda = alpha / n), as for <see cref="FitRidge"/>.</exception>
    public static LinearModel FitRidgeLikeScikitLearn(double[,] x, double[] y, double alpha) =>
        new(Errors.Run(() => FL.Ridge.fitLikeScikitLearn(alpha, Interop.ToMatrix(x, nameof(x)), LinearInterop.Column(y, nameof(y)))));

    /// <summary>Gradient descent from W = 0 on the least-squares (Lambda = 0) or ridge cost.</summary>
    /// <exception cref="ArgumentException">Bad data, or an option out of range (ParamName the property, e.g.
    /// "LearningRate"; the message names it, options.LearningRate); targets so large that the cost at W = 0, ||y||^2 / (2n), overflows (ParamName "y": rescale
    /// the data, or use <see cref="Fit(double[,], double[], bool, string[])"/>).</exception>
    /// <exception cref="TrainingDivergedException{TModel}">(TModel is LinearModel) A fixed learning rate above 2/L, or, with
    /// the automatic rate, data too large for the products (the message says which); LastGood is the last finite
    /// <see cref="LinearModel"/>.</exception>
    public static LinearFitResult FitByGradientDescent(double[,] x, double[] y, LinearGradientDescentOptions? options = null)
    {
        var o = options ?? new LinearGradientDescentOptions();
        o.Validate(nameof(options));
        var gd = FL.LinearGradientDescentOptions.Default.WithMaxSteps(o.MaxSteps).WithGradientTolerance(o.GradientTolerance);
        if (o.LearningRate is double eta) gd = gd.WithLearningRate(eta);
        var cost = new FL.LinearCost(o.Lambda, o.RidgeForm.ToCore(nameof(LinearGradientDescentOptions.RidgeForm)) == FL.RidgeForm.PenalizeAll, o.FitIntercept);
        var xm = Interop.ToMatrix(x, nameof(x));
        var ym = LinearInterop.Column(y, nameof(y));
        return Interop.Diverging(() => new LinearFitResult(FL.LinearGradientDescent.fit(gd, cost, xm, ym)), LinearInterop.LastGood);
    }

    /// <summary>Minibatch SGD from W = 0 on the least-squares cost plus lambda/2 ||W||^2 (lambda = 0 by default;
    /// <paramref name="form"/> as in ridge), on the trainer (its minibatches without replacement, schedule and
    /// max-norm step rule).</summary>
    /// <exception cref="ArgumentException">Bad data or lambda, an invalid form, or an option out of range
    /// (ParamName the property, e.g. "BatchSize"; the message names it, options.BatchSize); targets so large that the cost at W = 0 overflows
    /// (ParamName "y", before any step).</exception>
    /// <exception cref="TrainingDivergedException{TModel}">(TModel is LinearModel) The weights blew up; LastGood is the last finite
    /// <see cref="LinearModel"/>.</exception>
    public static LinearFitResult FitBySgd(double[,] x, double[] y, LinearSgdOptions? options = null, double lambda = 0.0,
                                           RidgeForm form = RidgeForm.PenalizeAll, bool fitIntercept = true)
    {
        var o = options ?? new LinearSgdOptions();
        o.Validate(nameof(options));
        var cost = new FL.LinearCost(lambda, form.ToCore() == FL.RidgeForm.PenalizeAll, fitIntercept);
        var xm = Interop.ToMatrix(x, nameof(x));
        var ym = LinearInterop.Column(y, nameof(y));
        return Interop.Diverging(() => new LinearFitResult(FL.Sgd.fit(o.ToCore(), cost, xm, ym)), LinearInterop.LastGood);
    }
}

/// <summary>A fitted polynomial: monomials of degree 1 .. Degree of the inputs, then a linear model.</summary>
public sealed class PolynomialModel
{
    internal PolynomialModel(FL.PolynomialModel core) => Core = core;

    internal FL.PolynomialModel Core { get; }

    /// <summary>m, the highest total degree.</summary>
    public int Degree => Core.Degree;

    /// <summary>The linear model on the monomials of the standardised inputs u = x / Scale - Offset / Scale, not
    /// of x itself (<see cref="Coefficients"/> gives the weights of the raw monomials). Named so since the inputs
    /// are standardised: the member that was the model on the raw monomials (<c>Linear</c>) is gone, so that code
    /// written for it stops at compile time rather than predicting from the wrong inputs.</summary>
    public LinearModel LinearOnStandardizedInputs => new(Core.Linear);

    /// <summary>The offset of each input (the midpoint of its range in the fitted data).</summary>
    public double[] Offset => (double[])Core.Offset.Clone();

    /// <summary>The scale of each input (a power of two, at least half its range).</summary>
    public double[] Scale => (double[])Core.Scale.Clone();

    /// <summary>The notes' weights [w0, w1, ..., wm] of a one-input polynomial.</summary>
    public double[] Coefficients() => FL.PolynomialRegression.coefficients(Core, 0);

    /// <summary>Predictions for a one-input polynomial at the points x.</summary>
    /// <exception cref="ArgumentException">A point so far outside the fitted range that a monomial of the standardised
    /// input overflows (ParamName "x"; the message names the point, the input's offset, scale and fitted range).</exception>
    public double[] Predict(double[] x) => FL.PolynomialRegression.predict(Core, LinearInterop.Column(x, nameof(x))).Column(0).ToArray();

    /// <summary>Predictions for raw inputs x (n x d): n x k.</summary>
    /// <exception cref="ArgumentException">x without d columns, or a row so far outside the fitted range that a monomial of
    /// the standardised inputs overflows (ParamName "x"; the message names the row, the inputs outside, their offset, scale
    /// and fitted range).</exception>
    public double[,] Predict(double[,] x) => FL.PolynomialRegression.predict(Core, Interop.ToMatrix(x, nameof(x))).ToArray();

    /// <summary>R^2 of a one-input polynomial on (x, y). With a single point R^2 is undefined and the result is NaN
    /// (scikit-learn returns NaN with a warning).</summary>
    public double R2(double[] x, double[] y) =>
        Errors.Run(() => FL.PolynomialRegression.r2(Core, LinearInterop.Column(x, nameof(x)), LinearInterop.Column(y, nameof(y))));
}

/// <summary>Polynomial regression (notes ch. 1.5) and its feature maps.</summary>
public static class PolynomialRegression
{
    /// <summary>The most columns a polynomial map builds: 100,000.</summary>
    public const int MaxColumns = FL.PolynomialFeatures.MaxColumns;

    // The core's rank error points to ridge; a polynomial fit's C# ridge is LinearRegression.FitRidge on Monomials.
    private static readonly (string Core, string Facade)[] PolynomialNames = Array.Empty<(string, string)>();
    private static readonly (string Core, string Facade)[] PolynomialWords =
        { ("(Ridge.fit with lambda > 0)", "(LinearRegression.FitRidge with lambda > 0 on PolynomialRegression.Monomials of x)") };

    /// <summary>Fits y = w0 + w1 x + ... + wm x^m by least squares.</summary>
    /// <exception cref="ArgumentException">Bad arguments, or fewer distinct points than coefficients.</exception>
    public static PolynomialModel Fit(double[] x, double[] y, int degree) =>
        new(Errors.Run(() => FL.PolynomialRegression.fit(degree, FL.NormalEquation.DefaultRankTolerance, LinearInterop.Column(x, nameof(x)), LinearInterop.Column(y, nameof(y))), PolynomialNames, PolynomialWords));

    /// <summary>Fits a polynomial of total degree m in the d columns of x (all monomials, scikit-learn's order).</summary>
    /// <exception cref="ArgumentException">Bad arguments; a degree whose C(m + d, d) - 1 monomials are more than
    /// <see cref="MaxColumns"/> or more than the samples can determine (ParamName "degree").</exception>
    public static PolynomialModel Fit(double[,] x, double[] y, int degree) =>
        new(Errors.Run(() => FL.PolynomialRegression.fit(degree, FL.NormalEquation.DefaultRankTolerance, Interop.ToMatrix(x, nameof(x)), LinearInterop.Column(y, nameof(y))), PolynomialNames, PolynomialWords));

    /// <summary>The notes' phi(x) = [1, x, ..., x^m] of each point, as rows.</summary>
    /// <exception cref="ArgumentException">A degree whose m + 1 columns are more than <see cref="MaxColumns"/> (ParamName "degree");
    /// no points, or a point that is not finite (ParamName "x").</exception>
    public static double[,] Phi(double[] x, int degree) => FL.PolynomialFeatures.phi(degree, LinearInterop.NotNull(x, nameof(x))).ToArray();

    /// <summary>All monomials of total degree 1 .. m of the columns of x, in scikit-learn's
    /// PolynomialFeatures(degree, include_bias=False) order.</summary>
    /// <exception cref="ArgumentException">A degree whose C(m + d, d) - 1 monomials are more than <see cref="MaxColumns"/>
    /// (ParamName "degree"), refused before any is built.</exception>
    public static double[,] Monomials(double[,] x, int degree) => FL.PolynomialFeatures.monomials(degree, Interop.ToMatrix(x, nameof(x))).ToArray();
}
