namespace Functional.NN

open System
open MathNet.Numerics.LinearAlgebra
open Functional.NN.Kernels

/// Inverted dropout at rate p in [0, 1) (torch.nn.Dropout(p)): in training mode each element of
/// the batch is kept with probability 1 - p and scaled by 1 / (1 - p), Y = X o M with
/// M_ij in {0, 1/(1-p)}; in inference mode Y = X. The backward rule is dX = G o M. The masks come
/// from `Formulas.DropoutKeep` (a stateless mix of the step's key, the block, the row and the
/// column), so a run is a pure function of its seed and every backend draws the same masks.
module Dropout =

    /// Raises ArgumentException (ParamName `name`) for a rate outside [0, 1).
    let checkRate (name: string) (rate: float) =
        if not (rate >= 0.0 && rate < 1.0) then
            Check.fail name (sprintf "%s is %s; a dropout rate must lie in [0, 1) (the fraction of values dropped in training)." name (string rate))

    /// Raises ArgumentException (ParamName `name`) for a rate outside [0, 1), naming the dropout
    /// block's position ("3", or "2.1" for the second block inside block 2).
    let checkRateAt (name: string) (position: string) (rate: float) =
        if not (rate >= 0.0 && rate < 1.0) then
            Check.fail name (sprintf "Block %s (dropout) has rate %s; a dropout rate must lie in [0, 1) (the fraction of values dropped in training)." position (string rate))

    /// The mask M (rows x cols, entries 0 or 1/(1-rate)) of dropout block number `index` (0-based,
    /// in the order the network's dropout blocks are met, depth first) at a step of key `key`.
    let mask (key: uint64) (index: int) (rate: float) (rows: int) (cols: int) : Matrix<float> =
        let scale = 1.0 / (1.0 - rate)
        Matrix<float>.Build.Dense(rows, cols, fun i j -> if Formulas.DropoutKeep(key, index, i, j, rate) then scale else 0.0)

    /// X o M (or G o M), rounded to the precision.
    let apply (p: Precision) (mask: Matrix<float>) (x: Matrix<float>) : Matrix<float> =
        x.PointwiseMultiply mask |> Precision.roundMatrix p
