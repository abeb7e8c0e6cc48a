namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra

/// An element-wise activation function s applied to a layer's pre-activation Z. Every activation
/// keeps NaN (s(NaN) = NaN, as PyTorch's), on both backends, so a NaN made inside a network reaches
/// the output and the output and loss checks instead of becoming a finite wrong value.
[<RequireQualifiedAccess>]
type Activation =
    /// s(z) = z; s'(z) = 1.
    | Identity
    /// s(z) = 1 / (1 + e^-z); s'(z) = s(z)(1 - s(z)), computed from the output.
    | Sigmoid
    /// s(z) = tanh z; s'(z) = 1 - tanh^2 z, computed from the output.
    | Tanh
    /// s(z) = max(0, z), with s(NaN) = NaN (torch.relu); s'(z) = 1 for z > 0, else 0 (the value 0
    /// is taken at the kink).
    | ReLU
    /// s(z) = z for z > 0, slope * z otherwise; s'(z) = 1 or slope.
    | LeakyReLU of slope: float
    /// s(z) = log(1 + e^z), computed without overflow; s'(z) = 1 / (1 + e^-z).
    | Softplus
    /// The unit step (note 003's binary step): s(z) = 1 for z >= 0, else 0 (NaN for NaN). At a score of
    /// exactly 0 it gives 1, while the perceptron (`Perceptron`, `LinearClassifier.label`) labels -1.
    /// Its derivative is zero almost everywhere, so a network with a step layer cannot be trained by gradient.
    | Step

/// Values and derivatives of activations, side by side. The formulas themselves are written
/// once, in `Functional.NN.Kernels.Formulas` (scalar functions that the kernels evaluate too);
/// this module maps the core's `Activation` onto them.
module Activation =

    open Functional.NN.Kernels

    /// The one table from the core's activations to the kernels': the kind and the leaky ReLU's
    /// slope (0.01, unused, for the others).
    let kernel (activation: Activation) : ActivationKind * float =
        match activation with
        | Activation.Identity -> ActivationKind.Identity, 0.01
        | Activation.Sigmoid -> ActivationKind.Sigmoid, 0.01
        | Activation.Tanh -> ActivationKind.Tanh, 0.01
        | Activation.ReLU -> ActivationKind.ReLU, 0.01
        | Activation.LeakyReLU slope -> ActivationKind.LeakyReLU, slope
        | Activation.Softplus -> ActivationKind.Softplus, 0.01
        | Activation.Step -> ActivationKind.Step, 0.01

    /// The logistic function, without overflow for large |z| (`Formulas.Sigmoid`).
    let sigmoid (z: float) : float = Formulas.Sigmoid z

    /// log(1 + x), accurate also for tiny x (where 1 + x rounds to 1): the classic correction
    /// log(u) * x / (u - 1) with u = 1 + x (Goldberg, "What every computer scientist should know
    /// about floating-point arithmetic", 1991, theorem 4) (`Formulas.Log1p`).
    let log1p (x: float) : float = Formulas.Log1p x

    /// log(1 + e^z) without overflow, and without losing e^z to rounding for very negative z (`Formulas.Softplus`).
    let softplus (z: float) : float = Formulas.Softplus z

    /// s(z) (`Formulas.Activate`).
    let value (activation: Activation) (z: float) : float =
        let kind, slope = kernel activation
        Formulas.Activate(kind, slope, z)

    /// s'(z), given z and the output a = s(z) (sigmoid and tanh use a, which is cheaper) (`Formulas.Derivative`).
    let derivative (activation: Activation) (z: float) (a: float) : float =
        let kind, slope = kernel activation
        Formulas.Derivative(kind, slope, z, a)

    /// False for the step, whose derivative carries no gradient.
    let isDifferentiable (activation: Activation) =
        match activation with
        | Activation.Step -> false
        | _ -> true

    /// The points where s is not differentiable (ReLU, leaky ReLU and step at 0).
    let kinks (activation: Activation) : float list =
        match activation with
        | Activation.ReLU | Activation.LeakyReLU _ | Activation.Step -> [ 0.0 ]
        | _ -> []

    /// s applied to every element, as a new matrix.
    let apply (activation: Activation) (z: Matrix<float>) : Matrix<float> =
        match activation with
        | Activation.Identity -> z.Clone()
        | a -> Mat.map (value a) z

    /// s'(Z) element-wise, from Z and A = s(Z).
    let derivativeOf (activation: Activation) (z: Matrix<float>) (a: Matrix<float>) : Matrix<float> =
        Mat.map2 (derivative activation) z a

    /// The name used in files and on the command line ("relu", "leaky_relu(0.01)", ...).
    let name (activation: Activation) =
        match activation with
        | Activation.Identity -> "identity"
        | Activation.Sigmoid -> "sigmoid"
        | Activation.Tanh -> "tanh"
        | Activation.ReLU -> "relu"
        | Activation.LeakyReLU s -> sprintf "leaky_relu(%s)" (s.ToString("R", Globalization.CultureInfo.InvariantCulture))
        | Activation.Softplus -> "softplus"
        | Activation.Step -> "step"

    /// Parses a name written by `name` ("leaky_relu" alone means slope 0.01); None when unknown.
    let tryParse (text: string) : Activation option =
        let t = if isNull text then "" else text.Trim().ToLowerInvariant()
        match t with
        | "identity" | "linear" -> Some Activation.Identity
        | "sigmoid" | "logistic" -> Some Activation.Sigmoid
        | "tanh" -> Some Activation.Tanh
        | "relu" -> Some Activation.ReLU
        | "leaky_relu" | "leakyrelu" -> Some (Activation.LeakyReLU 0.01)
        | "softplus" -> Some Activation.Softplus
        | "step" -> Some Activation.Step
        | _ when t.StartsWith "leaky_relu(" && t.EndsWith ")" ->
            match Double.TryParse(t.Substring(11, t.Length - 12), Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
            | true, s when Double.IsFinite s -> Some (Activation.LeakyReLU s)
            | _ -> None
        | _ -> None
