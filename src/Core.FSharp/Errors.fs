namespace Functional.NN

open System

/// Training stopped because the loss or a weight became NaN or infinite, or the loss grew past
/// `TrainingOptions.DivergenceFactor`. The failing step is the one that made the bad parameters:
/// parameters that are not finite, or whose loss (the next step's batch loss, or with
/// `ExactEpochLoss` the whole set's; for the last step, whose parameters are returned, its batch's
/// loss measured again with them) is not finite or too large. `LastGood` holds the parameters
/// from before that step (boxed, so that this type does not depend on the model type); they
/// contain no NaN.
type TrainingDivergedException(epoch: int, step: int, lastGood: obj, message: string) =
    inherit Exception(message)
    /// The epoch (from 1) of the failing step.
    member _.Epoch = epoch
    /// The failing step (from 1, counted over the whole run).
    member _.Step = step
    /// The last parameters that were finite (a Network for network training).
    member _.LastGood = lastGood

/// A model file that cannot be read: damaged, truncated, of an unknown version, or inconsistent.
type ModelFormatException(message: string) =
    inherit Exception(message)

/// Checks at the library's boundary. Each raises an ArgumentException that names the parameter
/// (ParamName is set) and, for shapes, both shapes.
module Check =

    /// A count with its noun in the right number, for messages: `counted 1 "class" "classes"` is
    /// "1 class", `counted 3 "class" "classes"` "3 classes".
    let counted (n: int) (one: string) (many: string) = sprintf "%d %s" n (if n = 1 then one else many)

    /// "n x m" for a matrix shape.
    let shape (rows: int) (cols: int) = sprintf "%dx%d" rows cols

    /// Raises ArgumentNullException when the value is null.
    let notNull (name: string) (value: 'T) =
        if isNull (box value) then raise (ArgumentNullException(name))

    /// Raises an ArgumentException with the parameter's name.
    let fail (name: string) (message: string) : 'a =
        raise (ArgumentException(message, name))

    /// The index of a text's first lone surrogate (a UTF-16 half without its other half, which no
    /// Unicode function reads: normalisation raises on it), or -1 (also for null).
    let loneSurrogate (s: string) : int =
        let mutable found = -1
        let mutable i = 0
        let n = if isNull s then 0 else s.Length
        while found < 0 && i < n do
            let c = s.[i]
            if Char.IsHighSurrogate c && i + 1 < n && Char.IsLowSurrogate s.[i + 1] then i <- i + 2
            elif Char.IsSurrogate c then found <- i
            else i <- i + 1
        found

    /// A text in Unicode normal form C (as written when it already is); null, or a text with a lone
    /// surrogate (which normalisation refuses), as written.
    let nfc (s: string) : string =
        if isNull s || loneSurrogate s >= 0 || s.IsNormalized(Text.NormalizationForm.FormC) then s
        else s.Normalize(Text.NormalizationForm.FormC)

    /// What a message says of a lone surrogate after naming it, and the advice.
    let loneSurrogateAdvice =
        "half of a UTF-16 pair without its other half, which is not Unicode text (a string cut between the two halves of a character, or badly converted); give the whole character or leave it out"

    /// Raises (ParamName `name`) when a text holds a lone surrogate: `what` names the text
    /// ("labels[4]"), and the message the surrogate and its index.
    let unicodeText (name: string) (what: string) (s: string) =
        let k = loneSurrogate s
        if k >= 0 then fail name (sprintf "%s holds a lone surrogate, U+%04X at character %d: %s." what (int s.[k]) k loneSurrogateAdvice)

    /// Raises when a rows x cols array holds NaN or an infinity, naming the row and column.
    let finite2D (name: string) (rows: int) (cols: int) (get: int -> int -> float) =
        for i in 0 .. rows - 1 do
            for j in 0 .. cols - 1 do
                let v = get i j
                if Double.IsNaN v || Double.IsInfinity v then
                    fail name (sprintf "%s holds %s at row %d, column %d (shape %s); every value must be finite." name (string v) i j (shape rows cols))

    /// Raises when a number is NaN or infinite.
    let finiteScalar (name: string) (v: float) =
        if Double.IsNaN v || Double.IsInfinity v then
            fail name (sprintf "%s must be finite, but is %s." name (string v))

    /// Raises unless value > 0.
    let positive (name: string) (v: float) =
        if not (v > 0.0) || Double.IsInfinity v then
            fail name (sprintf "%s must be a positive finite number, but is %s." name (string v))

    /// Raises unless value > 0.
    let positiveInt (name: string) (v: int) =
        if v <= 0 then fail name (sprintf "%s must be positive, but is %d." name v)

    /// Raises unless every name is non-null and no name is given twice (ParamName `name`,
    /// naming the index of a null entry, or the name and both of its indices).
    let distinctNames (name: string) (names: string[]) =
        notNull name names
        let seen = Collections.Generic.Dictionary<string, int>()
        names |> Array.iteri (fun j n ->
            if isNull n then fail name (sprintf "%s[%d] is null; every entry needs a name." name j)
            match seen.TryGetValue n with
            | true, first -> fail name (sprintf "%s gives the name '%s' twice (entries %d and %d); each name must be given once." name n first j)
            | _ -> seen.[n] <- j)
