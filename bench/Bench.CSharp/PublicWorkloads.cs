// Issue 11's workloads U1..U4 through the library's public API as it stands (PipelineFit.fit,
// Trainer.train, Pipeline.probabilities), and the worker pool's fork-join cost (issue 17).
using System.Diagnostics;
using Functional.NN.Kernels;
using MathNet.Numerics.LinearAlgebra;
using FN = Functional.NN;

namespace Functional.NN.Bench
{
    /// <summary>The warm-up of the workloads that time whole calls of a public path.</summary>
    internal static class WarmUp
    {
        /// <summary>
        /// Runs a short form of the call 40 times, then the call once, then waits 0.3 s. .NET's
        /// tiered JIT compiles a method again, optimised (with the profile of its first calls),
        /// once it has been called 30 times, on a background thread; a path called once per call
        /// (a trainer's run, its session) would otherwise still run its first code, or share the
        /// two cores with that compilation, in the first rounds. The timed calls then measure the
        /// steady state, as the peer's do after its warm-up (PyTorch runs no JIT).
        /// </summary>
        public static void Run(Action shortCall, Action call)
        {
            for (int i = 0; i < 40; i++) shortCall();
            call();
            Thread.Sleep(300);
        }
    }

    /// <summary>
    /// One fork-join on the worker pool: a job of <see cref="WorkerPool.Threads"/> parts run with
    /// affinity, as the k-blocked one-sample prediction runs its layer, whose part 0 (the caller's)
    /// waits until every part has started (at most 200 us), so that the workers must take theirs.
    /// The time per call is then the wake-up of the workers (spinning for up to 0.5 ms after their
    /// last job, then asleep on an event) and the join, between back-to-back calls.
    /// </summary>
    internal sealed class ForkJoin : IWorkload
    {
        private sealed class Rendezvous : IParallelJob
        {
            private int _started;
            public void Reset() => Volatile.Write(ref _started, 0);
            public void Execute(int part, int parts)
            {
                Interlocked.Increment(ref _started);
                if (part != 0) return;
                long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 5000;
                while (Volatile.Read(ref _started) < parts && Stopwatch.GetTimestamp() < until) Thread.SpinWait(1);
            }
        }
        private readonly Rendezvous _job = new();
        public int Inner => 20000;
        public void Setup() => Run(20000);
        private void Run(int calls)
        {
            for (int i = 0; i < calls; i++)
            {
                _job.Reset();
                WorkerPool.Run(_job, WorkerPool.Threads, affinity: true);
            }
        }
        public Measurement Measure()
        {
            long t0 = Stopwatch.GetTimestamp();
            Run(Inner);
            return new Measurement((Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency / Inner, 0, 0);
        }
    }

    /// <summary>Shared data of U1 and U3: a seeded 12,000 x 64 table of 10 classes.</summary>
    internal static class U1Data
    {
        public const int Rows = 12000, Features = 64, Classes = 10;

        /// <summary>
        /// Class c's rows are its centre (uniform in [-1, 1]^64, seed 11) plus Gaussian noise of
        /// standard deviation 1.5, times a per-column scale 10^(j mod 4 - 1), so scaling matters.
        /// </summary>
        public static FN.Dataset Make()
        {
            var (x, labels) = Table();
            var names = Enumerable.Range(0, Features).Select(j => $"x{j}").ToArray();
            var classNames = Enumerable.Range(0, Classes).Select(c => $"c{c}").ToArray();
            return new FN.Dataset(x, names, "class", FN.Target.NewClasses(labels, classNames), FN.TargetReading.Given, names.Select(_ => Array.Empty<string>()).ToArray(), FN.MissingPolicy.Error, Array.Empty<int>(), Array.Empty<string>(), FN.DroppedRows.None);
        }

        /// <summary>The table's values and class labels (see <see cref="Make"/>).</summary>
        public static (Matrix<double> X, int[] Labels) Table()
        {
            var rng = new Random(11);
            var centres = new double[Classes, Features];
            for (int c = 0; c < Classes; c++) for (int j = 0; j < Features; j++) centres[c, j] = 2 * rng.NextDouble() - 1;
            var labels = new int[Rows];
            var x = Matrix<double>.Build.Dense(Rows, Features);
            for (int i = 0; i < Rows; i++)
            {
                int c = i % Classes;
                labels[i] = c;
                for (int j = 0; j < Features; j++)
                {
                    double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
                    double noise = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                    x[i, j] = (centres[c, j] + 1.5 * noise) * Math.Pow(10, j % 4 - 1);
                }
            }
            return (x, labels);
        }

        /// <summary>U1's options: standard scaling, 64-128-64-10 ReLU, Adam lr 1e-3, batch 128, 10 % validation, 8 epochs.</summary>
        public static FN.FitOptions Options(bool f32) =>
            FN.FitOptions.Default
                .WithHiddenLayers(new[] { 128, 64 })
                .WithActivation(FN.Activation.ReLU)
                .WithScaling(FN.ScalingKind.Standard)
                .WithSeed(1L)
                .WithTraining(FN.TrainingOptions.Default
                    .WithBatching(FN.Batching.NewMiniBatch(128, FN.Sampling.WithoutReplacement))
                    .WithSchedule(FN.Schedule.NewConstant(1e-3))
                    .WithOptimizer(FN.Optimizer.NewAdam(0.9, 0.999, 1e-8))
                    .WithSeed(2L)
                    .WithMaxEpochs(8)
                    .WithoutEarlyStopping())
                .WithValidationFraction(0.1)
                .WithPrecision(f32 ? FN.Precision.Float32 : FN.Precision.Float64);
    }

    /// <summary>U1: one PipelineFit.fit on U1's table (scaling, split, 8 epochs of Adam with the validation loss each epoch).</summary>
    internal sealed class U1Fit(bool f32) : IWorkload
    {
        private FN.Dataset _data = null!;
        private FN.FitOptions _options = null!;
        public int Inner => 1;
        public void Setup()
        {
            _data = U1Data.Make();
            _options = U1Data.Options(f32);
            WarmUp.Run(() => FN.PipelineFit.fit(_options.WithEpochs(1), _data), () => FN.PipelineFit.fit(_options, _data));
        }
        public Measurement Measure() => Measurement.Of(() => GC.KeepAlive(FN.PipelineFit.fit(_options, _data)), 8 * ((U1Data.Rows - U1Data.Rows / 10 + 127) / 128));
    }

    /// <summary>
    /// U1-blocks (issue 12 must-show 3): U1's table and training (Adam lr 1e-3, batch 128 without
    /// replacement, 8 epochs, the validation loss after each) on U1's network with batch
    /// normalisation before and dropout 0.1 after each hidden activation: dense 128, batch norm,
    /// ReLU, dropout, dense 64, batch norm, ReLU, dropout, dense 10, through Trainer.train (the
    /// kernels backend). As the peer (torch_peer.py's u1_blocks_setup), the first 10 % of the rows
    /// are the validation set and the standard scaling (fitted on the training rows) is applied in
    /// the set-up; the timed run is the 8 epochs.
    /// </summary>
    internal sealed class U1BlocksFit(bool f32) : IWorkload
    {
        private FN.Network _net = null!;
        private FN.TrainingData _data = null!;
        private FN.TrainingOptions _options = null!;
        private const int Validation = U1Data.Rows / 10;
        public int Inner => 1;

        public static FN.Network Network(bool f32)
        {
            FN.BlockSpec Dense(int units) => FN.BlockSpec.NewDense(FN.LayerSpec.Of(units, FN.Activation.Identity));
            var specs = new[]
            {
                Dense(128), FN.BlockSpec.BatchNorm, FN.BlockSpec.NewActivation(FN.Activation.ReLU), FN.BlockSpec.NewDropout(0.1),
                Dense(64), FN.BlockSpec.BatchNorm, FN.BlockSpec.NewActivation(FN.Activation.ReLU), FN.BlockSpec.NewDropout(0.1),
                Dense(U1Data.Classes),
            };
            return FN.NetworkModule.withPrecision(f32 ? FN.Precision.Float32 : FN.Precision.Float64, FN.NetworkModule.initBlocks(U1Data.Features, specs, 1L));
        }

        public void Setup()
        {
            var (x, labels) = U1Data.Table();
            int n = U1Data.Rows - Validation;
            var xt = x.SubMatrix(Validation, n, 0, U1Data.Features);
            var xv = x.SubMatrix(0, Validation, 0, U1Data.Features);
            // Standard scaling fitted on the training rows (1/n standard deviation), as the peer.
            for (int j = 0; j < U1Data.Features; j++)
            {
                var col = xt.Column(j);
                double mean = col.Average(), sd = Math.Sqrt(col.Select(v => (v - mean) * (v - mean)).Sum() / n);
                xt.SetColumn(j, col.Map(v => (v - mean) / sd));
                xv.SetColumn(j, xv.Column(j).Map(v => (v - mean) / sd));
            }
            Matrix<double> OneHot(int from, int rows) => Matrix<double>.Build.Dense(rows, U1Data.Classes, (i, c) => labels[from + i] == c ? 1.0 : 0.0);
            _data = FN.TrainingData.Of(xt, OneHot(Validation, n)).WithValidation(xv, OneHot(0, Validation));
            _net = Network(f32);
            _options = FN.TrainingOptions.Default
                .WithBatching(FN.Batching.NewMiniBatch(128, FN.Sampling.WithoutReplacement))
                .WithSchedule(FN.Schedule.NewConstant(1e-3))
                .WithOptimizer(FN.Optimizer.NewAdam(0.9, 0.999, 1e-8))
                .WithSeed(2L)
                .WithMaxEpochs(8)
                .WithoutEarlyStopping();
            WarmUp.Run(() => FN.Trainer.train(_options.WithMaxSteps(2), FN.Loss.SoftmaxCrossEntropy, _data, _net),
                       () => FN.Trainer.train(_options, FN.Loss.SoftmaxCrossEntropy, _data, _net));
        }

        public Measurement Measure() =>
            Measurement.Of(() => GC.KeepAlive(FN.Trainer.train(_options, FN.Loss.SoftmaxCrossEntropy, _data, _net)), 8 * ((U1Data.Rows - Validation + 127) / 128));
    }

    /// <summary>U2: Trainer.train on W1 (784-256-128-10, 8192 samples, batch 128, one epoch) with one optimiser.</summary>
    internal sealed class U2Train(bool f32, string optimizer) : IWorkload
    {
        public static readonly string[] Optimizers = { "sgd", "momentum", "adam", "adamw" };
        private FN.Network _net = null!;
        private FN.TrainingData _data = null!;
        private FN.TrainingOptions _options = null!;
        public int Inner => 1;

        public static FN.TrainingOptions OptionsFor(string optimizer)
        {
            var (opt, rate) = optimizer switch
            {
                "sgd" => (FN.Optimizer.Sgd, 0.01),
                "momentum" => (FN.Optimizer.NewMomentum(0.9, 0.0), 0.01),
                "adam" => (FN.Optimizer.NewAdam(0.9, 0.999, 1e-8), 1e-3),
                "adamw" => (FN.Optimizer.NewAdamW(0.9, 0.999, 1e-8, 1e-2), 1e-3),
                _ => throw new ArgumentException($"Unknown optimiser {optimizer}.", nameof(optimizer)),
            };
            return FN.TrainingOptions.Default
                .WithBatching(FN.Batching.NewMiniBatch(W1Api.Batch, FN.Sampling.WithoutReplacement))
                .WithSchedule(FN.Schedule.NewConstant(rate))
                .WithOptimizer(opt)
                .WithSeed(3L)
                .WithMaxEpochs(1)
                .WithoutEarlyStopping();
        }

        public void Setup()
        {
            _net = FN.NetworkModule.withPrecision(f32 ? FN.Precision.Float32 : FN.Precision.Float64, W1Api.Network());
            var (x, y) = W1Api.Data();
            _data = FN.TrainingData.Of(x, y);
            _options = OptionsFor(optimizer);
            WarmUp.Run(() => FN.Trainer.train(_options.WithMaxSteps(2), FN.Loss.SoftmaxCrossEntropy, _data, _net),
                       () => FN.Trainer.train(_options, FN.Loss.SoftmaxCrossEntropy, _data, _net));
        }

        public Measurement Measure() =>
            Measurement.Of(() => GC.KeepAlive(FN.Trainer.train(_options, FN.Loss.SoftmaxCrossEntropy, _data, _net)), W1Api.Samples / W1Api.Batch);
    }

    /// <summary>U3: a Pipeline's single-row prediction (scaling, network, softmax): the pipeline's single-row
    /// predictor (PipelinePredictor, span overload), the row's probabilities written into a buffer.</summary>
    internal sealed class U3Predict(bool f32) : IWorkload
    {
        private FN.PipelinePredictor _predictor = null!;
        private double[][] _rows = null!;
        private readonly double[] _probabilities = new double[U1Data.Classes];
        public int Inner => 2000;
        public void Setup()
        {
            var data = U1Data.Make();
            var pipeline = FN.PipelineFit.untrained(U1Data.Options(f32), data);
            _predictor = FN.PipelinePredictorModule.create(pipeline);
            _rows = Enumerable.Range(0, 64).Select(i => data.Features.Row(i).ToArray()).ToArray();
            Run(2000);
        }
        private void Run(int calls)
        {
            for (int i = 0; i < calls; i++) _predictor.PredictProbabilities(_rows[i & 63], _probabilities);
        }
        public Measurement Measure()
        {
            long t0 = Stopwatch.GetTimestamp();
            Run(Inner);
            return new Measurement((Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency / Inner, 0, 0);
        }
    }

    /// <summary>U4: W2 (2-16-16-1 tanh, MSE, full batch of 1000 samples, rate 0.05, 2000 steps) through Trainer.train.</summary>
    internal sealed class U4Train(bool f32) : IWorkload
    {
        private const int Samples = 1000, Steps = 2000;
        private FN.Network _net = null!;
        private FN.TrainingData _data = null!;
        private FN.TrainingOptions _options = null!;
        public int Inner => 1;

        public void Setup()
        {
            static FN.LayerSpec Spec(int units, FN.Activation a) => FN.LayerSpec.Of(units, a);
            _net = FN.NetworkModule.withPrecision(f32 ? FN.Precision.Float32 : FN.Precision.Float64,
                FN.NetworkModule.init(2, new[] { Spec(16, FN.Activation.Tanh), Spec(16, FN.Activation.Tanh), Spec(1, FN.Activation.Identity) }, 4L));
            var rng = new Random(3);
            var x = Matrix<double>.Build.Dense(Samples, 2);
            var y = Matrix<double>.Build.Dense(Samples, 1);
            for (int i = 0; i < Samples; i++)
            {
                double a = 2 * rng.NextDouble() - 1, b = 2 * rng.NextDouble() - 1;
                x[i, 0] = a; x[i, 1] = b; y[i, 0] = Math.Sin(3 * a) * b;
            }
            _data = FN.TrainingData.Of(x, y);
            // Every option stated (the library's defaults are Adam with a plateau stop): plain
            // gradient descent for exactly Steps full-batch steps, as the peer.
            _options = FN.TrainingOptions.Default.WithBatching(FN.Batching.FullBatch).WithSchedule(FN.Schedule.NewConstant(0.05))
                .WithOptimizer(FN.Optimizer.Sgd).WithoutEarlyStopping().WithMaxEpochs(Steps);
            WarmUp.Run(() => FN.Trainer.train(_options.WithMaxEpochs(20), FN.Loss.MeanSquaredError, _data, _net),
                       () => FN.Trainer.train(_options, FN.Loss.MeanSquaredError, _data, _net));
        }

        public Measurement Measure() =>
            Measurement.Of(() => GC.KeepAlive(FN.Trainer.train(_options, FN.Loss.MeanSquaredError, _data, _net)), Steps);
    }
}
