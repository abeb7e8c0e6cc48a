using FN = Functional.NN;
using AD = Functional.NN.Autodiff;

namespace FunctionalNN;

/// <summary>The axis a reduction (<see cref="Node.Sum(Axis)"/>, <see cref="Node.Mean(Axis)"/>) runs along.</summary>
public enum Axis
{
    /// <summary>Down the rows (numpy's axis 0): an r x c node becomes a 1 x c row of column sums.</summary>
    Rows,
    /// <summary>Across the columns (numpy's axis 1): an r x c node becomes an r x 1 column of row sums.</summary>
    Columns,
}

/// <summary>Builds computational graphs for reverse-mode automatic differentiation: constants, named
/// variables, and the loss of a network on a batch. Every node is immutable; operations on nodes return new
/// nodes, and a node used twice is one shared node whose adjoint sums both paths.</summary>
/// <example><code>
/// var x = Autodiff.Variable("x", -2.0);
/// var y = Autodiff.Variable("y", 5.0);
/// var z = Autodiff.Variable("z", -4.0);
/// var f = ((x + y).Named("q") * z).Named("f");
/// GradientRun run = f.Backward();        // run.Value = -12, run.ScalarGradient("x") = -4
/// Console.Write(run.Table());
/// </code></example>
public static class Autodiff
{
    /// <summary>A constant node holding a copy of <paramref name="value"/>.</summary>
    public static Node Constant(double[,] value) => new(AD.NodeModule.constant(Interop.ToMatrix(value, nameof(value))));

    /// <summary>A 1 x 1 constant.</summary>
    public static Node Constant(double value) => new(AD.NodeModule.scalar(value));

    /// <summary>A named variable holding a copy of <paramref name="value"/>. Variables are identified by name: the
    /// gradient of a name sums the gradients of every node with that name.</summary>
    public static Node Variable(string name, double[,] value) =>
        new(AD.NodeModule.variable(name, Interop.ToMatrix(value, nameof(value))));

    /// <summary>A named 1 x 1 variable.</summary>
    public static Node Variable(string name, double value) => new(AD.NodeModule.scalarVariable(name, value));

    /// <summary>The loss of <paramref name="network"/> on the batch (x, y) as a graph: layer i is s(A W + 1 b) with
    /// variables "W{i}" and "b{i}" (i from 0), and the loss is composed of graph operations.</summary>
    public static Node NetworkLoss(Network network, double[,] x, double[,] y, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new(AD.NetworkGraph.ofBatch(network.Core, loss.ToCore(), Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y))));
    }

    /// <summary>The loss of the batch (x, y) and its gradient by autodiff of the network's graph: an independent
    /// check of <see cref="Network.LossAndGradient"/>, which uses the hand-derived backward pass.</summary>
    /// <exception cref="InvalidOperationException">A node's value or adjoint in the graph is NaN or infinite (the
    /// graph's losses have no clamp: binary cross-entropy of an output of exactly 0 or 1 is infinite); the message
    /// names the node. Or a custom block's Forward or Backward returns null or a wrong shape (as in
    /// <see cref="Network.LossAndGradient"/>); the message names the block.</exception>
    /// <exception cref="ArgumentException">Bad x or y, or an output outside [0, 1] for binary cross-entropy (ParamName
    /// "loss", naming the row and column).</exception>
    public static LossAndGradient NetworkLossAndGradient(Network network, double[,] x, double[,] y, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        var result = Node.Run(() => AD.NetworkGraph.lossAndGradient(network.Core, loss.ToCore(), Interop.ToMatrix(x, nameof(x)), Interop.ToMatrix(y, nameof(y))));
        return new LossAndGradient(result.Item1, result.Item2);
    }
}

/// <summary>A node of a computational graph (a scalar is 1 x 1). Operators + - * / are element-wise (a 1 x 1
/// operand is broadcast); <see cref="MatMul"/> is the matrix product. Shape errors are ArgumentExceptions that
/// name the argument and both shapes; a member that needs this node itself in another shape (<see cref="BroadcastRows"/>,
/// <see cref="Backward()"/>) raises InvalidOperationException, as the call is invalid for this node.</summary>
public sealed class Node
{
    internal Node(AD.Node core) => Core = core;

    internal AD.Node Core { get; }

    /// <summary>The number of rows of the node's value.</summary>
    public int Rows => Core.Rows;

    /// <summary>The number of columns of the node's value.</summary>
    public int Columns => Core.Cols;

    /// <summary>The node's name in tables and DOT text ("" when it has none).</summary>
    public string Label => Core.Label;

    /// <summary>The same operation with a name for tables and DOT text (a new node).</summary>
    public Node Named(string label) => new(AD.NodeModule.named(label, Core));

    /// <summary>a + b.</summary>
    public static Node operator +(Node a, Node b) => new(Errors.Run(() => AD.NodeModule.add(C(a, nameof(a)), C(b, nameof(b)))));
    /// <summary>a - b.</summary>
    public static Node operator -(Node a, Node b) => new(Errors.Run(() => AD.NodeModule.subtract(C(a, nameof(a)), C(b, nameof(b)))));
    /// <summary>a o b (element-wise).</summary>
    public static Node operator *(Node a, Node b) => new(Errors.Run(() => AD.NodeModule.multiply(C(a, nameof(a)), C(b, nameof(b)))));
    /// <summary>a / b (element-wise).</summary>
    public static Node operator /(Node a, Node b) => new(Errors.Run(() => AD.NodeModule.divide(C(a, nameof(a)), C(b, nameof(b)))));
    /// <summary>-a.</summary>
    public static Node operator -(Node a) => new(AD.NodeModule.negate(C(a, nameof(a))));
    /// <summary>a + k (k a 1 x 1 constant; a k that is NaN or infinite is an ArgumentException naming k).</summary>
    public static Node operator +(Node a, double k) => a + K(k);
    /// <summary>k + a.</summary>
    public static Node operator +(double k, Node a) => K(k) + a;
    /// <summary>a - k.</summary>
    public static Node operator -(Node a, double k) => a - K(k);
    /// <summary>k - a.</summary>
    public static Node operator -(double k, Node a) => K(k) - a;
    /// <summary>k a.</summary>
    public static Node operator *(Node a, double k) => a * K(k);
    /// <summary>k a.</summary>
    public static Node operator *(double k, Node a) => K(k) * a;
    /// <summary>a / k.</summary>
    public static Node operator /(Node a, double k) => a / K(k);
    /// <summary>k / a.</summary>
    public static Node operator /(double k, Node a) => K(k) / a;

    /// <summary>The 1 x 1 constant k of a scalar operator: the core's error for a k that is not finite names the
    /// operators' parameter k, not the core's "value".</summary>
    private static Node K(double k) => new(Errors.Run(() => AD.NodeModule.scalar(k), ("value", "k")));

    /// <summary>The matrix product this · other.</summary>
    public Node MatMul(Node other) => new(Errors.Run(() => AD.NodeModule.matMul(Core, C(other, nameof(other))), new[] { ("b", nameof(other)) }, new[] { (" and b is ", " and other is ") }));

    /// <summary>The transpose.</summary>
    public Node Transpose() => new(AD.NodeModule.transpose(Core));

    /// <summary>The sum of all elements (1 x 1).</summary>
    public Node Sum() => new(AD.NodeModule.sum(Core));

    /// <summary>The sums along an axis.</summary>
    public Node Sum(Axis axis) => new(AD.NodeModule.sumAlong(ToCore(axis), Core));

    /// <summary>The mean of all elements (1 x 1).</summary>
    public Node Mean() => new(AD.NodeModule.mean(Core));

    /// <summary>The means along an axis.</summary>
    public Node Mean(Axis axis) => new(AD.NodeModule.meanAlong(ToCore(axis), Core));

    /// <summary>This 1 x c row repeated to <paramref name="rows"/> rows.</summary>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is not positive (ParamName rows).</exception>
    /// <exception cref="InvalidOperationException">This node is not one row ("BroadcastRows needs a 1xc node, but this
    /// node is 2x3"): the call is invalid for this node, which is no argument.</exception>
    public Node BroadcastRows(int rows)
    {
        try { return new(Errors.Run(() => AD.NodeModule.broadcastRows(rows, Core))); }
        // The core names the row it takes (ParamName "row"); in C# that row is this node, so the error is about the call,
        // not an argument, as Backward's on a node that is not 1 x 1.
        catch (ArgumentException e) when (e.ParamName == "row" && e is not ArgumentNullException)
        {
            throw new InvalidOperationException(Errors.Message(e.Message.Replace(" (Parameter 'row')", "")), e);
        }
    }

    /// <summary>This r x c node plus the 1 x c <paramref name="row"/> added to every row (a bias row).</summary>
    public Node AddRow(Node row) => new(Errors.Run(() => AD.NodeModule.addRow(Core, C(row, nameof(row)))));

    /// <summary>Element-wise power with a fixed exponent.</summary>
    public Node Pow(double exponent) => new(AD.NodeModule.pow(exponent, Core));

    /// <summary>e^a element-wise.</summary>
    public Node Exp() => new(AD.NodeModule.exp(Core));

    /// <summary>ln a element-wise.</summary>
    public Node Log() => new(AD.NodeModule.log(Core));

    /// <summary>An activation of the library element-wise.</summary>
    /// <param name="activation">The activation.</param>
    /// <param name="leakySlope">The slope for z &lt; 0 of a leaky ReLU.</param>
    public Node Activate(Activation activation, double leakySlope = 0.01) =>
        new(AD.NodeModule.activate(activation.ToCore(leakySlope), Core));

    /// <summary>The softmax cross-entropy of these logits (n x k) against <paramref name="target"/> (n x k),
    /// averaged over the rows (1 x 1).</summary>
    /// <exception cref="ArgumentException"><paramref name="target"/> is not of this node's shape (the message names both
    /// shapes), or holds NaN or an infinity (ParamName target).</exception>
    public Node SoftmaxCrossEntropy(double[,] target)
    {
        var t = Interop.ToMatrix(target, nameof(target));
        // The core takes this node as logits: the message names it as the other members do, "this node".
        return new(Errors.Run(() => AD.NodeModule.softmaxCrossEntropy(t, Core), new[] { ("target", nameof(target)) }, new[] { (" but logits has shape ", " but this node has shape ") }));
    }

    /// <summary>The node's value (a forward pass of the graph below it, in float64).</summary>
    /// <exception cref="InvalidOperationException">A node's value is NaN (log of a negative number, a fractional
    /// power of a negative number, 0 / 0), or the output's value is infinite (log of 0, a division by 0, exp(1000));
    /// the message names the node, its formula, the value and where it is. An infinity inside the graph that later
    /// nodes bring back into range is kept: 1 / (1 + exp(1000)) is 0.</exception>
    public double[,] Evaluate() => Run(() => AD.Autodiff.evaluate(Core)).ToArray();

    /// <summary>The node's value computed in a precision: in <see cref="Precision.Float32"/> every variable and
    /// constant is rounded to float32 as it is read and every node's value is rounded once to float32.</summary>
    /// <param name="precision">The precision of every value of the pass.</param>
    /// <exception cref="InvalidOperationException">A node's value is NaN, or the output's value infinite, in that precision.</exception>
    public double[,] Evaluate(Precision precision) => Run(() => AD.Autodiff.evaluateIn(precision.ToCore(), Core)).ToArray();

    /// <summary>The forward and backward passes below this 1 x 1 node: every node's value and adjoint and the
    /// gradient with respect to every variable (in float64).</summary>
    /// <exception cref="InvalidOperationException">The node is not 1 x 1 ("Backward needs a 1x1 output, but the output is
    /// 2x2; reduce it with Sum() or Mean()"): the call is invalid for this node. A node's value is NaN or the output's infinite (as for
    /// <see cref="Evaluate()"/>), or an adjoint or a variable's gradient is NaN or infinite (the derivative of x^0.5
    /// at 0; 0 times infinity where an infinite value was brought back into range); the message names the node, its
    /// formula, the value and where it is. A run never holds a NaN, nor an infinite gradient.</exception>
    public GradientRun Backward() => new(Run(() => AD.Autodiff.gradient(Core)));

    /// <summary>The forward and backward passes in a precision: in <see cref="Precision.Float32"/> every value,
    /// adjoint and gradient of the run is a float32 value (each computed in float64 and rounded once).</summary>
    /// <param name="precision">The precision of every value of the run.</param>
    /// <exception cref="InvalidOperationException">As <see cref="Backward()"/> (a node that is not 1 x 1 too), in that
    /// precision.</exception>
    public GradientRun Backward(Precision precision) => new(Run(() => AD.Autodiff.gradientIn(precision.ToCore(), Core)));

    /// <summary>The graph below this node as Graphviz DOT text (structure only).</summary>
    public string ToDot() => AD.Explain.dot(AD.GraphModule.ofOutput(Core));

    /// <summary>Runs a pass of this node's graph: the core's error about a value that is not finite (ParamName
    /// "output", the node the core's function takes, which is this node here) becomes an InvalidOperationException
    /// with the same message, as the run is invalid for the graph's values; other errors as <see cref="Errors"/>
    /// translates them.</summary>
    internal static T Run<T>(Func<T> f)
    {
        try { return Errors.Run(f, ("graph", "")); }
        catch (ArgumentException e) when (e.ParamName == "output" && e is not ArgumentNullException)
        {
            throw new InvalidOperationException(e.Message.Replace(" (Parameter 'output')", ""), e);
        }
    }

    private static AD.Node C(Node node, string name)
    {
        ArgumentNullException.ThrowIfNull(node, name);
        return node.Core;
    }

    private static AD.Axis ToCore(Axis axis) => axis switch
    {
        Axis.Rows => AD.Axis.Rows,
        Axis.Columns => AD.Axis.Columns,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), axis, "Unknown axis."),
    };
}

/// <summary>One node of a run: its id (topological position), name, formula, shape, value and adjoint.</summary>
/// <param name="Id">The node's position in topological order (inputs come first).</param>
/// <param name="Name">Its label, or "n{Id}".</param>
/// <param name="Formula">The operation over its inputs' names, e.g. "x + y".</param>
/// <param name="InputIds">The ids of its inputs.</param>
/// <param name="Value">Its forward value.</param>
/// <param name="Adjoint">dL/dnode, shaped like the value; null for a node computed from constants alone (no gradient
/// depends on it, so the backward pass gives it no adjoint, as PyTorch gives none to a tensor that does not require one).</param>
public sealed record NodeReport(int Id, string Name, string Formula, IReadOnlyList<int> InputIds, double[,] Value, double[,]? Adjoint);

/// <summary>The result of <see cref="Node.Backward()"/>: the output's value, the gradient of every variable and,
/// for explanation, every node's value and adjoint as a table and as DOT text.</summary>
public sealed class GradientRun
{
    private readonly AD.GradientResult result;

    internal GradientRun(AD.GradientResult result)
    {
        this.result = result;
        Gradients = result.Gradients.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var formulas = AD.Explain.formulas(result.Graph);
        Nodes = result.Graph.Nodes.Select(gn => new NodeReport(
            gn.Id,
            gn.Node.Label == "" ? $"n{gn.Id}" : gn.Node.Label,
            formulas[gn.Id],
            gn.Inputs.ToArray(),
            result.Values[gn.Id].ToArray(),
            result.Adjoints.TryFind(gn.Id) is { } a ? a.Value.ToArray() : null)).ToArray();
    }

    /// <summary>The output's value.</summary>
    public double Value => result.Value;

    /// <summary>dL/dv for every variable name.</summary>
    public IReadOnlyDictionary<string, double[,]> Gradients { get; }

    /// <summary>Every node of the graph in topological order, with value and adjoint.</summary>
    public IReadOnlyList<NodeReport> Nodes { get; }

    /// <summary>The gradient of one variable.</summary>
    /// <exception cref="ArgumentException">No variable has that name.</exception>
    public double[,] Gradient(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Gradients.TryGetValue(name, out var g))
            throw new ArgumentException($"The graph has no variable named '{name}' (it has: {string.Join(", ", Gradients.Keys)}).", nameof(name));
        return (double[,])g.Clone();
    }

    /// <summary>The gradient of a 1 x 1 variable as a number.</summary>
    public double ScalarGradient(string name)
    {
        var g = Gradient(name);
        if (g.GetLength(0) != 1 || g.GetLength(1) != 1)
            throw new ArgumentException($"Variable '{name}' is {g.GetLength(0)}x{g.GetLength(1)}, not 1x1; use Gradient(name).", nameof(name));
        return g[0, 0];
    }

    /// <summary>A text table: one row per node with its formula, shape, value and adjoint.</summary>
    public string Table() => AD.Explain.table(result);

    /// <summary>Graphviz DOT text of the graph, each box showing the node's value and adjoint.</summary>
    public string ToDot() => AD.Explain.dotOfRun(result);
}
