/// Small fixtures shared by the test files.
module Functional.NN.Tests.Fixtures

open Functional.NN

/// A parameter-free custom block (code, not data) of the given name and width that multiplies its
/// input by `factor` (forward) and its output gradient by the same factor (backward); `onBackward`
/// sees each output gradient its backward pass is given.
let observedScalingBlock (name: string) (width: int) (factor: float) (onBackward: MathNet.Numerics.LinearAlgebra.Matrix<float> -> unit) : ICustomBlock =
    { new ICustomBlock with
        member _.Name = name
        member _.InputSize = width
        member _.OutputSize = width
        member _.Parameters = [||]
        member this.WithParameters _ = this
        member _.Forward(x, _) = factor * x
        member _.Backward(_, _, g, _) = onBackward g; factor * g, [||] }

/// `observedScalingBlock` without an observer.
let scalingBlock (name: string) (width: int) (factor: float) : ICustomBlock = observedScalingBlock name width factor ignore
