namespace Functional.NN

open System

/// Reading a CSV file's feature columns for prediction: as `Csv.load` reads them, but the target
/// column, when the file has it, is never read. A file of new rows may carry the target column
/// with anything in it (empty cells, a label the model never saw, text where a model expects
/// numbers): prediction needs the features only, so that column neither fails the read nor drops a
/// row. Every row is kept (but those `MissingPolicy.Drop` leaves out for a missing feature).
module CsvFeatures =

    /// The column of a name in the header: exact, then ignoring case (as the reader finds columns).
    let private columnOf (header: string[]) (name: string) : int option =
        match header |> Array.tryFindIndex (fun h -> String.Equals(h, name, StringComparison.Ordinal)) with
        | Some j -> Some j
        | None -> header |> Array.tryFindIndex (fun h -> String.Equals(h, name, StringComparison.OrdinalIgnoreCase))

    /// The table's column that `options.Target` names (None: the last column, as the reader takes
    /// it), if it has one.
    let private targetIndex (options: CsvOptions) (table: CsvTable) : int option =
        match options.Target with
        | Some name -> columnOf table.Header name
        | None -> if table.Header.Length > 0 then Some (table.Header.Length - 1) else None

    /// A data set of the table's feature columns as `Csv.toDataset` reads them (the same columns,
    /// text columns, missing values and dialect), with an empty target: the model's class names
    /// when `options.ClassNames` gives them, else no values. The target column's cells are not
    /// looked at, whatever they hold. (The reader sees in their place a number that is no missing
    /// marker, each marked quoted where the file quoted it or left it empty, so that whether the
    /// file quotes every field is decided as for the labelled read, and the feature cells read
    /// alike.) Raises as `Csv.toDataset` does for the feature columns.
    let toDataset (options: CsvOptions) (table: CsvTable) : Dataset =
        Check.notNull "table" table
        Csv.checkOptions options
        let reading = if options.ClassNames.IsSome || options.TargetKind <> TargetKind.Auto then TargetReading.Given else TargetReading.Rule
        let emptyTarget =
            match options.ClassNames with
            | Some names -> Target.Classes ([||], names |> Array.map (fun n -> if n.IsNormalized(Text.NormalizationForm.FormC) then n else n.Normalize(Text.NormalizationForm.FormC)))
            | None -> Target.Values [||]
        let read =
            match targetIndex options table with
            | None ->
                // No target column: what the reader gives when the target need not be there.
                Csv.toDataset { options with RequireTarget = false } table
            | Some t ->
                let markers = Collections.Generic.HashSet<string>((if isNull options.MissingMarkers then [||] else options.MissingMarkers) |> Seq.map (fun m -> m.Trim()), StringComparer.OrdinalIgnoreCase)
                // The smallest non-negative integer that is neither a missing marker nor the column's name (which
                // would look like a header row of data to the reader's warning).
                let placeholder = Seq.initInfinite string |> Seq.find (fun s -> not (markers.Contains s) && s <> table.Header.[t])
                let quotedAt (i: int) (j: int) =
                    not (isNull table.Quoted) && i < table.Quoted.Length && (let q = table.Quoted.[i] in not (isNull q) && j < q.Length && q.[j])
                let rows = table.Rows |> Array.map (fun r -> let r = Array.copy r in r.[t] <- placeholder; r)
                let quoted =
                    table.Rows |> Array.mapi (fun i r ->
                        let q = Array.init r.Length (fun j -> if j = t then quotedAt i j || r.[t] = "" else quotedAt i j)
                        if Array.contains true q then q else [||])
                Csv.toDataset { options with Target = Some table.Header.[t]; RequireTarget = true; TargetKind = TargetKind.Regression; ClassNames = None }
                              { table with Rows = rows; Quoted = quoted }
        { read with Target = emptyTarget; TargetReading = reading }

    /// Loads the feature columns of CSV text for prediction (see `toDataset`, `Csv.loadText`).
    let loadText (options: CsvOptions) (text: string) : Dataset =
        Csv.checkOptions options
        toDataset options (Csv.parseWith options.Separator options.Quote options.HasHeader text)

    /// Loads the feature columns of a CSV file for prediction (see `toDataset`, `Csv.load`).
    let load (options: CsvOptions) (path: string) : Dataset =
        Csv.checkOptions options
        toDataset options (Csv.readFileWith options.Separator options.Quote options.HasHeader path)
