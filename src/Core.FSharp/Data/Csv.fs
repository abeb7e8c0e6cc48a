namespace Functional.NN

open System
open System.Globalization
open System.IO
open MathNet.Numerics.LinearAlgebra

/// A CSV file that cannot be turned into a data set. The message names the line (1 is the
/// header), the column and the offending text; the same facts are in the properties.
type DataFormatException(message: string, line: int, column: string) =
    inherit Exception(message)
    /// The line of the file, from 1 (the header); 0 when the error is not about one line.
    member _.Line = line
    /// The column's name ("" when the error is not about one column).
    member _.Column = column

/// How the target column of a CSV file is read.
[<RequireQualifiedAccess>]
type TargetKind =
    /// Numbers mean regression; any text in the column means classes.
    | Auto
    /// Numbers, one per row (an error names the first row that is not a number).
    | Regression
    /// Class names, whatever they look like ("0" .. "9" are class names too).
    | Classification

/// What `Csv.load` reads from a CSV file.
type CsvOptions =
    { /// The target column's name (None: the last column).
      Target: string option
      /// How the target is read.
      TargetKind: TargetKind
      /// The feature columns, in this order (None: every column but the target).
      Features: string[] option
      /// The known class names in index order (a model's): a label outside them is an error.
      /// None: the classes are the distinct labels, sorted (numerically when all are numbers).
      ClassNames: string[] option
      /// When false the file need not have the target column: the data set's target is empty
      /// (for prediction).
      RequireTarget: bool }
    /// The last column is the target, Auto kind, every other column a feature.
    static member Default = { Target = None; TargetKind = TargetKind.Auto; Features = None; ClassNames = None; RequireTarget = true }
    /// A copy with the target column's name.
    member this.WithTarget(name: string) = { this with Target = Some name }
    /// A copy with the target kind.
    member this.WithTargetKind(kind) = { this with TargetKind = kind }
    /// A copy with the feature columns.
    member this.WithFeatures(names: string[]) = { this with Features = Some (Array.copy names) }
    /// A copy with known class names (a model's).
    member this.WithClassNames(names: string[]) = { this with ClassNames = Some (Array.copy names) }
    /// A copy that does (true) or does not (false) require the target column.
    member this.WithRequireTarget(require) = { this with RequireTarget = require }

/// A parsed CSV file: the header and the rows of text, each row with its line number.
type CsvTable =
    { /// The column names.
      Header: string[]
      /// The fields of each data row (as many as the header has names).
      Rows: string[][]
      /// The file line (from 1) on which each row starts.
      Lines: int[] }

/// Comma-separated files (RFC 4180: fields may be quoted with ", a quote inside a quoted field
/// is written ""): parsing, and turning columns into numbers. Every error is a
/// DataFormatException naming the line, the column and the text, never a silent NaN or a
/// dropped row. Blank lines are skipped.
module Csv =

    let private fail line column (message: string) : 'a = raise (DataFormatException(message, line, column))

    /// Splits the text into records of fields, with the line each record starts on.
    let private records (text: string) : (int * string[]) list =
        let result = Collections.Generic.List<int * string[]>()
        let fields = Collections.Generic.List<string>()
        let field = Text.StringBuilder()
        let mutable line = 1
        let mutable start = 1
        let mutable inQuotes = false
        let mutable wasQuoted = false
        let mutable i = 0
        let endField () =
            fields.Add(if wasQuoted then field.ToString() else field.ToString().Trim())
            field.Clear() |> ignore
            wasQuoted <- false
        let endRecord () =
            endField ()
            let isBlank = fields.Count = 1 && fields.[0] = ""
            if not isBlank then result.Add((start, fields.ToArray()))
            fields.Clear()
        while i < text.Length do
            let c = text.[i]
            if inQuotes then
                if c = '"' then
                    if i + 1 < text.Length && text.[i + 1] = '"' then
                        field.Append('"') |> ignore
                        i <- i + 1
                    else inQuotes <- false
                else
                    if c = '\n' then line <- line + 1
                    field.Append(c) |> ignore
            else
                match c with
                | '"' when field.ToString().Trim() = "" ->
                    field.Clear() |> ignore
                    inQuotes <- true
                    wasQuoted <- true
                | ',' -> endField ()
                | '\r' -> ()
                | '\n' ->
                    endRecord ()
                    line <- line + 1
                    start <- line
                | _ -> field.Append(c) |> ignore
            i <- i + 1
        if inQuotes then fail start "" (sprintf "Line %d: a quoted field is never closed (a \" without its closing \")." start)
        endRecord ()
        List.ofSeq result

    /// Parses CSV text: a header row, then rows with exactly as many fields. Raises
    /// DataFormatException for an empty text, a header with an empty or repeated name, or a
    /// ragged row (naming its line and both counts).
    let parse (text: string) : CsvTable =
        Check.notNull "text" text
        match records text with
        | [] -> fail 0 "" "The file is empty: a CSV file needs a header row and at least one data row."
        | (headerLine, header) :: rows ->
            header |> Array.iteri (fun j name ->
                if name = "" then fail headerLine "" (sprintf "Line %d (the header): column %d has no name." headerLine (j + 1)))
            header |> Array.countBy id |> Array.tryFind (fun (_, c) -> c > 1) |> Option.iter (fun (name, _) ->
                fail headerLine name (sprintf "Line %d (the header): the column name '%s' appears more than once." headerLine name))
            if List.isEmpty rows then fail headerLine "" "The file has a header row but no data rows."
            for (line, fields) in rows do
                if fields.Length <> header.Length then
                    fail line "" (sprintf "Line %d has %d fields but the header has %d columns (%s); every row needs one value per column." line fields.Length header.Length (String.Join(", ", header)))
            { Header = header; Rows = rows |> List.map snd |> Array.ofList; Lines = rows |> List.map fst |> Array.ofList }

    /// Reads and parses a CSV file (UTF-8). A missing file is a FileNotFoundException naming it.
    let readFile (path: string) : CsvTable =
        Check.notNull "path" path
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "The data file '%s' does not exist." path, path))
        parse (File.ReadAllText path)

    /// The index of a column by name (exact, then ignoring case); raises naming the columns there are.
    let columnIndex (table: CsvTable) (name: string) : int =
        match Array.tryFindIndex ((=) name) table.Header with
        | Some j -> j
        | None ->
            match Array.tryFindIndex (fun (h: string) -> String.Equals(h, name, StringComparison.OrdinalIgnoreCase)) table.Header with
            | Some j -> j
            | None -> fail 1 name (sprintf "There is no column '%s'; the columns are %s." name (String.Join(", ", table.Header)))

    /// The text of a field as a finite number, or a DataFormatException naming line, column and text.
    let private number (table: CsvTable) (row: int) (col: int) : float =
        let text = table.Rows.[row].[col]
        let line = table.Lines.[row]
        let name = table.Header.[col]
        if text = "" then fail line name (sprintf "Line %d, column '%s': the value is missing (an empty field); every feature needs a number." line name)
        match Double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when Double.IsFinite v -> v
        | _ -> fail line name (sprintf "Line %d, column '%s': '%s' is not a finite number." line name text)

    /// The named columns as an n x d matrix of numbers (in the order of `names`).
    let numericColumns (names: string[]) (table: CsvTable) : Matrix<float> =
        Check.notNull "names" names
        let cols = names |> Array.map (columnIndex table)
        Mat.init table.Rows.Length cols.Length (fun i j -> number table i cols.[j])

    let private isNumber (s: string) =
        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> Double.IsFinite v
        | _ -> false

    /// The class names of a column of labels, in the library's stable order: sorted by value
    /// when every label is a number ("2" before "10"), otherwise by ordinal string comparison.
    /// The order depends only on the set of labels, never on the order of the rows.
    let classOrder (labels: string seq) : string[] =
        let distinct = labels |> Seq.distinct |> Array.ofSeq
        if distinct |> Array.forall isNumber then
            distinct |> Array.sortWith (fun a b ->
                let c = compare (Double.Parse(a, CultureInfo.InvariantCulture)) (Double.Parse(b, CultureInfo.InvariantCulture))
                if c <> 0 then c else String.CompareOrdinal(a, b))
        else distinct |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))

    /// A data set from a parsed table (see `load`).
    let toDataset (options: CsvOptions) (table: CsvTable) : Dataset =
        Check.notNull "table" table
        let targetName =
            match options.Target with
            | Some t -> t
            | None -> table.Header.[table.Header.Length - 1]
        let targetIndex =
            match Array.tryFindIndex ((=) targetName) table.Header with
            | Some j -> Some j
            | None ->
                match Array.tryFindIndex (fun (h: string) -> String.Equals(h, targetName, StringComparison.OrdinalIgnoreCase)) table.Header with
                | Some j -> Some j
                | None when options.RequireTarget ->
                    fail 1 targetName (sprintf "There is no target column '%s'; the columns are %s." targetName (String.Join(", ", table.Header)))
                | None -> None
        let targetName = match targetIndex with Some j -> table.Header.[j] | None -> targetName
        let featureNames =
            match options.Features with
            | Some names -> names |> Array.map (fun n -> table.Header.[columnIndex table n])
            | None -> table.Header |> Array.indexed |> Array.filter (fun (j, _) -> Some j <> targetIndex) |> Array.map snd
        if featureNames.Length = 0 then
            fail 1 "" (sprintf "The file has no feature columns: its only column is the target '%s'." targetName)
        featureNames |> Array.iter (fun n ->
            if n = targetName && targetIndex.IsSome then fail 1 n (sprintf "The column '%s' cannot be both a feature and the target." n))
        let features = numericColumns featureNames table
        let target =
            match targetIndex with
            | None ->
                match options.ClassNames with
                | Some names -> Target.Classes ([||], Array.copy names)
                | None -> Target.Values [||]
            | Some t ->
                let texts = table.Rows |> Array.map (fun r -> r.[t])
                texts |> Array.iteri (fun i s ->
                    if s = "" then fail table.Lines.[i] targetName (sprintf "Line %d, column '%s': the target is missing (an empty field)." table.Lines.[i] targetName))
                let asClasses =
                    options.ClassNames.IsSome
                    || (match options.TargetKind with
                        | TargetKind.Classification -> true
                        | TargetKind.Regression -> false
                        | TargetKind.Auto -> not (texts |> Array.forall isNumber))
                if asClasses then
                    let names = match options.ClassNames with Some n -> Array.copy n | None -> classOrder texts
                    let index = names |> Array.mapi (fun i n -> n, i) |> dict
                    let labels =
                        texts |> Array.mapi (fun i s ->
                            match index.TryGetValue s with
                            | true, k -> k
                            | _ -> fail table.Lines.[i] targetName (sprintf "Line %d, column '%s': the class '%s' is not one of the model's classes (%s)." table.Lines.[i] targetName s (String.Join(", ", names))))
                    Target.Classes (labels, names)
                else Target.Values (Array.init texts.Length (fun i -> number table i t))
        { Features = features; FeatureNames = featureNames; TargetName = targetName; Target = target }

    /// Loads a data set from CSV text: numeric feature columns and a target column by name,
    /// numeric (regression) or text (classes in `classOrder`, or the given class names).
    let loadText (options: CsvOptions) (text: string) : Dataset = toDataset options (parse text)

    /// Loads a data set from a CSV file (see `loadText`).
    let load (options: CsvOptions) (path: string) : Dataset = toDataset options (readFile path)

    let private quote (s: string) =
        if s.IndexOfAny([| ','; '"'; '\n'; '\r' |]) >= 0 || s <> s.Trim() then "\"" + s.Replace("\"", "\"\"") + "\"" else s

    /// CSV text from a header and rows of fields (quoted where needed), lines ending in \n.
    let format (header: string seq) (rows: string[] seq) : string =
        let sb = Text.StringBuilder()
        let line (fields: string seq) = sb.Append(String.Join(",", fields |> Seq.map quote)).Append('\n') |> ignore
        line header
        rows |> Seq.iter (fun r -> line r)
        sb.ToString()

    /// A number as CSV text that reads back to the same double ("R" format, invariant culture).
    let formatNumber (x: float) = x.ToString("R", CultureInfo.InvariantCulture)

    /// A data set as CSV text: its feature columns, then its target column (class names, or
    /// numbers in the round-trip "R" format), so that `loadText` reads it back equal.
    let ofDataset (data: Dataset) : string =
        Check.notNull "data" (box data)
        let target (i: int) =
            match data.Target with
            | Target.Classes (labels, names) when labels.Length > 0 -> [| names.[labels.[i]] |]
            | Target.Values v when v.Length > 0 -> [| formatNumber v.[i] |]
            | _ -> [||]
        let hasTarget = (target 0 |> Array.length) > 0 || data.SampleCount = 0
        let header = Array.append data.FeatureNames (if hasTarget then [| data.TargetName |] else [||])
        format header (Array.init data.SampleCount (fun i -> Array.append (Array.init data.FeatureCount (fun j -> formatNumber data.Features.[i, j])) (target i)))

    /// Writes a data set as a CSV file (see `ofDataset`).
    let save (path: string) (data: Dataset) =
        Check.notNull "path" path
        File.WriteAllText(path, ofDataset data)
