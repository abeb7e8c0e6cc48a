namespace Functional.NN

open System

/// The row indices of one split: disjoint, each sorted ascending.
type SplitIndices =
    { /// The training rows.
      Train: int[]
      /// The test rows.
      Test: int[] }

/// Train/test and k-fold splits drawn from the library's generator, so a split is a pure
/// function of its seed. Every function returns the split and the generator to use next.
module Split =

    let private checkFraction (fraction: float) =
        if not (fraction > 0.0 && fraction < 1.0) then
            Check.fail "testFraction" (sprintf "testFraction must lie strictly between 0 and 1, but is %s." (string fraction))

    /// A random split of n rows: round(testFraction n) rows (at least 1, at most n - 1) go to the test set.
    let shuffled (testFraction: float) (n: int) (rng: Rng) : SplitIndices * Rng =
        checkFraction testFraction
        if n < 2 then Check.fail "n" (sprintf "A split needs at least 2 rows, but there are %d." n)
        let perm, rng = Rng.permutation n rng
        let k = min (n - 1) (max 1 (int (Math.Round(testFraction * float n, MidpointRounding.AwayFromZero))))
        { Train = Array.sort perm.[k..]; Test = Array.sort perm.[.. k - 1] }, rng

    /// A stratified split: each class's rows are shuffled and round(testFraction n_c) of them
    /// (at least 1 when the class has 2 rows or more, never all of them) go to the test set, so
    /// both sets keep the classes' proportions. Classes are taken in index order.
    let stratified (testFraction: float) (labels: int[]) (rng: Rng) : SplitIndices * Rng =
        checkFraction testFraction
        Check.notNull "labels" labels
        if labels.Length < 2 then Check.fail "labels" (sprintf "A split needs at least 2 rows, but there are %d." labels.Length)
        let classes = labels |> Array.distinct |> Array.sort
        let mutable g = rng
        let train = Collections.Generic.List<int>()
        let test = Collections.Generic.List<int>()
        for c in classes do
            let rows = labels |> Array.indexed |> Array.filter (fun (_, l) -> l = c) |> Array.map fst
            let perm, g' = Rng.permutation rows.Length g
            g <- g'
            let nc = rows.Length
            let k = if nc < 2 then 0 else min (nc - 1) (max 1 (int (Math.Round(testFraction * float nc, MidpointRounding.AwayFromZero))))
            perm |> Array.iteri (fun r p -> (if r < k then test else train).Add rows.[p])
        if test.Count = 0 then
            Check.fail "testFraction" (sprintf "The test part would be empty: no class of the %d rows has 2 rows or more, and a stratified split never takes a class's only row; add rows." labels.Length)
        { Train = Array.sort (train.ToArray()); Test = Array.sort (test.ToArray()) }, g

    /// k folds of n rows: the rows are shuffled and dealt into k folds whose sizes differ by at
    /// most 1; fold f's test set is its rows, its training set all the others.
    let kFold (k: int) (n: int) (rng: Rng) : SplitIndices[] * Rng =
        if k < 2 then Check.fail "k" (sprintf "k must be at least 2, but is %d." k)
        if n < k then Check.fail "k" (sprintf "k = %d folds need at least %d rows, but there are %d; k must not exceed the number of rows." k k n)
        let perm, rng = Rng.permutation n rng
        let fold = Array.zeroCreate n
        perm |> Array.iteri (fun r p -> fold.[p] <- r % k)
        Array.init k (fun f ->
            { Train = Array.init n id |> Array.filter (fun i -> fold.[i] <> f)
              Test = Array.init n id |> Array.filter (fun i -> fold.[i] = f) }), rng

    /// Stratified k folds: each class's rows are shuffled and dealt round-robin into the k
    /// folds (continuing from where the previous class stopped), so every fold holds about
    /// n_c / k rows of class c and the fold sizes differ by at most 1.
    let stratifiedKFold (k: int) (labels: int[]) (rng: Rng) : SplitIndices[] * Rng =
        Check.notNull "labels" labels
        let n = labels.Length
        if k < 2 then Check.fail "k" (sprintf "k must be at least 2, but is %d." k)
        if n < k then Check.fail "k" (sprintf "k = %d folds need at least %d rows, but there are %d; k must not exceed the number of rows." k k n)
        let fold = Array.zeroCreate n
        let mutable g = rng
        let mutable next = 0
        for c in labels |> Array.distinct |> Array.sort do
            let rows = labels |> Array.indexed |> Array.filter (fun (_, l) -> l = c) |> Array.map fst
            let perm, g' = Rng.permutation rows.Length g
            g <- g'
            for p in perm do
                fold.[rows.[p]] <- next
                next <- (next + 1) % k
        Array.init k (fun f ->
            { Train = Array.init n id |> Array.filter (fun i -> fold.[i] <> f)
              Test = Array.init n id |> Array.filter (fun i -> fold.[i] = f) }), g
