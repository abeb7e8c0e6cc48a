namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Linear

/// Which scalar function of a network's output row an explanation is about. For an output row o:
[<RequireQualifiedAccess>]
type OutputSelector =
    /// f = o_k, the raw output k (a logit, a score, or a scaled regression value); df/do = e_k.
    | Output of index: int
    /// f = scale o_k + offset (a regressor's value in the target's units, or 1 - p of a probability
    /// output); df/do = scale e_k.
    | Affine of index: int * scale: float * offset: float
    /// f = softmax(o)_k = e^{o_k} / sum_j e^{o_j}, a class probability; df/do_j = p_k (delta_jk - p_j).
    | Softmax of index: int
    /// f = sigmoid(sign o_k), the probability of a binary logit's class (sign +1: class 1, -1:
    /// class 0); df/do_k = sign f (1 - f).
    | Sigmoid of index: int * sign: float

/// The attribution methods.
[<RequireQualifiedAccess>]
type AttributionMethod =
    /// Integrated gradients (Sundararajan, Taly and Yan, 2017): a_i = (x_i - b_i) int_0^1
    /// df/dx_i (b + t (x - b)) dt, from a baseline b.
    | IntegratedGradients
    /// Gradient times input: a_i = (x_i - b_i) df/dx_i (x), the gradient at the input only (with
    /// the baseline b = 0 of the network's inputs, this is the classic x_i df/dx_i).
    | GradientTimesInput

/// The settings of an attribution. `Default`: integrated gradients, adaptive steps to a gap of
/// 1e-6 of the output's scale, at most 1024 nodes per segment, the default baseline, class
/// probabilities.
type AttributionOptions =
    { /// The method.
      Method: AttributionMethod
      /// Gauss-Legendre nodes per segment of the path (None: adaptive, 1, 2, 4, 8, ... until the
      /// completeness gap is at most `Tolerance` x `Attribution.Scale` and no attribution moved by
      /// more than that from the rule before, or `MaxSteps` is reached).
      Steps: int option
      /// The completeness gap, and the change of each attribution from one rule to the next, at
      /// which the adaptive rule stops, relative to the output's scale (`Attribution.Scale`: the
      /// largest of |f - f(b)| at x and at the path's nodes, and sum_i |a_i|), so that an output
      /// of size 1e10 and one of size 1e-7 are integrated to the same relative accuracy, and a
      /// constant added to the output (a regressor's target mean) changes nothing.
      Tolerance: float
      /// The most nodes per segment the adaptive rule tries.
      MaxSteps: int
      /// The baseline, in the units of the rows explained (None: zeros for a network or linear
      /// model; the training rows' mean for a pipeline with a standard scaler).
      Baseline: float[] option
      /// For a pipeline classifier: explain the class probability (true) or its logit/score (false).
      Probability: bool
      /// Which backend computes the input gradients (`Backend.Auto`, the default: the kernels
      /// wherever they support the network, as for training and prediction).
      Backend: Backend }
    /// Integrated gradients, adaptive steps to a gap of 1e-6 of the output's scale (at most 1024
    /// nodes per segment), the default baseline, class probabilities.
    static member Default =
        { Method = AttributionMethod.IntegratedGradients; Steps = None; Tolerance = 1e-6; MaxSteps = 1024
          Baseline = None; Probability = true; Backend = Backend.Auto }
    /// A copy with another method.
    member this.WithMethod(m) = { this with Method = m }
    /// A copy with a fixed number of nodes per segment.
    member this.WithSteps(steps: int) = { this with Steps = Some steps }
    /// A copy with adaptive steps.
    member this.WithAdaptiveSteps() = { this with Steps = None }
    /// A copy with another tolerance (relative to the output's scale: see `Tolerance`).
    member this.WithTolerance(t) = { this with Tolerance = t }
    /// A copy with another cap on the nodes per segment.
    member this.WithMaxSteps(m) = { this with MaxSteps = m }
    /// A copy with a baseline (a copy of it; null raises ArgumentNullException naming "baseline").
    member this.WithBaseline(b: float[]) =
        Check.notNull "baseline" b
        { this with Baseline = Some (Array.copy b) }
    /// A copy that explains probabilities (true) or scores (false).
    member this.WithProbability(p) = { this with Probability = p }
    /// A copy whose input gradients run on another backend.
    member this.WithBackend(backend) = { this with Backend = backend }

/// The value f(x) of a selected output and its gradient with respect to the inputs, row by row.
type InputGradient =
    { /// f of each row.
      Values: float[]
      /// df/dx, one row per input row, one column per input.
      Gradient: Matrix<float> }

/// One row's attributions over a model's inputs.
type Attribution =
    { Method: AttributionMethod
      /// a_i, one per input.
      Values: float[]
      /// The row explained.
      Input: float[]
      /// The baseline b.
      Baseline: float[]
      /// f(x).
      Output: float
      /// f(b).
      BaselineOutput: float
      /// The completeness gap: sum_i a_i - (f(x) - f(b)) (zero for exact integrated gradients).
      Gap: float
      /// The output's scale, to which the tolerance is relative: the largest of |f(x) - f(b)|,
      /// |f(t) - f(b)| at the path's nodes t of the rule returned (integrated gradients) and
      /// sum_i |a_i|. Measured from f(b), so it does not change when a constant is added to f,
      /// as the attributions and their quadrature error do not.
      Scale: float
      /// Integrated gradients: whether the rule returned met the tolerance, |Gap| <= Tolerance x
      /// Scale and (adaptive steps) no attribution moved by more than that from the rule before
      /// (false: the adaptive rule reached MaxSteps, or the fixed `Steps` was too few). Gradient x
      /// input: true (it has no quadrature, and its gap is no quadrature error).
      Converged: bool
      /// The path nodes of the quadrature that gave these values: NodesPerSegment x Segments (1
      /// for gradient x input). It is not the whole cost: an adaptive run also evaluated the
      /// rules of m/2, m/4, ..., 2 nodes per segment before (about as many nodes again), every run
      /// also takes the gradients at x and b, and the search of the path for kinks runs forward
      /// passes; `WithSteps NodesPerSegment` reproduces these values with this many nodes.
      Steps: int
      /// Gauss-Legendre nodes in each segment of the path.
      NodesPerSegment: int
      /// The path's segments (split at the kinks of ReLU units, where the gradient jumps, and
      /// around the points where a layer normalisation's input nearly loses its variance, where
      /// the gradient has a narrow spike).
      Segments: int
      /// The quadrature rule, in words.
      Quadrature: string
      /// The backend that computed the input gradients (Reference or Kernels).
      Backend: Backend }

/// Which inputs of a model make up each original column: input i belongs to column ColumnOf.[i].
/// A pipeline's numeric column is one input; its one-hot encoded text column is several, whose
/// attribution is then the sum of theirs.
type FeatureMap =
    { /// The original columns' names.
      Columns: string[]
      /// For each model input, the index of its column in `Columns`.
      ColumnOf: int[] }

/// Input-to-column tables.
module FeatureMap =

    /// Every input its own column. A null name raises ArgumentException (ParamName "names",
    /// naming its index).
    let identity (names: string[]) : FeatureMap =
        Check.notNull "names" names
        names |> Array.iteri (fun j n -> if isNull n then Check.fail "names" (sprintf "names[%d] is null; every column needs a name." j))
        { Columns = Array.copy names; ColumnOf = Array.init names.Length id }

    /// A table from its parts, checked: every column has a name (not null) and every input's
    /// column index is in range.
    let create (columns: string[]) (columnOf: int[]) : FeatureMap =
        Check.notNull "columns" columns
        columns |> Array.iteri (fun j n -> if isNull n then Check.fail "columns" (sprintf "columns[%d] is null; every column needs a name." j))
        Check.notNull "columnOf" columnOf
        columnOf |> Array.iteri (fun i c ->
            if c < 0 || c >= columns.Length then
                Check.fail "columnOf" (sprintf "columnOf[%d] = %d but there are %d columns." i c columns.Length))
        { Columns = Array.copy columns; ColumnOf = Array.copy columnOf }

    /// The table of a pipeline's network inputs: a numeric column's one input, a text column's
    /// one-hot inputs (one per category), each mapped to its original column.
    let ofPipeline (pipeline: Pipeline) : FeatureMap =
        Check.notNull "pipeline" (box pipeline)
        let cats = pipeline.Preprocessor.Categories
        { Columns = Array.copy pipeline.FeatureNames
          ColumnOf = [| for j in 0 .. cats.Length - 1 do yield! Array.create (max 1 cats.[j].Length) j |] }

    /// The inputs of column c.
    let inputsOf (map: FeatureMap) (c: int) : int[] =
        Check.notNull "map" (box map)
        map.ColumnOf |> Array.indexed |> Array.filter (fun (_, k) -> k = c) |> Array.map fst

    /// Per-input values summed into their columns. A table built as a record, not by `create`, is
    /// checked as `create` checks it: an input's column index out of range raises ArgumentException
    /// naming "map".
    let sum (map: FeatureMap) (values: float[]) : float[] =
        Check.notNull "map" (box map)
        Check.notNull "values" values
        if isNull map.Columns || isNull map.ColumnOf then Check.fail "map" "map has a null Columns or ColumnOf; build it with FeatureMap.create."
        map.ColumnOf |> Array.iteri (fun i c ->
            if c < 0 || c >= map.Columns.Length then
                Check.fail "map" (sprintf "map.ColumnOf[%d] = %d but there are %d columns." i c map.Columns.Length))
        if values.Length <> map.ColumnOf.Length then
            Check.fail "values" (sprintf "values has %d entries but the table has %d inputs." values.Length map.ColumnOf.Length)
        let s = Array.zeroCreate map.Columns.Length
        values |> Array.iteri (fun i v -> s.[map.ColumnOf.[i]] <- s.[map.ColumnOf.[i]] + v)
        s

/// A pipeline's explanation of one row, per original column and in raw units.
type Explanation =
    { /// The original columns' names.
      Names: string[]
      /// The attribution of each column (the sum over its inputs).
      Values: float[]
      /// The row, raw.
      Input: float[]
      /// The baseline, raw.
      Baseline: float[]
      /// The class explained (-1 for a regressor).
      ClassIndex: int
      /// What f is, in words: "P(species = setosa)", "logit of ...", "price".
      OutputName: string
      /// The attribution on the network's inputs (in the scaled space; the values are the same).
      Attribution: Attribution }
    /// f(x).
    member this.Output = this.Attribution.Output
    /// f(baseline).
    member this.BaselineOutput = this.Attribution.BaselineOutput
    /// sum of attributions - (f(x) - f(baseline)).
    member this.Gap = this.Attribution.Gap

/// Input gradients and per-prediction attributions (gradient x input, integrated gradients).
module Attribution =

    /// Gauss-Legendre nodes and weights on [0, 1] for m points (exact for polynomials of degree
    /// 2m - 1): the roots of the Legendre polynomial P_m found by Newton's method from
    /// cos(pi (i + 3/4) / (m + 1/2)), weights 2 / ((1 - z^2) P_m'(z)^2), mapped from [-1, 1].
    let gaussLegendre (m: int) : float[] * float[] =
        Check.positiveInt "m" m
        let nodes = Array.zeroCreate m
        let weights = Array.zeroCreate m
        for i in 0 .. (m + 1) / 2 - 1 do
            let mutable z = cos (Math.PI * (float i + 0.75) / (float m + 0.5))
            let mutable dp = 0.0
            let mutable iter = 0
            let mutable go = true
            while go do
                let mutable p1 = 1.0
                let mutable p2 = 0.0
                for j in 1 .. m do
                    let p3 = p2
                    p2 <- p1
                    p1 <- ((2.0 * float j - 1.0) * z * p2 - (float j - 1.0) * p3) / float j
                dp <- float m * (z * p1 - p2) / (z * z - 1.0)
                let z1 = z
                z <- z1 - p1 / dp
                iter <- iter + 1
                if abs (z - z1) <= 1e-15 || iter >= 100 then go <- false
            let w = 1.0 / ((1.0 - z * z) * dp * dp) // 2/(...) on [-1, 1], halved for [0, 1]
            nodes.[i] <- (1.0 - z) / 2.0
            nodes.[m - 1 - i] <- (1.0 + z) / 2.0
            weights.[i] <- w
            weights.[m - 1 - i] <- w
        nodes, weights

    /// "1 output (index 0)" or "n outputs (0 .. n - 1)", for the messages of an output out of range.
    let internal outputsText (n: int) =
        if n = 1 then "1 output (index 0)" else sprintf "%d outputs (0 .. %d)" n (n - 1)

    let private checkSelector (net: Network) (selector: OutputSelector) =
        let index k =
            if k < 0 || k >= net.OutputSize then
                Check.fail "selector" (sprintf "selector names output %d but the network has %s." k (outputsText net.OutputSize))
        match selector with
        | OutputSelector.Output k -> index k
        | OutputSelector.Softmax k ->
            index k
            // The softmax of a single output is 1 at every input: f would be constant and every
            // attribution 0, which says nothing about the network.
            if net.OutputSize = 1 then
                Check.fail "selector" "selector is Softmax 0 but the network has one output, whose softmax is 1 at every input (every attribution would be 0); explain the raw output, or its sigmoid for a binary logit."
        | OutputSelector.Affine (k, a, c) -> index k; Check.finiteScalar "scale" a; Check.finiteScalar "offset" c
        | OutputSelector.Sigmoid (k, s) ->
            index k
            if s <> 1.0 && s <> -1.0 then Check.fail "sign" (sprintf "sign must be 1 or -1, but is %s." (string s))

    /// f of each output row, and df/do (n x outputs).
    let private selectorValueAndGradient (selector: OutputSelector) (out: Matrix<float>) : float[] * Matrix<float> =
        let n, k = out.RowCount, out.ColumnCount
        match selector with
        | OutputSelector.Output j -> Array.init n (fun i -> out.[i, j]), Mat.init n k (fun _ c -> if c = j then 1.0 else 0.0)
        | OutputSelector.Affine (j, a, b) -> Array.init n (fun i -> a * out.[i, j] + b), Mat.init n k (fun _ c -> if c = j then a else 0.0)
        | OutputSelector.Softmax j ->
            let p = Loss.softmax out
            Array.init n (fun i -> p.[i, j]), Mat.init n k (fun i c -> p.[i, j] * ((if c = j then 1.0 else 0.0) - p.[i, c]))
        | OutputSelector.Sigmoid (j, s) ->
            let v = Array.init n (fun i -> Activation.sigmoid (s * out.[i, j]))
            v, Mat.init n k (fun i c -> if c = j then s * v.[i] * (1.0 - v.[i]) else 0.0)

    /// The input gradient on a resolved backend (Reference or Kernels), without checks: ONE
    /// forward pass of the batch in inference mode and ONE backward pass keeping dL/dX. The
    /// reference: Network.forwardUnchecked and Network.backwardIn (every block's vector-Jacobian
    /// product, the oracle). The kernels: the batch through a trainer holding the network
    /// (`DenseTrainer.InputGradientsOf`, chunks of 256 rows), f and df/do from the outputs in
    /// float64, df/do rounded to the network's precision, the backward pass of every block.
    let private inputGradientOn (backend: Backend) (net: Network) (selector: OutputSelector) (x: Matrix<float>) : InputGradient =
        match backend with
        | Backend.Kernels ->
            let values, g =
                KernelNetwork.inputGradient (fun () -> Mat.checkFinite "x" x; Network.checkRangeIn net.Precision "x" x) net (selectorValueAndGradient selector) x
            { Values = values; Gradient = g }
        | _ ->
            let trace = Network.forwardUnchecked net x
            let values, g = selectorValueAndGradient selector trace.Output
            { Values = values; Gradient = snd (Network.backwardIn Mode.Inference net trace g) }

    /// The input gradient without checks on the reference backend: ONE forward pass of the batch
    /// in inference mode and ONE backward pass (Network.backwardIn, every block's vector-Jacobian
    /// product, keeping dL/dX). The oracle of the kernels' input gradients.
    let inputGradientUnchecked (net: Network) (selector: OutputSelector) (x: Matrix<float>) : InputGradient =
        inputGradientOn Backend.Reference net selector x

    /// Raises InvalidOperationException when an activation carries no gradient (the step), in the
    /// words of an explanation: the network has no input gradient to explain (`Network.checkDifferentiable`
    /// says it for training).
    let private checkExplainable (net: Network) =
        match Block.firstNonDifferentiable "" net.Blocks with
        | Some (position, a) ->
            raise (InvalidOperationException(sprintf "Block %s uses the %s activation, whose derivative is zero almost everywhere, so the network has no input gradient to explain: integrated gradients, gradient x input and the input gradient all need one. Permutation importance needs no gradient and ranks the inputs of such a network." position (Activation.name a)))
        | None -> ()

    /// The gradient of a selected output f with respect to the inputs, for every row of the batch
    /// x (n x inputs), on a backend (Auto: the kernels wherever they support the network, else the
    /// reference): f of each row and df/dx (n x inputs). Raises ArgumentException for a bad x or
    /// selector (or "backend": Kernels on a network they do not run), InvalidOperationException for
    /// a step layer (its derivative carries no gradient).
    let inputGradientWith (backend: Backend) (net: Network) (selector: OutputSelector) (x: Matrix<float>) : InputGradient =
        Network.checkInput net "x" x
        checkSelector net selector
        checkExplainable net
        inputGradientOn (KernelNetwork.resolve "backend" backend net) net selector x

    /// The gradient of a selected output f with respect to the inputs, for every row of the batch
    /// x (n x inputs), on `Backend.Auto`: f of each row and df/dx (n x inputs). Raises
    /// ArgumentException for a bad x or selector, InvalidOperationException for a step layer.
    let inputGradient (net: Network) (selector: OutputSelector) (x: Matrix<float>) : InputGradient =
        inputGradientWith Backend.Auto net selector x

    let private checkRow (name: string) (width: int) (what: string) (row: float[]) =
        Check.notNull name row
        if row.Length <> width then
            Check.fail name (sprintf "%s has %s but %s takes %s; %s needs %s." name (Check.counted row.Length "value" "values") what (Check.counted width "input" "inputs") name (Check.counted width "value" "values"))
        row |> Array.iteri (fun j v ->
            if not (Double.IsFinite v) then Check.fail name (sprintf "%s holds %s at column %d; every value must be finite." name (string v) j))

    /// The most Gauss-Legendre nodes per segment an attribution takes, fixed (`Steps`) or adaptive
    /// (`MaxSteps`): 4096. Past a few hundred nodes the rule is exact to rounding for any smooth
    /// network, and the rule's O(m^2) construction and the path batch (segments x m rows) would
    /// otherwise grow without bound (steps = Int32.MaxValue ran out of memory).
    [<Literal>]
    let StepLimit = 4096

    let private checkOptions (options: AttributionOptions) =
        Check.notNull "options" (box options)
        match options.Steps with
        | Some s when s < 1 -> raise (ArgumentOutOfRangeException("steps", sprintf "steps must be at least 1, but is %d." s))
        | Some s when s > StepLimit -> raise (ArgumentOutOfRangeException("steps", sprintf "steps is %d, above the limit of %d Gauss-Legendre nodes per segment." s StepLimit))
        | _ -> ()
        if not (options.Tolerance > 0.0 && Double.IsFinite options.Tolerance) then
            Check.fail "tolerance" (sprintf "tolerance must be a positive finite number, but is %s." (string options.Tolerance))
        if options.MaxSteps < 1 then Check.fail "maxSteps" (sprintf "maxSteps must be at least 1, but is %d." options.MaxSteps)
        if options.MaxSteps > StepLimit then
            raise (ArgumentOutOfRangeException("maxSteps", sprintf "maxSteps is %d, above the limit of %d Gauss-Legendre nodes per segment." options.MaxSteps StepLimit))

    let private pathBatch (x: float[]) (b: float[]) (ts: float[]) =
        Mat.init ts.Length x.Length (fun r i -> b.[i] + ts.[r] * (x.[i] - b.[i]))

    let private hasKink (a: Activation) = not (List.isEmpty (Activation.kinks a))
    let private isPiecewiseLinear (a: Activation) =
        match a with
        | Activation.Identity | Activation.ReLU | Activation.LeakyReLU _ -> true
        | _ -> false

    /// What the search of the path looks for at a block's input.
    [<RequireQualifiedAccess>]
    type private Site =
        /// Units with an activation: kinks where a ReLU-type unit's pre-activation crosses zero.
        | Units of Activation
        /// A layer normalisation: where a row's variance is smallest, the block steepest.
        | Norm of LayerNorm
        /// A custom block: smooth, nothing to find.
        | Opaque

    /// A place of the network where the search of the path looks (`sites`).
    type private SiteOf =
        { /// The value the block is applied to, read from a trace of the whole network.
          Read: Trace -> Matrix<float>
          /// What to look for there.
          Site: Site
          /// Whether the block is piecewise linear in its input (dense layers and activations of
          /// the identity or a ReLU type) or not (other activations, layer normalisation, custom
          /// blocks); dropout and batch normalisation in inference mode, and residual sums, are
          /// no sites and piecewise linear.
          PiecewiseLinear: bool
          /// The blocks that map the network's input to the block's input, in order: the blocks
          /// before it (for a block inside a residual block, the blocks before that and the
          /// residual's inner blocks before it).
          Before: Block list
          /// The blocks whose output is the value the block is applied to: `Before`, and for a
          /// dense layer the layer itself with the identity (its pre-activation).
          Value: Block list }

    /// Every activation and layer normalisation of the network in forward order, depth first.
    let private sites (net: Network) : SiteOf list =
        let rec go (at: BlockTrace list -> BlockTrace list) (before: Block list) (blocks: Block list) =
            blocks |> List.indexed |> List.collect (fun (i, b) ->
                let step (ts: BlockTrace list) = List.item i (at ts)
                let prefix = before @ List.take i blocks
                let site read site pl value = [ { Read = (fun (t: Trace) -> read t.Steps); Site = site; PiecewiseLinear = pl; Before = prefix; Value = value } ]
                match b with
                | Block.Dense d ->
                    site (fun t -> match (step t).Memory with BlockMemory.PreActivation z -> z | _ -> (step t).Input)
                        (Site.Units d.Activation) (isPiecewiseLinear d.Activation) (prefix @ [ Block.Dense { d with Activation = Activation.Identity } ])
                | Block.Activation a -> site (fun t -> (step t).Input) (Site.Units a) (isPiecewiseLinear a) prefix
                | Block.Residual inner -> go (fun ts -> match (step ts).Memory with BlockMemory.Inner inner -> inner | _ -> []) prefix inner
                | Block.LayerNorm ln -> site (fun t -> (step t).Input) (Site.Norm ln) false prefix
                | Block.Custom _ -> site (fun t -> (step t).Input) Site.Opaque false prefix
                | Block.Dropout _ | Block.BatchNorm _ -> [])
        go id [] net.Blocks

    /// What `pathBounds` knows of a block's output y along the path b + t (x - b), t in [0, 1].
    [<RequireQualifiedAccess>]
    type private Along =
        /// Affine in t: these values at t = 0 and at t = 1.
        | Affine of float[] * float[]
        /// |y_j'(t)| <= g_j and, when known (no ReLU-type kink can lie on the path), |y_j''(t)|
        /// <= k_j everywhere on the path.
        | Bounded of g: float[] * k: float[] option

    /// The largest value on [lo, hi] of an even function h that rises on [0, p] and falls after:
    /// h(p) when the interval holds p or -p, else the larger of h(|lo|) and h(|hi|).
    let private peakOn (h: float -> float) (p: float) (lo: float) (hi: float) =
        if (lo <= p && p <= hi) || (lo <= -p && -p <= hi) then h p else max (h (abs lo)) (h (abs hi))

    /// The largest |s'(z)| of an activation for z in [lo, hi] (its Lipschitz constant there; for
    /// a ReLU type, the largest slope of the pieces the interval meets): the identity 1; tanh
    /// sech^2 and sigmoid s(1 - s) at the point of the interval closest to 0; softplus the
    /// sigmoid at hi (increasing); ReLU 1 when hi > 0, else 0; leaky ReLU 1 when hi > 0 and |slope|
    /// when lo < 0 (the larger); the step infinity (its jump).
    let private slopeOn (a: Activation) (lo: float) (hi: float) : float =
        let nearest = max lo (min hi 0.0)
        match a with
        | Activation.Identity -> 1.0
        | Activation.Tanh -> let c = cosh nearest in 1.0 / (c * c)
        | Activation.Sigmoid -> let e = exp (-(abs nearest)) in e / ((1.0 + e) * (1.0 + e))
        | Activation.Softplus -> Activation.sigmoid hi
        | Activation.ReLU -> if hi > 0.0 then 1.0 else 0.0
        | Activation.LeakyReLU slope -> max (if hi > 0.0 then 1.0 else 0.0) (if lo < 0.0 then abs slope else 0.0)
        | Activation.Step -> infinity

    /// The largest |s''(z)| of an activation for z in [lo, hi]: the identity 0; tanh
    /// |s''| = 2 |tanh z| sech^2 z, largest 4 / (3 sqrt 3) at |z| = atanh(1/sqrt 3); sigmoid
    /// |s''| = s (1 - s) |1 - 2 s|, largest 1 / (6 sqrt 3) at |z| = ln(2 + sqrt 3); softplus
    /// s'' = the sigmoid's derivative, largest at the point closest to 0; a ReLU type 0 unless
    /// the interval holds its kink inside (lo < 0 < hi: the slope jumps, infinity); the step infinity.
    let private bendOn (a: Activation) (lo: float) (hi: float) : float =
        let sigmoidSlope (z: float) = let e = exp (-(abs z)) in e / ((1.0 + e) * (1.0 + e))
        match a with
        | Activation.Identity -> 0.0
        | Activation.Tanh -> peakOn (fun z -> let c = cosh z in 2.0 * abs (tanh z) / (c * c)) (Math.Atanh (1.0 / sqrt 3.0)) lo hi
        | Activation.Sigmoid -> peakOn (fun z -> let e = exp (-z) in sigmoidSlope z * (1.0 - e) / (1.0 + e)) (log (2.0 + sqrt 3.0)) lo hi
        | Activation.Softplus -> sigmoidSlope (max lo (min hi 0.0))
        | Activation.ReLU | Activation.LeakyReLU _ -> if lo < 0.0 && 0.0 < hi then infinity else 0.0
        | Activation.Step -> infinity

    /// Bounds on how fast the output y of `prefix` (blocks in order, inference mode) moves and
    /// bends along the path b + t (x - b), t in [0, 1]: (g, k) with |y_j'(t)| <= g_j and, when
    /// known, |y_j''(t)| <= k_j for every t; None when a block has no bound (a layer normalisation,
    /// whose slope grows as 1/sqrt(eps) where its input's variance vanishes, or a custom block).
    /// While the blocks are affine in t (dense layers with the identity, batch normalisation by
    /// its running statistics, dropout, residual sums of such) their values at t = 0 and 1 are
    /// carried exactly; an activation then bounds each unit by dz_j = z_j(1) - z_j(0): g_j = |dz_j|
    /// times its largest slope between z_j(0) and z_j(1) (`slopeOn`), k_j = dz_j^2 times its
    /// largest |s''| there (`bendOn`). After that, a dense layer maps both by |W| (g'_k = sum_j
    /// |W_jk| g_j), an activation s gives y' <= S1 z' and y'' <= S2 z'^2 + S1 z'' with S1, S2 the
    /// largest |s'|, |s''| anywhere (no k for a ReLU type), batch normalisation scales both by
    /// |gamma_j| / sqrt(var_j + eps), and a residual block adds its input's bounds to its inner
    /// blocks'.
    let private pathBounds (x: float[]) (b: float[]) (prefix: Block list) : (float[] * float[] option) option =
        let bounds (s: Along) =
            match s with
            | Along.Affine (v0, v1) -> Array.map2 (fun a c -> abs (c - a)) v0 v1, Some (Array.zeroCreate v0.Length)
            | Along.Bounded (g, k) -> g, k
        let activate (a: Activation) (z0: float[]) (z1: float[]) =
            let span j = min z0.[j] z1.[j], max z0.[j] z1.[j], z1.[j] - z0.[j]
            let g = Array.init z0.Length (fun j -> let lo, hi, dz = span j in abs dz * slopeOn a lo hi)
            let k = Array.init z0.Length (fun j -> let lo, hi, dz = span j in let c = bendOn a lo hi in if c = 0.0 then 0.0 else dz * dz * c)
            Along.Bounded (g, if Array.forall Double.IsFinite k then Some k else None)
        // y' <= s1 z' and y'' <= s2 z'^2 + s1 z'' for an activation of slopes up to s1 and bends up to s2.
        let through (a: Activation) (gz: float[]) (kz: float[] option) =
            let s1, s2 = slopeOn a -infinity infinity, bendOn a -infinity infinity
            let k = if Double.IsFinite s2 then kz |> Option.map (Array.map2 (fun gv kv -> s2 * gv * gv + s1 * kv) gz) else None
            Along.Bounded (gz |> Array.map (fun v -> s1 * v), k)
        let rec walk (state: Along) (blocks: Block list) : Along option =
            match blocks with
            | [] -> Some state
            | block :: rest ->
                let next =
                    match block, state with
                    | Block.Dense d, Along.Affine (v0, v1) ->
                        let affine (v: float[]) =
                            let z = d.Weights.TransposeThisAndMultiply(Vector<float>.Build.DenseOfArray v)
                            (match d.Bias with Some bias -> z + bias | None -> z).ToArray()
                        let z0, z1 = affine v0, affine v1
                        Some (if d.Activation = Activation.Identity then Along.Affine (z0, z1) else activate d.Activation z0 z1)
                    | Block.Dense d, Along.Bounded (g, k) ->
                        let w = d.Weights.PointwiseAbs()
                        let map (v: float[]) = w.TransposeThisAndMultiply(Vector<float>.Build.DenseOfArray v).ToArray()
                        Some (through d.Activation (map g) (Option.map map k))
                    | Block.Activation Activation.Identity, _ | Block.Dropout _, _ -> Some state
                    | Block.Activation a, Along.Affine (v0, v1) -> Some (activate a v0 v1)
                    | Block.Activation a, Along.Bounded (g, k) -> Some (through a g k)
                    | Block.BatchNorm bn, _ ->
                        let r = Array.init bn.Width (fun j -> bn.Scale.[j] / sqrt (bn.RunningVariance.[j] + bn.Epsilon))
                        match state with
                        | Along.Affine (v0, v1) ->
                            let map (v: float[]) = Array.init v.Length (fun j -> (v.[j] - bn.RunningMean.[j]) * r.[j] + bn.Shift.[j])
                            Some (Along.Affine (map v0, map v1))
                        | Along.Bounded (g, k) ->
                            let map (v: float[]) = Array.init v.Length (fun j -> v.[j] * abs r.[j])
                            Some (Along.Bounded (map g, Option.map map k))
                    | Block.Residual inner, _ ->
                        walk state inner |> Option.map (fun f ->
                            match state, f with
                            | Along.Affine (a0, a1), Along.Affine (f0, f1) -> Along.Affine (Array.map2 (+) a0 f0, Array.map2 (+) a1 f1)
                            | _ ->
                                let (ga, ka), (gf, kf) = bounds state, bounds f
                                Along.Bounded (Array.map2 (+) ga gf, Option.map2 (Array.map2 (+)) ka kf))
                    | Block.LayerNorm _, _ | Block.Custom _, _ -> None
                next |> Option.bind (fun s -> walk s rest)
        walk (Along.Affine (Array.copy b, Array.copy x)) prefix |> Option.map bounds

    /// The smallest interval of the path the refinement of `samplePath` splits (a pair of
    /// crossings closer than this changes the integral by at most its width times the jump).
    let private minInterval = 1e-10

    /// Samples of pre-activations z(t) (one column per unit) along the path, for a search of their
    /// zeros where z is smooth but not linear in t: the points `ts`, then the midpoint of every
    /// interval between neighbours, split again while some unit is not resolved on it. A unit is
    /// resolved on [a, c] with midpoint m when its departure from the chord, d = |z(m) - (z(a) +
    /// z(c)) / 2| (for a parabola, the largest departure on the interval), is small beside both
    /// its distance from zero and its change: 8 d <= max(min(|z(a)|, |z(m)|, |z(c)|), |z(c) - z(a)|)
    /// (with min |z| > d a parabola keeps its sign; with |z(c) - z(a)| > 4 d it is monotone, one
    /// zero at most), or d is rounding (below 1e-13 of the unit's largest |z| on `ts`). So a unit
    /// that dips through zero and back between two points of `ts` (two kinks, no sign change at the
    /// points) is split until the dip shows. Intervals shorter than `minInterval` are not split.
    /// `z0` holds z at the points `ts` (row r at ts.[r]). The samples in order of t, with their
    /// rows of z.
    let private samplePathFrom (preAct: float[] -> Matrix<float>) (ts: float[]) (z0: Matrix<float>) : (float * float[])[] =
        let rows = Array.init ts.Length (fun r -> ts.[r], z0.Row(r).ToArray())
        let noise = Array.init z0.ColumnCount (fun u -> 1e-13 * (rows |> Array.map (fun (_, z) -> abs z.[u]) |> Array.max))
        let samples = ResizeArray(rows)
        let mutable pending = Array.init (rows.Length - 1) (fun s -> rows.[s], rows.[s + 1])
        while pending.Length > 0 do
            let mids = pending |> Array.map (fun ((a, _), (c, _)) -> (a + c) / 2.0)
            let zm = preAct mids
            let next = ResizeArray()
            pending |> Array.iteri (fun k ((a, za), (c, zc)) ->
                let mid = mids.[k], zm.Row(k).ToArray()
                samples.Add mid
                let zk = snd mid
                let unresolved =
                    Seq.exists (fun u ->
                        let d = abs (zk.[u] - (za.[u] + zc.[u]) / 2.0)
                        d > noise.[u] && 8.0 * d > max (min (abs za.[u]) (min (abs zk.[u]) (abs zc.[u]))) (abs (zc.[u] - za.[u])))
                        (seq { 0 .. zk.Length - 1 })
                if unresolved && c - a > minInterval then
                    next.Add(((a, za), mid))
                    next.Add((mid, (c, zc))))
            pending <- next.ToArray()
        samples.ToArray() |> Array.sortBy fst

    /// `samplePathFrom` with z at `ts` from `preAct`.
    let private samplePath (preAct: float[] -> Matrix<float>) (ts: float[]) : (float * float[])[] =
        samplePathFrom preAct ts (preAct ts)

    /// The closest two cuts of `normCuts` may be (a few steps of a float64 t below 1): the graded
    /// cuts around a minimum whose h is narrower than `minInterval` are kept (with eps = 1e-12,
    /// after another layer normalisation, h is about 5e-13).
    let private minCut = 1e-15

    /// The rows of a layer normalisation's input, centred: y - mean(y), row by row.
    let private centred (y: Matrix<float>) : Matrix<float> =
        let w = y.ColumnCount
        let mean = Array.init y.RowCount (fun r -> let mutable s = 0.0 in (for j in 0 .. w - 1 do s <- s + y.[r, j]); s / float w)
        Mat.init y.RowCount w (fun r j -> y.[r, j] - mean.[r])

    /// The biased variance of a row from its centred values d: |d|^2 / w.
    let private varianceOf (d: float[]) = (Array.sumBy (fun v -> v * v) d) / float d.Length

    /// With the centred row linear between da (at t) and dc (at t + length), d_a + u (d_c - d_a),
    /// its variance is the parabola low + a (t - tLow)^2, tLow = t + u length: (u, a, low), or
    /// None when da = dc (the variance is constant).
    let private parabola (da: float[]) (dc: float[]) (length: float) =
        let delta = Array.map2 (-) dc da
        let dd = Array.sumBy (fun v -> v * v) delta
        if dd > 0.0 then
            let u = -(Array.map2 (*) da delta |> Array.sum) / dd
            Some (u, dd / (float da.Length * length * length), varianceOf (Array.map2 (fun x e -> x + u * e) da delta))
        else None

    /// The minima of functions g_k on brackets [lo_k, hi_k] by golden-section search, all brackets
    /// in one batch per step (`g` takes the points, one per bracket, and returns the values),
    /// until every bracket is shorter than 1e-15 (at most 80 steps); the brackets' midpoints.
    let private goldenMinima (g: float[] -> float[]) (lo: float[]) (hi: float[]) : float[] =
        let c = (sqrt 5.0 - 1.0) / 2.0
        let n = lo.Length
        let lo, hi = Array.copy lo, Array.copy hi
        let x1 = Array.init n (fun k -> hi.[k] - c * (hi.[k] - lo.[k]))
        let x2 = Array.init n (fun k -> lo.[k] + c * (hi.[k] - lo.[k]))
        let g12 = g (Array.append x1 x2)
        let g1, g2 = Array.sub g12 0 n, Array.sub g12 n n
        let mutable steps = 0
        while steps < 80 && Seq.exists (fun k -> hi.[k] - lo.[k] > 1e-15) (seq { 0 .. n - 1 }) do
            // The lower of the two inner points keeps its side: the bracket drops the other end.
            let left = Array.init n (fun k -> g1.[k] < g2.[k])
            let probes =
                Array.init n (fun k ->
                    if left.[k] then
                        hi.[k] <- x2.[k]; x2.[k] <- x1.[k]; g2.[k] <- g1.[k]
                        x1.[k] <- hi.[k] - c * (hi.[k] - lo.[k]); x1.[k]
                    else
                        lo.[k] <- x1.[k]; x1.[k] <- x2.[k]; g1.[k] <- g2.[k]
                        x2.[k] <- lo.[k] + c * (hi.[k] - lo.[k]); x2.[k])
            let values = g probes
            for k in 0 .. n - 1 do
                if left.[k] then g1.[k] <- values.[k] else g2.[k] <- values.[k]
            steps <- steps + 1
        Array.init n (fun k -> (lo.[k] + hi.[k]) / 2.0)

    /// What shows, without a search, that a layer normalisation's input (w features, centred
    /// rows d(t) along the path) has no variance minimum narrow enough for `normCuts` to cut:
    /// bounds G >= |d'(t)| and, when known, K >= |d''(t)| on [0, 1] (the Euclidean norms of
    /// `pathBounds`' g and k: centring is a projection, so |d'| <= |y'| and |d''| <= |y''|), the
    /// centred rows at t = 0 and t = 1, and an allowance for rounding (`Noise`, subtracted from
    /// the distances of d from zero). Between neighbouring points a < c where d is known, |d(t)|
    /// >= |d(a)| - G (t - a) and >= |d(c)| - G (c - t), so |d| >= (|d(a)| + |d(c)| - G (c - a)) / 2
    /// on [a, c]; and d departs from its chord by at most K (t - a) (c - t) / 2, so |d| >= (the
    /// chord's least distance from zero) - K (c - a)^2 / 8: m is the larger. A cut needs, at a t* (a minimum
    /// found, or the point of the cuts that stands for it) and a probe t' at distance h from it
    /// with v(t') >= 2 v(t*) + eps, h <= D / 16, D <= the longest segment of the cuts so far. But
    /// |d(t')| <= |d(t*)| + G h, so G h >= sqrt(2 s^2 + w eps) - s with s = |d(t*)| >= m, whose
    /// least value over s >= m is that at s = m when m^2 >= w eps / 2, else sqrt(w eps / 2).
    /// When that least h exceeds the longest segment / 16 on every interval, no side of any
    /// minimum is graded and `normCuts` returns no cut, as its search would.
    type private Clearance =
        { /// G: |d'(t)| <= G for t in [0, 1].
          Slope: float
          /// K: |d''(t)| <= K for t in [0, 1], when known.
          Curvature: float option
          /// The centred input rows at t = 0 (the baseline) and t = 1 (the row), one row each.
          Ends: Matrix<float>
          /// Subtracted from each lower bound m of |d| (rounding of the network's values).
          Noise: float }

    /// The points of the path where a layer normalisation (variance epsilon eps) is to be cut,
    /// around each local minimum t* of its input row's variance v(t) along the path. Near t*,
    /// v = v(t*) + a (t - t*)^2 and the normalisation's output is about (t - t*) / sqrt((t - t*)^2
    /// + h^2) times a constant, h = sqrt((v(t*) + eps) / a): a jump at t* smoothed over h (with two
    /// features, sign(y_1 - y_2) smoothed over about sqrt(eps) in y_1 - y_2), whose derivative in
    /// the integrand is a spike with poles at t* +- i h. Inside a segment of length L such a spike
    /// keeps the Gauss-Legendre rule's error large until m is several times L/h; at a segment's
    /// end, where the nodes cluster, several times sqrt(L/h) (two such blocks in a row, in the
    /// tests: h = 5e-6, L = 0.36, m = 2048). So on each side of t* where h (there: the distance at
    /// which v reaches 2 v(t*) + eps) is at most a sixteenth of the distance D to the next point of
    /// `ts`, the path is cut at t* and graded toward it, at t* +- h 4^k for k = 0, 1, ... while
    /// h 4^k <= D / 4: every piece then lies at least a sixteenth of its length from the poles (the
    /// first, [t*, t* +- h], its length) and takes few nodes (that test: 17 segments of 8 nodes). A
    /// minimum with h > D / 16 on both sides is left to the rule: its poles lie more than 1/32 of
    /// the segment's length from it. t* itself is not added when it is a point of `ts` already (or,
    /// found by search, within `minInterval` of one, which then stands for it); the graded cuts
    /// are, down to `minCut` apart. `centredAt` gives the centred input rows
    /// at points of the path. `linear`: the input is linear in t on each segment of `ts`, so
    /// d(t) = d_s + u (d_s+1 - d_s) with u in [0, 1] and v is a parabola there, its minimum on the
    /// segment at u* = -d_s . (d_s+1 - d_s) / |d_s+1 - d_s|^2 clamped to [0, 1] (an end of the
    /// segment where v is monotone on it), and h comes from the parabola, exactly. Otherwise the
    /// input is sampled by `samplePath` from `ts` and a grid of 32 intervals (every unit nearly
    /// linear between samples, or far from zero); a minimum is bracketed by a sample where v is
    /// lower than at both neighbours (with them), or by two neighbouring samples where the line
    /// through their d passes closest to zero between them, golden-section search locates it, and
    /// h on each side is the smallest of the distances D 2^-k (k = 0 .. 47) at which v >= 2 v(t*)
    /// + eps (at most twice the true h). Before any of that, `clearance` (when the blocks before
    /// the normalisation have bounds, `pathBounds`) may show that no minimum can be that
    /// narrow (`Clearance`): from the rows at t = 0 and 1, else from those on the grid (then the
    /// first level of the samples); then there is no cut and nothing more is computed.
    let private normCuts (centredAt: float[] -> Matrix<float>) (eps: float) (linear: bool) (clearance: Clearance option) (ts: float[]) : float[] =
        let cuts = ResizeArray<float>()
        let add (t: float) (isPoint: bool) (sides: (float * float * float) list) =
            let graded =
                sides |> List.collect (fun (dir, h, dist) ->
                    if h > dist / 16.0 then []
                    else List.unfold (fun s -> if s <= dist / 4.0 then Some (t + dir * s, 4.0 * s) else None) h)
            if not graded.IsEmpty then
                if not isPoint then cuts.Add t
                cuts.AddRange graded
        // After a smooth block: `Clearance` may show that no minimum is narrow enough to cut, from
        // the rows at t = 0 and 1, or else from the grid's (which then start the samples).
        let widest = ts |> Array.pairwise |> Array.map (fun (a, c) -> c - a) |> Array.max
        let clear (points: float[]) (d: Matrix<float>) =
            match clearance with
            | None -> false
            | Some c ->
                let n, w = d.RowCount, d.ColumnCount
                let v = d.ToColumnMajorArray()   // d_r,j at v.[j * n + r]
                let norm r = let mutable s = 0.0 in (for j in 0 .. w - 1 do s <- s + v.[j * n + r] * v.[j * n + r]); sqrt s
                let mutable m = infinity
                for k in 0 .. n - 2 do
                    let length = points.[k + 1] - points.[k]
                    let cone = (norm k + norm (k + 1) - c.Slope * length) / 2.0
                    let chord =
                        match c.Curvature with
                        | Some bend ->
                            // The chord's point closest to zero: d_a + u delta, u = -d_a . delta / |delta|^2 in [0, 1].
                            let mutable ad = 0.0
                            let mutable dd = 0.0
                            for j in 0 .. w - 1 do
                                let a, e = v.[j * n + k], v.[j * n + k + 1] - v.[j * n + k]
                                ad <- ad + a * e
                                dd <- dd + e * e
                            let u = if dd > 0.0 then max 0.0 (min 1.0 (-ad / dd)) else 0.0
                            let mutable closest = 0.0
                            for j in 0 .. w - 1 do
                                let p = v.[j * n + k] + u * (v.[j * n + k + 1] - v.[j * n + k])
                                closest <- closest + p * p
                            sqrt closest - bend * length * length / 8.0
                        | None -> -infinity
                    m <- min m (max cone chord)
                let m = max 0.0 (m - c.Noise)
                let floor = float w * eps
                let rise = if m * m >= floor / 2.0 then sqrt (2.0 * m * m + floor) - m else sqrt (floor / 2.0)
                rise > c.Slope * widest / 16.0 * (1.0 + 1e-9)
        let grid = Array.append ts (Array.init 33 (fun k -> float k / 32.0)) |> Array.distinct |> Array.sort
        let atGrid = lazy (centredAt grid)
        let cleared () =
            match clearance with
            | Some c when clear [| 0.0; 1.0 |] c.Ends -> true
            | Some _ -> clear grid atGrid.Value
            | None -> false
        if linear then
            let d = centredAt ts
            for s in 0 .. ts.Length - 2 do
                let ta, tc = ts.[s], ts.[s + 1]
                let da, dc = d.Row(s).ToArray(), d.Row(s + 1).ToArray()
                let length = tc - ta
                match parabola da dc length with
                | None -> ()
                | Some (u, a, low) ->
                    // v(t) = low + a (t - tLow)^2 on the segment (tLow outside it when v is monotone there).
                    let tLow = ta + u * length
                    let p, vp = if u <= 0.0 then ta, varianceOf da elif u >= 1.0 then tc, varianceOf dc else tLow, low
                    // The distance from tLow at which v = 2 v(p) + eps.
                    let reach = sqrt ((2.0 * vp + eps - low) / a)
                    add p (p = ta || p = tc)
                        [ if p < tc then yield 1.0, reach - (p - tLow), tc - p
                          if p > ta then yield -1.0, reach - (tLow - p), p - ta ]
        elif not (cleared ()) then
            let rows = samplePathFrom centredAt grid atGrid.Value
            let samples = rows |> Array.map (fun (t, d) -> t, varianceOf d)
            let last = samples.Length - 1
            // Brackets of the minima: a sample where v is lower than at both neighbours, with them;
            // two neighbouring samples between which d passes closest to zero inside (the line
            // through them, d_a + u (d_c - d_a), is closest to zero at a u in (0, 1): v decreases
            // at the first, increases at the second).
            let brackets =
                [| for k in 0 .. last do
                     if (k = 0 || snd samples.[k] < snd samples.[k - 1]) && (k = last || snd samples.[k] < snd samples.[k + 1]) then
                         yield fst samples.[max 0 (k - 1)], fst samples.[min last (k + 1)]
                   for k in 0 .. last - 1 do
                     let (ta, da), (tc, dc) = rows.[k], rows.[k + 1]
                     let delta = Array.map2 (-) dc da
                     if Array.map2 (*) da delta |> Array.sum < 0.0 && Array.map2 (*) dc delta |> Array.sum > 0.0 then
                         yield ta, tc |]
            // A bracket whose minimum is wide needs no cut (h > D / 16 below) and no search: with d
            // nearly linear between neighbouring samples (samplePath), v is nearly a parabola
            // there, whose minimum and h the linear branch's closed form gives. A bracket is kept
            // when some pair of neighbouring samples inside it has its minimum inside the pair and
            // an h below a quarter of the larger distance to a point of ts (four times the rule's
            // bound, for the parabola's error). The search costs some 130 passes of the network.
            let narrow (ta: float, tc: float) =
                let tm = (ta + tc) / 2.0
                let far =
                    max (match ts |> Array.tryFind (fun p -> p >= tm) with Some p -> p - tm | None -> 0.0)
                        (match ts |> Array.tryFindBack (fun p -> p <= tm) with Some p -> tm - p | None -> 0.0)
                seq { 0 .. last - 1 }
                |> Seq.filter (fun k -> fst rows.[k] >= ta && fst rows.[k + 1] <= tc)
                |> Seq.exists (fun k ->
                    let (t0, d0), (t1, d1) = rows.[k], rows.[k + 1]
                    match parabola d0 d1 (t1 - t0) with
                    | Some (u, a, low) when u > 0.0 && u < 1.0 -> sqrt ((low + eps) / a) <= far / 4.0
                    | _ -> false)
            let brackets = brackets |> Array.filter narrow
            if brackets.Length > 0 then
                let variances (points: float[]) =
                    let d = centredAt points
                    Array.init points.Length (fun r -> varianceOf (d.Row(r).ToArray()))
                // Each minimum, or the point of ts it is within minInterval of.
                let found =
                    goldenMinima variances (Array.map fst brackets) (Array.map snd brackets)
                    |> Array.map (fun t ->
                        match ts |> Array.tryFind (fun p -> abs (p - t) <= minInterval) with
                        | Some p -> p, true
                        | None -> t, false)
                    |> Array.sortBy fst
                    |> Array.fold (fun (kept: (float * bool) list) (t, isPoint) ->
                        match kept with
                        | (p, _) :: _ when t - p <= minInterval -> kept
                        | _ -> (t, isPoint) :: kept) []
                    |> List.rev |> Array.ofList
                let probes = 48
                let sidesOf (t: float) =
                    [ match ts |> Array.tryFind (fun p -> p > t) with Some p -> yield 1.0, p - t | None -> ()
                      match ts |> Array.tryFindBack (fun p -> p < t) with Some p -> yield -1.0, t - p | None -> () ]
                let points =
                    found |> Array.collect (fun (t, _) ->
                        [| yield t
                           for dir, dist in sidesOf t do
                               for k in 0 .. probes - 1 do yield t + dir * dist * Math.Pow(2.0, float -k) |])
                let v = variances points
                let mutable r = 0
                for t, isPoint in found do
                    let threshold = 2.0 * v.[r] + eps
                    r <- r + 1
                    let sides =
                        sidesOf t |> List.map (fun (dir, dist) ->
                            let mutable h = infinity
                            for k in 0 .. probes - 1 do
                                if v.[r + k] >= threshold then h <- dist * Math.Pow(2.0, float -k)
                            r <- r + probes
                            dir, h, dist)
                    add t isPoint sides
        // Sorted, without a cut within minCut of a point of ts or of the cut before it.
        cuts.ToArray()
        |> Array.filter (fun t -> t > 0.0 && t < 1.0 && ts |> Array.forall (fun p -> abs (p - t) > minCut))
        |> Array.sort
        |> Array.fold (fun (kept: float list) t -> match kept with p :: _ when t - p <= minCut -> kept | _ -> t :: kept) []
        |> List.rev |> Array.ofList

    /// The points 0 = t_0 < ... < t_S = 1 of the path b + t (x - b) where a ReLU-type unit's
    /// pre-activation crosses zero (where the gradient jumps), or a layer normalisation's input
    /// row nearly loses its variance (where its output nearly jumps: `normCuts`), layer by layer.
    /// While every layer before a kinked layer is piecewise linear, its pre-activations are linear
    /// in t between the points found so far and each crossing is found exactly by linear
    /// interpolation; after a smooth non-linear layer, the path is also cut on a grid of 32
    /// intervals, sign changes are looked for on the samples of `samplePath` (the intervals split
    /// until every unit is nearly linear on each, so a dip through zero and back inside one
    /// interval is seen) and located by 60 bisections. A layer normalisation's variance minima
    /// are found exactly likewise while the blocks before it are piecewise linear, else on the
    /// samples of `samplePath` and by golden-section search, unless `Clearance` shows from the
    /// traces `atB` and `atX` of the network at b and at x (and, failing that, from the grid's
    /// samples) that no minimum is narrow enough to cut.
    let private kinkPoints (net: Network) (x: float[]) (b: float[]) (atB: Trace) (atX: Trace) : float[] =
        let layers = Array.ofList (sites net)
        let mutable ts = [| 0.0; 1.0 |]
        let mutable smooth = false
        // The value at a site for points of the path: a forward pass (inference mode) of the
        // blocks up to it only, the same operations as the network's forward pass.
        let preAct (l: int) (points: float[]) =
            let input = Precision.roundMatrix net.Precision (pathBatch x b points)
            match Block.forwardAll net.Precision Mode.Inference (ref 0) layers.[l].Value input with
            | [] -> input
            | steps -> (List.last steps).Output
        // The network's values carry rounding errors of about 1e-16 (float64) or 6e-8 (float32)
        // of their size per operation: a generous allowance for them in `Clearance`.
        let rounding = match net.Precision with Precision.Float64 -> 1e-12 | Precision.Float32 -> 1e-5
        for l in 0 .. layers.Length - 1 do
            let { Read = get; Site = site; PiecewiseLinear = piecewiseLinear; Before = prefix } = layers.[l]
            match site with
            | Site.Norm ln ->
                let clearance =
                    if not smooth then None
                    else
                        pathBounds x b prefix |> Option.map (fun (g, k) ->
                            let ends = (get atB).Stack(get atX)
                            let norm (v: float[]) = sqrt (Array.sumBy (fun e -> e * e) v)
                            let slope = norm g
                            { Slope = slope; Curvature = Option.map norm k; Ends = centred ends
                              Noise = rounding * (ends.Row(0).L2Norm() + ends.Row(1).L2Norm() + slope) })
                let cuts = normCuts (preAct l >> centred) ln.Epsilon (not smooth) clearance ts
                if cuts.Length > 0 then ts <- Array.append ts cuts |> Array.sort
            | Site.Units activation when hasKink activation ->
                if smooth then ts <- Array.append ts (Array.init 33 (fun k -> float k / 32.0)) |> Array.distinct |> Array.sort
                // Piecewise linear so far: z is linear between the points of ts, which are the samples.
                // After a smooth block: the samples of the adaptive refinement.
                let samples =
                    if not smooth then let z = preAct l ts in Array.init ts.Length (fun r -> ts.[r], z.Row(r).ToArray())
                    else samplePath (preAct l) ts
                // Each unit's sign changes between consecutive samples (after a smooth block a sample
                // where z is exactly zero is skipped: the change is then between its neighbours).
                let crossings = ResizeArray()
                let units = (snd samples.[0]).Length
                for u in 0 .. units - 1 do
                    let mutable last = None
                    for (t, z) in samples do
                        if z.[u] = 0.0 then (if not smooth then last <- None)   // linear: the kink is at t, already a point
                        else
                            match last with
                            | Some (ta, za) when sign za <> sign z.[u] -> crossings.Add((u, ta, t, za, z.[u]))
                            | _ -> ()
                            last <- Some (t, z.[u])
                if crossings.Count > 0 then
                    let roots =
                        if not smooth then
                            crossings.ToArray() |> Array.map (fun (_, ta, tb, za, zb) -> ta + (tb - ta) * za / (za - zb))
                        else
                            let lo = crossings.ToArray() |> Array.map (fun (_, ta, _, _, _) -> ta)
                            let hi = crossings.ToArray() |> Array.map (fun (_, _, tb, _, _) -> tb)
                            let loSign = crossings.ToArray() |> Array.map (fun (_, _, _, za, _) -> sign za)
                            for _ in 1 .. 60 do
                                let mid = Array.map2 (fun a c -> (a + c) / 2.0) lo hi
                                let zm = preAct l mid
                                crossings |> Seq.iteri (fun k (u, _, _, _, _) ->
                                    if sign zm.[k, u] = loSign.[k] then lo.[k] <- mid.[k] else hi.[k] <- mid.[k])
                            Array.map2 (fun a c -> (a + c) / 2.0) lo hi
                    ts <- Array.append ts (roots |> Array.filter (fun t -> t > 0.0 && t < 1.0)) |> Array.distinct |> Array.sort
            | _ -> ()
            if not piecewiseLinear then smooth <- true
        ts

    /// The most rows of the path one gradient batch of `integrate` holds: 4096 (a multiple of the
    /// kernels' chunks of 256 rows). The nodes are segments x m, and the segments grow with the
    /// ReLU kinks on the path without a cap (a 20-512-512-10 ReLU network at 4096 nodes: 438
    /// segments, 1.8 million rows), so the rows go through the backend in batches of at most this
    /// many; memory then stays bounded, time grows with the rows.
    [<Literal>]
    let PathChunkRows = 4096

    /// One run of the quadrature with m nodes per segment: the attributions, f(x), f(b). The path's
    /// nodes, then x and b themselves (for f(x) and f(b)), go through the backend's input gradient
    /// in batches of at most `chunk` rows, in order; the weighted sums accumulate over the nodes
    /// r = 0 .. N-1 in that order, so the result is bit for bit that of one batch of every row
    /// wherever a row's gradient does not depend on the other rows of its batch.
    /// `Attribution.Scale`: the largest of `spread` (the largest |f - f(b)| at x and the path's
    /// nodes) and sum_i |a_i| (which exceeds |f(x) - f(b)| where attributions cancel, and the
    /// quadrature's error grows with them). Measured from f(b), so a constant added to f (a
    /// regressor's target mean) leaves it, and the rule's stopping point, unchanged.
    let private scaleOf (spread: float) (values: float[]) = max spread (Array.sumBy abs values)

    let private integrate (chunk: int) (backend: Backend) (net: Network) (selector: OutputSelector) (x: float[]) (b: float[]) (ts: float[]) (m: int) =
        let u, w = gaussLegendre m
        let segments = ts.Length - 1
        let nodes = Array.init (segments * m) (fun r -> let s, k = r / m, r % m in ts.[s] + (ts.[s + 1] - ts.[s]) * u.[k])
        let weights = Array.init (segments * m) (fun r -> let s, k = r / m, r % m in (ts.[s + 1] - ts.[s]) * w.[k])
        let n = nodes.Length
        let total = n + 2
        let sums = Array.zeroCreate x.Length
        let mutable fx = nan
        let mutable fb = nan
        // The least and largest f on the path's nodes: with f(b), the largest |f(t) - f(b)| along
        // the path (f(b) comes last, so it is taken once every row is through).
        let mutable low = infinity
        let mutable high = -infinity
        let mutable start = 0
        while start < total do
            let count = min chunk (total - start)
            // Row q of the whole: node q of the path (as `pathBatch` makes it), then x, then b.
            let batch =
                Mat.init count x.Length (fun r i ->
                    let q = start + r
                    if q < n then b.[i] + nodes.[q] * (x.[i] - b.[i]) elif q = n then x.[i] else b.[i])
            let g = inputGradientOn backend net selector batch
            for r in 0 .. count - 1 do
                let q = start + r
                if q < n then
                    low <- min low g.Values.[r]
                    high <- max high g.Values.[r]
                    for i in 0 .. x.Length - 1 do sums.[i] <- sums.[i] + weights.[q] * g.Gradient.[r, i]
                elif q = n then fx <- g.Values.[r]
                else fb <- g.Values.[r]
            start <- start + count
        let values = Array.init x.Length (fun i -> (x.[i] - b.[i]) * sums.[i])
        let spread = max (abs (fx - fb)) (max (high - fb) (fb - low))
        values, fx, fb, spread

    /// The quadrature as `Attribution.Quadrature` names it: Gauss-Legendre on each segment between
    /// the points `kinkPoints` cuts the path at, named by what the network has (ReLU-type kinks,
    /// layer normalisations' variance minima), or on the whole path when it has neither.
    let private quadratureName (net: Network) =
        let found = sites net
        let kinks = found |> List.exists (fun s -> match s.Site with Site.Units a -> hasKink a | _ -> false)
        let norms = found |> List.exists (fun s -> match s.Site with Site.Norm _ -> true | _ -> false)
        match kinks, norms with
        | true, true -> "Gauss-Legendre on each segment between the ReLU kinks and layer normalisations' variance minima of the path"
        | true, false -> "Gauss-Legendre on each segment between the ReLU kinks of the path"
        | false, true -> "Gauss-Legendre on each segment between the layer normalisations' variance minima of the path"
        | false, false -> "Gauss-Legendre on the whole path (the network has no ReLU kink or layer normalisation to cut it at)"

    /// `explain` with the path's rows going through the backend in batches of at most `chunk`
    /// rows (`explain`: `PathChunkRows`); the result does not depend on it.
    let internal explainChunked (chunk: int) (net: Network) (selector: OutputSelector) (options: AttributionOptions) (row: float[]) : Attribution =
        Check.positiveInt "chunk" chunk
        Check.notNull "net" (box net)
        checkOptions options
        checkSelector net selector
        checkRow "row" net.InputSize "the network" row
        let b = defaultArg options.Baseline (Array.zeroCreate net.InputSize)
        checkRow "baseline" net.InputSize "the network" b
        if net.Precision = Precision.Float32 then
            Network.checkRangeIn net.Precision "row" (Matrix<float>.Build.DenseOfRowArrays [| row |])
            Network.checkRangeIn net.Precision "baseline" (Matrix<float>.Build.DenseOfRowArrays [| b |])
        checkExplainable net
        // The output finiteness check of `Network.predict`, on f(x) and f(b): an attribution of an
        // output that overflows would be Infinity or NaN.
        let traceOf (name: string) (v: float[]) =
            let m = Matrix<float>.Build.DenseOfRowArrays [| v |]
            let trace = Network.forwardUnchecked net m
            Network.checkOutput name m trace.Output
            trace
        let atX = traceOf "row" row
        let atB = traceOf "baseline" b
        let backend = KernelNetwork.resolve "backend" options.Backend net
        let x = Array.copy row
        let b = Array.copy b
        let attribution =
          match options.Method with
          | AttributionMethod.GradientTimesInput ->
              let g = inputGradientOn backend net selector (Matrix<float>.Build.DenseOfRowArrays [| x; b |])
              let values = Array.init x.Length (fun i -> (x.[i] - b.[i]) * g.Gradient.[0, i])
              let fx, fb = g.Values.[0], g.Values.[1]
              { Method = options.Method; Values = values; Input = x; Baseline = b; Output = fx; BaselineOutput = fb
                Gap = Array.sum values - (fx - fb); Scale = scaleOf (abs (fx - fb)) values; Converged = true
                Steps = 1; NodesPerSegment = 1; Segments = 1
                Quadrature = "none: the gradient at the input"; Backend = backend }
          | AttributionMethod.IntegratedGradients ->
              let ts = kinkPoints net x b atB atX
              // Named once: the adaptive rule below builds a result for each m it tries.
              let quadrature = quadratureName net
              // The tolerance in the output's units: relative to the scale of this rule's output, so
              // that the rule stops at the same relative accuracy whatever the output's size (an
              // absolute 1e-6 ran an output of 1e10 to MaxSteps at a relative gap of 1e-15, and
              // stopped an output of 1e-7 at 2 nodes, 1e-3 off). The scale is measured from f(b): one
              // taken from |f| itself let an added constant loosen the rule (an output bias of 1e6 on
              // a network of spread 2 stopped at 2 nodes, attributions 1.8 % off).
              let within (r: Attribution) (v: float) = abs v <= options.Tolerance * r.Scale
              // The gap holds f(x) - f(b), each rounded to the network's precision: it cannot be measured
              // closer than a few units of that rounding of |f(x)| + |f(b)|, which the offset-free scale does
              // not cover (a float32 network with an output bias of 1e3 and a spread of 2: rounding 6e-5,
              // tolerance x scale 2e-6, so the rule ran to MaxSteps).
              let unit = match net.Precision with Precision.Float32 -> Math.ScaleB(1.0, -24) | Precision.Float64 -> Math.ScaleB(1.0, -53)
              let gapWithin (r: Attribution) = abs r.Gap <= options.Tolerance * r.Scale + 4.0 * unit * (abs r.Output + abs r.BaselineOutput)
              // The gap of a rule alone (a fixed m, or the first rule tried); `settled` also asks that no
              // attribution moved by more than the tolerance since the rule before.
              let result m =
                  let values, fx, fb, spread = integrate chunk backend net selector x b ts m
                  let r = { Method = options.Method; Values = values; Input = x; Baseline = b; Output = fx; BaselineOutput = fb
                            Gap = Array.sum values - (fx - fb); Scale = scaleOf spread values; Converged = false
                            Steps = m * (ts.Length - 1); NodesPerSegment = m
                            Segments = ts.Length - 1; Quadrature = quadrature; Backend = backend }
                  { r with Converged = gapWithin r }
              match options.Steps with
              | Some m -> result m
              | None ->
                  // The gap is the sum of the features' quadrature errors, which can cancel (f = tanh(3 x1) -
                  // tanh(3 x2) at x = (1, 1) has gap 0 at m = 2 with both attributions 8.5 % off), so the rule
                  // also stops only when no attribution moved by more than the tolerance since the rule before.
                  let settled (r: Attribution) (before: Attribution) =
                      r.Converged && Array.forall2 (fun (a: float) (p: float) -> within r (a - p)) r.Values before.Values
                  let rec adapt (before: Attribution) m =
                      let r = result m
                      if settled r before then r
                      elif 2 * m > options.MaxSteps then { r with Converged = false }
                      else adapt r (2 * m)
                  if options.MaxSteps < 2 then result 1 else adapt (result 1) 2
        match Array.tryFindIndex (fun v -> not (Double.IsFinite v)) attribution.Values with
        | Some i ->
            Check.fail "row" (sprintf "The attribution of input %d is %s although the network's outputs at the row (%s) and the baseline (%s) are finite: the gradient times the distance from the baseline overflows. Scale the inputs as for training." i (string attribution.Values.[i]) (string attribution.Output) (string attribution.BaselineOutput))
        | None -> attribution

    /// Attributions of one row x of a network's inputs to the selected output f. Integrated
    /// gradients split the path b + t (x - b), t in [0, 1], at the kinks of ReLU-type units (found
    /// exactly for piecewise-linear layers) and around the minima of a layer normalisation's input
    /// variance where it nearly vanishes (graded toward them: `normCuts`), and apply the
    /// Gauss-Legendre rule with m nodes to each segment, the nodes in batches of at most
    /// `PathChunkRows` rows (memory stays bounded however many segments the kinks make; time grows
    /// with segments x m); so a piecewise-linear network with a linear f is integrated exactly with
    /// m = 1. With adaptive steps, m = 1, 2, 4, 8, ... until |gap| <= Tolerance x Scale and no
    /// attribution moved by more than that from the rule before (the gap alone sums the features'
    /// errors, which can cancel), or until m would pass MaxSteps (the last result is returned with
    /// its gap, and Converged false); Scale is the output's (see `Attribution.Scale`), so the
    /// tolerance is relative. Raises ArgumentException naming
    /// "row", "baseline", "steps", "tolerance", "maxSteps" or "selector" (ArgumentOutOfRangeException
    /// for steps or maxSteps outside 1 .. StepLimit), and for "row" or "baseline" when the network's
    /// output there is not finite (as `Network.predict`) or an attribution overflows.
    let explain (net: Network) (selector: OutputSelector) (options: AttributionOptions) (row: float[]) : Attribution =
        explainChunked PathChunkRows net selector options row

    /// A linear model f(x) = x W + b as the one-layer identity network it is.
    let networkOfLinear (model: LinearModel) : Network =
        Check.notNull "model" (box model)
        { Blocks = [ Block.Dense { Weights = model.Coefficients; Bias = Some model.Intercept; Activation = Activation.Identity } ]
          Precision = model.Precision }

    /// Attributions of one row to output `output` of a linear model (baseline zeros unless given):
    /// integrated gradients and gradient x input both give w_i (x_i - b_i), exactly.
    let explainLinear (model: LinearModel) (output: int) (options: AttributionOptions) (row: float[]) : Attribution =
        let net = networkOfLinear model
        if output < 0 || output >= model.OutputSize then
            Check.fail "output" (sprintf "output is %d but the model has %s." output (outputsText model.OutputSize))
        // The row's and baseline's widths in the caller's terms (a model, not a network) before
        // `explain` checks them again.
        checkOptions options
        checkRow "row" model.InputSize "the model" row
        options.Baseline |> Option.iter (checkRow "baseline" model.InputSize "the model")
        explain net (OutputSelector.Output output) options row

    /// The default baseline of a pipeline: the training rows' mean, which a standard scaler keeps
    /// as its offset (in raw units). None for other scalers (give a baseline).
    let defaultBaseline (pipeline: Pipeline) : float[] option =
        if pipeline.Scaler.Kind = ScalingKind.Standard then Some (Array.copy pipeline.Scaler.Offset) else None

    /// What a pipeline's explanation is about for a class (or -1 for a regressor): the network
    /// whose output is explained, the selector on its outputs, and the output's name. Classifiers:
    /// the class probability (softmax, or sigmoid of one logit, or the probability output itself)
    /// with `probability`, else the class's logit or score; other losses (mse on one-hot targets,
    /// hinge...): the class's score. The logit of a network that outputs a probability (binary
    /// cross-entropy on probabilities) is its last dense layer's output before the sigmoid: the
    /// network returned is the pipeline's with that layer's activation made the identity (a
    /// network whose last block is not a dense sigmoid layer has no logit: ArgumentException naming
    /// "probability"). Regressors: the value in the target's units (through the target scaler).
    let pipelineOutput (pipeline: Pipeline) (probability: bool) (classIndex: int) : Network * OutputSelector * string =
        Check.notNull "pipeline" (box pipeline)
        let net = pipeline.Network
        if not pipeline.IsClassifier then
            net, OutputSelector.Affine (0, pipeline.TargetScaler.Scale.[0], pipeline.TargetScaler.Offset.[0]), pipeline.TargetName
        else
            let name = sprintf "%s = %s" pipeline.TargetName pipeline.ClassNames.[classIndex]
            let single = net.OutputSize = 1
            let sign = if classIndex = 1 then 1.0 else -1.0
            match pipeline.Loss with
            | Loss.SoftmaxCrossEntropy when not single ->
                if probability then net, OutputSelector.Softmax classIndex, sprintf "P(%s)" name
                else net, OutputSelector.Output classIndex, sprintf "logit of %s" name
            | Loss.BinaryCrossEntropyWithLogits when single ->
                if probability then net, OutputSelector.Sigmoid (0, sign), sprintf "P(%s)" name
                else net, OutputSelector.Affine (0, sign, 0.0), sprintf "logit of %s" name
            | Loss.BinaryCrossEntropy when single ->
                if probability then net, OutputSelector.Affine (0, sign, (if classIndex = 1 then 0.0 else 1.0)), sprintf "P(%s)" name
                else
                    // P(class 0) = 1 - sigmoid(z) = sigmoid(-z): the logit of class 0 is -z.
                    match List.tryLast net.Blocks with
                    | Some (Block.Dense d) when d.Activation = Activation.Sigmoid ->
                        let logits = { net with Blocks = (net.Blocks |> List.take (net.Blocks.Length - 1)) @ [ Block.Dense { d with Activation = Activation.Identity } ] }
                        logits, OutputSelector.Affine (0, sign, 0.0), sprintf "logit of %s" name
                    | _ ->
                        Check.fail "probability" "This model's network outputs a probability (binary cross-entropy) and its last block is not a dense layer with a sigmoid, so it has no logit to explain; explain the probability."
            | _ when single -> net, OutputSelector.Affine (0, sign, 0.0), sprintf "score of %s" name
            | _ -> net, OutputSelector.Output classIndex, sprintf "score of %s" name

    /// The gradient of a pipeline's output f (`pipelineOutput`: the class's probability or
    /// logit, or a regressor's value in the target's units; classIndex is ignored for a regressor)
    /// with respect to each raw row of x (n x features): f of each row and df/dx in raw units,
    /// df/dx_ij = (df/dx'_ij) / scale_j through the scaler x' = (x - offset) / scale. One forward
    /// and one backward pass of the batch on the backend (Auto: the kernels wherever they support
    /// the network). Raises ArgumentException naming "x", "classIndex" or "backend".
    let pipelineInputGradientWith (backend: Backend) (pipeline: Pipeline) (probability: bool) (classIndex: int) (x: Matrix<float>) : InputGradient =
        Check.notNull "pipeline" (box pipeline)
        if pipeline.Preprocessor.Categories |> Array.exists (fun c -> c.Length > 0) then
            Check.fail "pipeline" "The gradient with respect to a raw row is not defined for a pipeline with text columns (a category index is not a number the network sees); explain the row (integrated gradients or gradient x input sum each text column's one-hot inputs), or use permutation importance."
        // Imputation only: a missing cell becomes a constant, so its gradient is 0; the other
        // cells are the network's inputs before scaling.
        let encoded = Preprocessor.transform pipeline.Preprocessor pipeline.FeatureNames x
        let scaled = Scaler.transform pipeline.Scaler encoded
        Pipeline.checkScaled pipeline "x" x encoded scaled
        if pipeline.IsClassifier && (classIndex < 0 || classIndex >= pipeline.ClassNames.Length) then
            Check.fail "classIndex" (sprintf "classIndex is %d but the model has %d classes (0 .. %d)." classIndex pipeline.ClassNames.Length (pipeline.ClassNames.Length - 1))
        let net, selector, _ = pipelineOutput pipeline probability (if pipeline.IsClassifier then classIndex else -1)
        checkExplainable net
        let g = inputGradientOn (KernelNetwork.resolve "backend" backend net) net selector scaled
        { Values = g.Values
          Gradient = Mat.init x.RowCount x.ColumnCount (fun i j -> if Double.IsNaN x.[i, j] then 0.0 else g.Gradient.[i, j] / pipeline.Scaler.Scale.[j]) }

    /// `pipelineInputGradientWith Backend.Auto`: the kernels wherever they support the network.
    let pipelineInputGradient (pipeline: Pipeline) (probability: bool) (classIndex: int) (x: Matrix<float>) : InputGradient =
        pipelineInputGradientWith Backend.Auto pipeline probability classIndex x

    /// `explainPipeline` (reference None) or `explainPipelineAgainst` (Some rows).
    let private explainPipelineFrom (pipeline: Pipeline) (options: AttributionOptions) (targetClass: int option) (reference: Matrix<float> option) (row: float[]) : Explanation =
        Check.notNull "pipeline" (box pipeline)
        checkOptions options
        let pre = pipeline.Preprocessor
        let width = pipeline.FeatureNames.Length
        let names = Preprocessor.outputNames pre pipeline.FeatureNames
        /// The network's input for a raw row: encoded (a missing cell filled, a text cell one-hot)
        /// and scaled; errors name `name` and the column.
        let encode (name: string) (v: float[]) =
            Check.notNull name v
            if v.Length <> width then
                Check.fail name (sprintf "%s has %d values but the model takes %d inputs; %s needs %d values." name v.Length width name width)
            let e =
                try Preprocessor.transform pre pipeline.FeatureNames (Matrix<float>.Build.DenseOfRowArrays [| v |])
                with :? ArgumentException as ex when ex.ParamName = "x" ->
                    // The preprocessor's message is about row index 0 of a batch "x"; say it of `name`.
                    Check.fail name (Pipeline.oneRowMessage name "column" ex)
            let s = Scaler.transform pipeline.Scaler e
            Pipeline.checkScaled pipeline name (Matrix<float>.Build.DenseOfRowArrays [| v |]) e s
            s.Row(0).ToArray()
        let xs = encode "row" row
        // The baseline: the given raw row, or the training rows' mean of the network's inputs (the
        // standard scaler's offset: for a text column, each category's frequency, so the baseline
        // is the average row, which no raw row can state; its raw value is then NaN).
        // A baseline of the network's inputs before scaling stated as a raw row: a numeric column's
        // value, NaN for a text column (its one-hot inputs hold frequencies, which no raw row states).
        let rawBaseline (inputs: float[]) =
            let raw = Array.zeroCreate width
            let mutable k = 0
            for j in 0 .. width - 1 do
                let c = pre.Categories.[j].Length
                raw.[j] <- (if c = 0 then inputs.[k] else nan)
                k <- k + max 1 c
            raw
        let baseline, bs =
            match options.Baseline, reference with
            | Some _, Some _ ->
                Check.fail "reference" "reference rows and a baseline were both given; the baseline is either the given row or the mean of the reference rows: give one of them."
            | Some b, None -> Array.copy b, encode "baseline" b
            | None, Some r ->
                // The mean of the reference rows in the network's input space before scaling: each
                // row encoded as the model encodes it (a missing cell filled, a text cell one-hot),
                // then averaged; so a text column's inputs hold its categories' frequencies (no raw
                // value states them: NaN), a numeric column's the mean of its filled cells.
                Check.notNull "reference" (box r)
                if r.ColumnCount <> width then
                    Check.fail "reference" (sprintf "reference has %d columns but the model reads %d; reference needs %d columns (FeatureNames order)." r.ColumnCount width width)
                if r.RowCount = 0 then Check.fail "reference" "reference has no rows; the baseline is their mean."
                let e =
                    try Preprocessor.transform pre pipeline.FeatureNames r
                    with :? ArgumentException as ex when ex.ParamName = "x" ->
                        let text = ex.Message.Replace(" (Parameter 'x')", "")
                        Check.fail "reference" (text.Replace("x at row index", "reference at row index").Replace("x holds", "reference holds"))
                let mean =
                    Array.init e.ColumnCount (fun k ->
                        let mutable total = 0.0
                        for i in 0 .. e.RowCount - 1 do total <- total + e.[i, k]
                        if Double.IsFinite total then total / float e.RowCount
                        else
                            // The sum of finite values overflowed (values near 1e308): the mean of
                            // v / n, each term at most the largest |v| / n, kept within the column's
                            // least and largest values, where the mean lies (n rounded copies of
                            // MaxValue / n can sum past MaxValue).
                            let mutable m = 0.0
                            let mutable lo = infinity
                            let mutable hi = -infinity
                            for i in 0 .. e.RowCount - 1 do
                                m <- m + e.[i, k] / float e.RowCount
                                lo <- min lo e.[i, k]
                                hi <- max hi e.[i, k]
                            max lo (min hi m))
                let notFinite (k: int) =
                    Check.fail "reference" (sprintf "The mean of the reference rows at input %d (%s) is %s, whose scaled value is not finite." k names.[k] (string mean.[k]))
                let scaled = (Scaler.transform pipeline.Scaler (Matrix<float>.Build.DenseOfRowArrays [| mean |])).Row(0).ToArray()
                scaled |> Array.iteri (fun k t -> if not (Double.IsFinite t) then notFinite k)
                rawBaseline mean, scaled
            | None, None ->
                match defaultBaseline pipeline with
                | Some offset -> rawBaseline offset, Array.zeroCreate offset.Length   // the offset scales to zero
                | None -> Check.fail "baseline" (sprintf "This model's scaler (%s) does not keep the training rows' mean; give a baseline (for example the mean of the training rows)." (Scaler.kindName pipeline.Scaler.Kind))
        let classIndex =
            if not pipeline.IsClassifier then -1
            else
                match targetClass with
                | Some c ->
                    if c < 0 || c >= pipeline.ClassNames.Length then
                        Check.fail "targetClass" (sprintf "targetClass is %d but the model has %d classes (0 .. %d)." c pipeline.ClassNames.Length (pipeline.ClassNames.Length - 1))
                    c
                | None -> (Pipeline.predictClasses pipeline (Matrix<float>.Build.DenseOfRowArrays [| row |])).[0]
        let net, selector, outputName = pipelineOutput pipeline options.Probability classIndex
        let a = explain net selector { options with Baseline = Some bs } xs
        let map = FeatureMap.ofPipeline pipeline
        { Names = Array.copy map.Columns; Values = FeatureMap.sum map a.Values; Input = Array.copy row; Baseline = baseline
          ClassIndex = classIndex; OutputName = outputName; Attribution = a }

    /// A pipeline's explanation of one raw row (FeatureNames order): the attributions to the class
    /// `targetClass` (None: the predicted class; ignored for a regressor), per original column
    /// (FeatureMap.ofPipeline), the scaler folded in. Integrated gradients do not change under the
    /// scaler's per-column affine map, so the values in raw units equal those on the scaled
    /// inputs; gradient x input is (x_i - b_i) df/dx_i in raw units. The baseline: the options' raw
    /// row, else the training rows' mean a standard scaler keeps (`defaultBaseline`). Raises
    /// ArgumentException naming "row", "baseline" (also when none is given and the scaler is not
    /// standard: see `explainPipelineAgainst`), "targetClass", "steps", "tolerance" or "maxSteps".
    let explainPipeline (pipeline: Pipeline) (options: AttributionOptions) (targetClass: int option) (row: float[]) : Explanation =
        explainPipelineFrom pipeline options targetClass None row

    /// `explainPipeline` against the mean of reference rows (raw, FeatureNames order, n x
    /// features; for example the training rows) taken in the network's input space before
    /// scaling, as the standard scaler's stored mean is for the default baseline: each row encoded
    /// as the model encodes it (a missing cell filled as the model fills it, a text cell one-hot),
    /// then averaged, so a text column's inputs hold its categories' frequencies in the rows. The
    /// explanation's raw baseline holds the mean used for a numeric column (of its filled cells)
    /// and NaN for a text column (no raw value states the frequencies). Works with any scaler.
    /// Raises ArgumentException naming "reference" (no rows, the wrong width, a cell the model
    /// cannot encode, or a baseline in the options too), or as `explainPipeline`.
    let explainPipelineAgainst (pipeline: Pipeline) (options: AttributionOptions) (targetClass: int option) (reference: Matrix<float>) (row: float[]) : Explanation =
        Check.notNull "reference" (box reference)
        explainPipelineFrom pipeline options targetClass (Some reference) row
