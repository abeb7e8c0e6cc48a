/// CSV as users have it (dialects, byte order marks, line ends, missing values, text columns,
/// class names in any Unicode form), the target-kind rule, the reader's caps and linear cost, a
/// fuzz of 10,000+ mutated files, data from memory, the checks before training, the scaler near
/// the double range, and the new pipeline parts in model files. Every expected value is derived
/// by hand in its comment (or read off the data's README, tests/data/README.md).
module Functional.NN.Tests.CsvTests

open System
open System.IO
open System.Text
open Expecto
open Functional.NN
open Functional.NN.Tests.Expectations


let private argError (param: string) (fragments: string list) (f: unit -> unit) =
    match Expect.throwsC f id with
    | :? ArgumentException as e ->
        Expect.equal e.ParamName param (sprintf "ParamName of: %s" e.Message)
        for fr in fragments do Expect.stringContains e.Message fr "message"
    | e -> failtestf "expected ArgumentException, got %O" e

/// Bytes allocated on this thread while f runs, and its result.
let private allocation (f: unit -> 'a) : 'a * int64 =
    let before = GC.GetAllocatedBytesForCurrentThread()
    let r = f ()
    r, GC.GetAllocatedBytesForCurrentThread() - before

let private column (d: Dataset) (j: int) = d.Features.Column(j).ToArray()

/// Three rows of a table with a text feature, by hand: the same data in every dialect.
let private rows3 = [ [| "1.5"; "red"; "a" |]; [| "2"; "blue"; "b" |]; [| "-3"; "red"; "a" |] ]

let private withSep (sep: string) (newline: string) =
    String.Join(newline, ("x" + sep + "color" + sep + "y") :: (rows3 |> List.map (fun r -> String.Join(sep, r)))) + newline

/// What every dialect of rows3 must load as: x = [1.5; 2; -3], color categories [blue; red]
/// (ordinal order) with codes [1; 0; 1], classes [a; b] with labels [0; 1; 0].
let private expectRows3 (d: Dataset) (what: string) =
    Expect.equal d.FeatureNames [| "x"; "color" |] (what + ": feature names")
    Expect.equal (column d 0) [| 1.5; 2.0; -3.0 |] (what + ": numbers")
    Expect.equal (Dataset.categoriesOf d 1) [| "blue"; "red" |] (what + ": categories")
    Expect.equal (column d 1) [| 1.0; 0.0; 1.0 |] (what + ": category codes")
    Expect.equal d.ClassNames [| "a"; "b" |] (what + ": classes")
    Expect.equal d.Labels [| 0; 1; 0 |] (what + ": labels")

let private tempFile (bytes: byte[]) =
    let path = Path.Combine(Path.GetTempPath(), "fnn-csv-" + Guid.NewGuid().ToString("N") + ".csv")
    File.WriteAllBytes(path, bytes)
    path

/// A data set that loaded must be whole: names for every column, codes inside their categories,
/// labels inside the classes, NaN only where a policy keeps missing values.
let private wellFormed (options: CsvOptions) (d: Dataset) : string option =
    let x = d.Features
    if d.SampleCount < 1 then Some "no rows"
    elif d.FeatureNames.Length <> d.FeatureCount || d.Categories.Length <> d.FeatureCount then Some "names or categories do not match the columns"
    else
        let problems =
            seq {
                for j in 0 .. d.FeatureCount - 1 do
                    let k = (Dataset.categoriesOf d j).Length
                    for i in 0 .. x.RowCount - 1 do
                        let v = x.[i, j]
                        if Double.IsNaN v then
                            if options.Missing = MissingPolicy.Error || options.Missing = MissingPolicy.Drop then yield sprintf "NaN at %d,%d under %A" i j options.Missing
                        elif Double.IsInfinity v then yield sprintf "infinity at %d,%d" i j
                        elif k > 0 && (v < 0.0 || v >= float k || Math.Round v <> v) then yield sprintf "code %g outside %d categories" v k
                match d.Target with
                | Target.Classes (labels, names) ->
                    if labels.Length <> d.SampleCount then yield "label count"
                    if labels |> Array.exists (fun l -> l < 0 || l >= names.Length) then yield "label outside the classes"
                | Target.Values v ->
                    if v.Length <> d.SampleCount then yield "value count"
                    if v |> Array.exists (fun t -> not (Double.IsFinite t)) then yield "a target that is not finite"
            }
        Seq.tryHead problems

/// A record for the data-from-objects test.
type Flower = { A: float; B: float; Label: string }

/// The mutations of the fuzz: each takes the bytes and the generator and gives new bytes.
let private mutate (rng: Random) (bytes: byte[]) : string * byte[] =
    let b = ResizeArray<byte>(bytes)
    let at () = if b.Count = 0 then 0 else rng.Next(b.Count + 1)
    let insert (s: byte[]) = b.InsertRange(at (), s)
    match rng.Next 14 with
    | 0 ->
        for _ in 0 .. rng.Next(1, 8) do
            if b.Count > 0 then b.[rng.Next b.Count] <- byte (rng.Next 256)
        "bytes flipped", b.ToArray()
    | 1 -> insert "\""B; "a quote", b.ToArray()
    | 2 -> insert "\"\""B; "a doubled quote", b.ToArray()
    | 3 -> insert [| [| 44uy; 59uy; 9uy |].[rng.Next 3] |]; "a separator", b.ToArray()
    | 4 -> "a BOM", Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] (b.ToArray())
    | 5 -> insert [| 0xEFuy; 0xBBuy; 0xBFuy |]; "a BOM inside", b.ToArray()
    | 6 -> insert ([| "\r"B; "\n"B; "\r\n"B |].[rng.Next 3]); "a line end", b.ToArray()
    | 7 ->
        if b.Count > 2 then
            let i = rng.Next(b.Count - 1)
            b.RemoveRange(i, rng.Next(1, min 40 (b.Count - i)))
        "a range deleted", b.ToArray()
    | 8 -> "truncated", b.GetRange(0, rng.Next(b.Count + 1)).ToArray()
    | 9 ->
        // A huge field: up to 50,000 characters of one character, one time in 20 up to 1.2 million
        // (beyond the 1 MiB field cap about half of those times).
        let length = if rng.Next 20 = 0 then rng.Next(1_000_000, 1_200_000) else rng.Next(1000, 50_000)
        let c = [| 'x'; '"'; '7'; ' ' |].[rng.Next 4]
        let huge = Encoding.UTF8.GetBytes(String(c, length))
        let quoted = rng.Next 2 = 0
        insert (if quoted then Array.concat [ "\""B; huge; "\""B ] else huge)
        "a huge field", b.ToArray()
    | 10 ->
        // Many columns: a row of thousands of fields.
        let n = rng.Next(1000, 20000)
        insert (Encoding.UTF8.GetBytes(String.Join(",", Array.init n string) + "\n"))
        "many columns", b.ToArray()
    | 11 -> insert ([| "NA"B; "?"B; "null"B; "NaN"B; "3..5"B; "1e999"B; "-"B |].[rng.Next 7]); "a marker or a bad number", b.ToArray()
    | 12 ->
        if b.Count > 0 then
            let i = rng.Next b.Count
            let j = min b.Count (i + rng.Next 200)
            b.InsertRange(j, b.GetRange(i, j - i))
        "a range repeated", b.ToArray()
    | _ -> insert (Encoding.UTF8.GetBytes("e\u0301\u00e9'\u0000\uFFFD")); "odd characters", b.ToArray()

[<Tests>]
let tests =
    testList "CSV as it comes" [
        test "comma, semicolon and tab are detected, LF, CRLF and CR line ends read alike" {
            for sep in [ ","; ";"; "\t" ] do
                for newline in [ "\n"; "\r\n"; "\r" ] do
                    expectRows3 (Csv.loadText CsvOptions.Default (withSep sep newline)) (sprintf "separator %A, line end %A" sep newline)
        }
        test "a set separator overrides the detection" {
            // "a;b" read with ',' is one column "a;b": the file has one column, so no feature.
            let text = "a;b,c\n1;2,x\n3;4,y\n"
            let d = Csv.loadText (CsvOptions.Default.WithSeparator ',') text
            Expect.equal d.FeatureNames [| "a;b" |] "the semicolon is text when the separator is ','"
            Expect.equal (Dataset.categoriesOf d 0) [| "1;2"; "3;4" |] "so the column holds text"
        }
        test "a UTF-8 byte order mark is skipped on every entry point" {
            let text = withSep ";" "\r\n"
            let bom = Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] (Encoding.UTF8.GetBytes text)
            expectRows3 (Csv.loadText CsvOptions.Default ("\uFEFF" + text)) "text with U+FEFF"
            expectRows3 (Csv.loadText CsvOptions.Default (Csv.decode bom)) "decoded bytes"
            let path = tempFile bom
            try
                expectRows3 (Csv.load CsvOptions.Default path) "file"
                Expect.equal (Csv.readFile path).Header [| "x"; "color"; "y" |] "readFile's header has no BOM"
                let facade = FunctionalNN.Dataset.LoadCsv(path, "y")
                Expect.equal facade.FeatureNames [| "x"; "color" |] "the facade's LoadCsv"
                Expect.equal (FunctionalNN.Dataset.LoadCsvFeatures(path, [| "x" |])) (array2D [ [ 1.5 ]; [ 2.0 ]; [ -3.0 ] ]) "the facade's LoadCsvFeatures"
            finally File.Delete path
        }
        test "single quotes quote fields when the options set them (never detected: see DataReviewTests)" {
            // 'Smith, J' is one field: the comma inside the quotes is not a separator.
            let d = Csv.loadText (CsvOptions.Default.WithQuote '\'') "name,x,y\n'Smith, J',1,a\n'Doe, K',2,b\n'Smith, J',3,a\n"
            Expect.equal (Dataset.categoriesOf d 0) [| "Doe, K"; "Smith, J" |] "two names with commas"
            Expect.equal (column d 1) [| 1.0; 2.0; 3.0 |] "the numbers after them"
        }
        test "without a header the columns are column1 .. columnN and the first line is data" {
            let d = Csv.loadText (CsvOptions.Default.WithHeader false) "1,2,a\n3,4,b\n5,6,a\n"
            Expect.equal d.FeatureNames [| "column1"; "column2" |] "names"
            Expect.equal d.TargetName "column3" "the last column is the target"
            Expect.equal (column d 0) [| 1.0; 3.0; 5.0 |] "three rows, the first line included"
        }
        test "missing values: an error naming the option by default, or dropped, or kept for the imputer" {
            let text = "a,b,y\n1,2,p\nNA,4,q\n5,?,p\n7,8,\n9,null,q\n"
            let e = csvError CsvOptions.Default text 3 [ "Line 3"; "column 'a'"; "'NA'"; "--missing" ]
            Expect.stringContains e.Message "Missing" "names the library's option too"
            // Drop: lines 3, 4, 5 (the empty target) and 6 go; rows 1 and ... only line 2 is whole.
            let dropped = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Drop) text
            Expect.equal (column dropped 0) [| 1.0 |] "only the whole row is left"
            // Mean: the missing target's row (line 5) is dropped; the feature cells become NaN.
            let kept = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) text
            Expect.equal kept.SampleCount 4 "the row without a target is dropped"
            Expect.isTrue (Double.IsNaN (column kept 0).[1]) "NA is NaN"
            Expect.isTrue (Double.IsNaN (column kept 1).[2]) "? is NaN"
            Expect.equal kept.Missing MissingPolicy.Mean "the policy travels with the data"
            let custom = Csv.loadText ((CsvOptions.Default.WithMissingMarkers [| "-" |]).WithMissing MissingPolicy.Drop) "a,y\n1,p\n-,q\nNA,p\n"
            Expect.equal custom.FeatureNames [| "a" |] "custom markers"
            Expect.equal (Dataset.categoriesOf custom 0) [| "1"; "NA" |] "NA is text when the markers are only '-'"
        }
        test "the data set says which rows the reader dropped for a missing value, and the columns that dropped them" {
            // Counted by hand from the text (lines from 1, the header line 1):
            //   line 2  1,u,p      whole
            //   line 3  ,v,q       a empty: missing
            //   line 4  3,"NA",p   c is the quoted marker "NA": text (a category), not missing; whole
            //   line 5  NA,?,q     a and c bare markers: both missing
            //   line 6  5,u,       the target y empty: missing
            //   line 7  6,,        c and the target empty: both missing
            //   line 8  7,v,q      whole
            let text = "a,c,y\n1,u,p\n,v,q\n3,\"NA\",p\nNA,?,q\n5,u,\n6,,\n7,v,q\n"
            let column name rows isTarget : DroppedColumn = { Name = name; Rows = rows; IsTarget = isTarget }
            // Drop: lines 3, 5, 6, 7 go (4 rows); a misses in lines 3, 5 (2), c in 5, 7 (2), y in 6, 7 (2); a row missing two
            // columns counts under both.
            let drop = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Drop) text
            Expect.equal drop.Dropped { Count = 4; Columns = [| column "a" 2 false; column "c" 2 false; column "y" 2 true |] } "drop"
            Expect.equal drop.Lines [| 2; 4; 8 |] "the rows kept: lines 2, 4 and 8"
            Expect.equal (Dataset.categoriesOf drop 1) [| "NA"; "u"; "v" |] "the quoted NA is a category of the rows kept"
            // Mean (and the other imputing policies): only a missing target drops its row, lines 6 and 7.
            for policy in [ MissingPolicy.Mean; MissingPolicy.Median; MissingPolicy.MostFrequent ] do
                let kept = Csv.loadText (CsvOptions.Default.WithMissing policy) text
                Expect.equal kept.Dropped { Count = 2; Columns = [| column "y" 2 true |] } (sprintf "%A: the target only" policy)
                Expect.equal kept.SampleCount 5 (sprintf "%A: 7 rows less 2" policy)
            // Error on a file without a missing value, and data from memory: none.
            Expect.equal (Csv.loadText CsvOptions.Default "a,y\n1,p\n2,q\n").Dropped DroppedRows.None "nothing missing"
            Expect.equal (Dataset.ofValues [| "x" |] "y" (array2D [ [ 1.0 ]; [ 2.0 ] ]) [| 1.0; 2.0 |]).Dropped DroppedRows.None "data from memory"
            // A file that quotes every field: there the quoted "NA" (line 3) is missing, so its row is dropped under a.
            let quoted = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Drop) "\"a\",\"y\"\n\"1\",\"p\"\n\"NA\",\"q\"\n\"3\",\"p\"\n\"4\",\"q\"\n"
            Expect.equal quoted.Dropped { Count = 1; Columns = [| column "a" 1 false |] } "quote-all: the quoted marker is missing"
            // The features only (no target read): line 6's and 7's empty target drops nothing; Drop drops lines 3, 5, 7.
            let features = Csv.featuresOf ((CsvOptions.Default.WithFeatures [| "a"; "c" |]).WithMissing MissingPolicy.Drop) (Csv.parse text)
            Expect.equal features.Dropped { Count = 3; Columns = [| column "a" 2 false; column "c" 2 false |] } "features only"
            // The numbers-only reader (a linear model's), from a file: lines 3 (a) and 4 (y) go.
            let path = tempFile (Encoding.UTF8.GetBytes "a,b,y\n1,2,3\n,4,5\n6,7,\n8,9,10\n")
            try
                let numeric = Csv.loadNumeric (CsvOptions.Default.WithMissing MissingPolicy.Drop) path
                Expect.equal numeric.Dropped { Count = 2; Columns = [| column "a" 1 false; column "y" 1 true |] } "numbers only"
            finally File.Delete path
            // Row selection keeps what the reading dropped (it describes the read).
            Expect.equal (Dataset.selectRows [| 0 |] drop).Dropped drop.Dropped "kept by selectRows"
        }
        test "the imputer fills mean, median and most frequent values fitted on the training rows" {
            // Column a = [1; 2; NaN; 9; 2]: mean (1+2+9+2)/4 = 3.5, median of 1,2,2,9 = (2+2)/2 = 2,
            // most frequent 2. Column c (text) = [u; v; v; NaN; u]: a tie of 2 and 2 goes to the
            // smaller index, u (0), under every policy.
            let text = "a,c,y\n1,u,p\n2,v,q\n,v,p\n9,,q\n2,u,p\n"
            for policy, expected in [ MissingPolicy.Mean, 3.5; MissingPolicy.Median, 2.0; MissingPolicy.MostFrequent, 2.0 ] do
                let d = Csv.loadText (CsvOptions.Default.WithMissing policy) text
                let pre = Preprocessor.fit d
                Expect.equal pre.Fill [| expected; 0.0 |] (sprintf "%A fill" policy)
                let encoded = Preprocessor.transform pre d.FeatureNames (Preprocessor.rawFeatures pre d.FeatureNames d)
                // Row 2 (a missing) is [fill, v] = [fill, 0, 1]; row 3 (c missing) is [9, u] = [9, 1, 0].
                Expect.equal (encoded.Row(2).ToArray()) [| expected; 0.0; 1.0 |] "row 2 filled"
                Expect.equal (encoded.Row(3).ToArray()) [| 9.0; 1.0; 0.0 |] "row 3 filled"
            argError "data" [ "column 'a'"; "no value in the training rows" ] (fun () ->
                Preprocessor.fit (Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) "a,b,y\n,1,p\nNA,2,q\n") |> ignore)
        }
        test "text columns are one-hot encoded with the training rows' categories; an unseen one is an error or zeros" {
            let train = Csv.loadText CsvOptions.Default "size,color,y\n1,red,p\n2,green,q\n3,red,p\n"
            let pre = Preprocessor.fit train
            Expect.equal pre.Categories [| [||]; [| "green"; "red" |] |] "categories from the training rows, in ordinal order"
            Expect.equal (Preprocessor.outputNames pre train.FeatureNames) [| "size"; "color=green"; "color=red" |] "output columns"
            let probe = Csv.loadText CsvOptions.Default "size,color,y\n4,green,p\n5,purple,q\n"
            // purple is on line 3 of the text (the header is line 1): rows read from text are named by their line.
            argError "data" [ "At line 3"; "column 'color'"; "'purple'"; "Zeros"; "--unknown-category zeros" ] (fun () ->
                Preprocessor.rawFeatures pre train.FeatureNames probe |> ignore)
            let zeros = Preprocessor.withUnknown UnknownCategory.Zeros pre
            let encoded = Preprocessor.transform zeros train.FeatureNames (Preprocessor.rawFeatures zeros train.FeatureNames probe)
            // green -> [1, 0]; purple (unseen) -> [0, 0].
            Expect.equal (encoded.ToArray()) (array2D [ [ 4.0; 1.0; 0.0 ]; [ 5.0; 0.0; 0.0 ] ]) "one-hot rows, the unseen one all zeros"
        }
        test "class names and categories are compared after Unicode normalisation (NFC)" {
            // "café" written with U+00E9 and with e + U+0301 is one class and one category.
            let composed, decomposed = "caf\u00e9", "cafe\u0301"
            let text = sprintf "x,w,y\n1,%s,%s\n2,%s,%s\n3,tea,tea\n" composed composed decomposed decomposed
            let d = Csv.loadText CsvOptions.Default text
            Expect.equal d.ClassNames [| composed; "tea" |] "two classes, NFC"
            Expect.equal d.Labels [| 0; 0; 1 |] "both forms are the same class"
            Expect.equal (Dataset.categoriesOf d 1) [| composed; "tea" |] "and the same category"
            let known = Csv.loadText (CsvOptions.Default.WithClassNames [| decomposed; "tea" |]) text
            Expect.equal known.Labels [| 0; 0; 1 |] "a model's class names in the other form match too"
            // Data from memory too: the two forms of one name are one class, named in form C.
            let memory = Dataset.ofClassNames null null (array2D [ [ 1.0 ]; [ 2.0 ]; [ 3.0 ] ]) [| composed; decomposed; "tea" |]
            Expect.equal (memory.ClassNames, memory.Labels) ([| composed; "tea" |], [| 0; 0; 1 |]) "arrays: one class, NFC"
        }
        test "the target rule: text or few integers that each occur several times are classes, other numbers regression" {
            let load (values: string list) = Csv.loadText CsvOptions.Default ("x,y\n" + String.Join("", values |> List.mapi (fun i v -> sprintf "%d,%s\n" i v)))
            // 0/1/2, each 3 times: classes (at most 20 distinct integers, each at least 3 times).
            let labels = load [ "0"; "1"; "2"; "2"; "1"; "0"; "0"; "1"; "2" ]
            Expect.equal labels.ClassNames [| "0"; "1"; "2" |] "0/1/2 labels are classes"
            Expect.stringStarts (TargetRule.explain labels) "classification: the values are 3 distinct integers" "the summary says why"
            // A count with 30 distinct values: regression.
            let counts = load [ for i in 0 .. 29 -> string i ]
            Expect.isFalse counts.IsClassification "a count with dozens of values"
            Expect.stringContains (TargetRule.explain counts) "30 distinct values, more than 20" "why"
            // 0/1 with a value seen twice only: regression (each value needs 3 rows).
            Expect.isFalse (load [ "0"; "1"; "1"; "0"; "1" ]).IsClassification "0 occurs only twice"
            Expect.isFalse (load [ "0.5"; "1"; "1"; "0.5"; "1"; "0.5" ]).IsClassification "fractions"
            Expect.isTrue (load [ "yes"; "no" ]).IsClassification "text"
            // TargetKind overrides the rule.
            let text = "x,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n"
            Expect.isTrue (Csv.loadText CsvOptions.Default text).IsClassification "by the rule"
            let forced = Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Regression) text
            Expect.isFalse forced.IsClassification "TargetKind Regression"
            Expect.stringContains (TargetRule.explain forced) "set explicitly" "the summary says it was set"
        }
        test "the target's reason says what decided: quoted numbers are class names as written, integers of 9e15 or more are numbers" {
            // 30 rows, the target cycling through three labels (10 rows each), written bare or in quotes.
            let load (options: CsvOptions) (quoted: bool) (labels: string[]) =
                let cell (s: string) = if quoted then "\"" + s + "\"" else s
                Csv.loadText options ("x,y\n" + String.Join("", [ for i in 0 .. 29 -> sprintf "%d,%s\n" (i % 7) (cell labels.[i % 3]) ]))
            // docs/data-and-models.md: numbers quoted in every target cell are class names kept as written, so "007"
            // and "7" are two classes of the three; the reason counts the names, not the values (which are 2).
            let quoted = load CsvOptions.Default true [| "007"; "7"; "10" |]
            Expect.equal quoted.ClassNames [| "007"; "7"; "10" |] "three class names as written (by value, then ordinal)"
            Expect.equal quoted.TargetReading TargetReading.QuotedNumbers "decided by the clause for quoted numbers"
            Expect.equal (TargetRule.explain quoted) "classification: every target cell is a number in quotes, so each is a class name as written (3 classes)" "the reason counts 3 classes"
            // The same labels bare: one class per value (7 with 20 rows, 10 with 10), by the numeric rule.
            let bare = load CsvOptions.Default false [| "007"; "7"; "10" |]
            Expect.equal bare.ClassNames [| "7"; "10" |] "one class per value"
            Expect.equal (TargetRule.explain bare) "classification: the values are 2 distinct integers, each occurring at least 3 times" "the numeric rule's reason"
            // Quoted fractions are class names too: quoted, not set explicitly (and not what the numeric rule would say).
            let fractions = load CsvOptions.Default true [| "1.5"; "2.5"; "3.5" |]
            Expect.equal (TargetRule.explain fractions) "classification: every target cell is a number in quotes, so each is a class name as written (3 classes)" "quoted fractions"
            // Integers of magnitude 9e15 or more (TargetRule.maxExactInteger, just below 2^53) are numbers, not
            // class labels: 3 distinct 17-digit integers, 10 rows each, are a regression target, and the reason says
            // they are integers too large to tell apart, not that they are not integers.
            Expect.equal TargetRule.maxExactInteger 9.0e15 "the documented cutoff"
            let big = load CsvOptions.Default false [| "12345678901234567"; "12345678901234569"; "12345678901234571" |]
            Expect.isFalse big.IsClassification "regression"
            Expect.equal big.TargetReading TargetReading.Rule "decided by the rule"
            Expect.equal (TargetRule.explain big) "regression: the values are integers, but some are 9e15 or more in magnitude (from 2^53, about 9.007e15, a double cannot hold every integer, so distinct labels could read as one number)" "the reason names the cutoff"
            // Just below the cutoff, 3 distinct integers 10 times each are classes; at it, numbers.
            let below = load CsvOptions.Default false [| "8999999999999997"; "8999999999999998"; "8999999999999999" |]
            Expect.equal (TargetRule.explain below) "classification: the values are 3 distinct integers, each occurring at least 3 times" "below 9e15"
            Expect.isFalse (load CsvOptions.Default false [| "9000000000000000"; "9000000000000001"; "9000000000000002" |]).IsClassification "at 9e15"
            // Set as classes, the 17-digit labels keep their spelling (three classes), and the reason says so.
            let forced = load (CsvOptions.Default.WithTargetKind TargetKind.Classification) false [| "12345678901234567"; "12345678901234569"; "12345678901234571" |]
            Expect.equal forced.ClassNames [| "12345678901234567"; "12345678901234569"; "12345678901234571" |] "three classes as written"
            Expect.equal (TargetRule.explain forced) "classification (set explicitly; the class names are numbers kept as written, 3 classes)" "set explicitly"
        }
        test "a numeric-looking target with an unparsable cell is a one-line error naming the line and the cell" {
            // 24 numbers and '3..5' (1 in 25 is not a number): numeric-looking, so an error.
            let rows = String.Join("", [ for i in 1 .. 24 -> sprintf "%d,%d.25\n" i i ])
            let e = csvError CsvOptions.Default ("x,y\n" + rows + "25,3..5\n") 26 [ "Line 26"; "column 'y'"; "'3..5'"; "--task" ]
            Expect.isFalse (e.Message.Contains "\n") "one line"
        }
        test "randhie and modechoice load with every default, and the task is detected right" {
            // tests/data/README.md: randhie has 20190 rows, target mdvis (a count, 59 values): regression.
            let randhie = Csv.load (CsvOptions.Default.WithTarget "mdvis") (Repo.path [ "tests"; "data"; "randhie.csv" ])
            Expect.equal (randhie.SampleCount, randhie.FeatureCount) (20190, 9) "randhie's shape"
            Expect.isFalse randhie.IsClassification (TargetRule.explain randhie)
            // modechoice: 840 rows, semicolons, target mode 1..4 (210 each): classification.
            let mode = Csv.load (CsvOptions.Default.WithTarget "mode") (Repo.path [ "tests"; "data"; "modechoice.csv" ])
            Expect.equal (mode.SampleCount, mode.FeatureCount) (840, 8) "modechoice's shape (the semicolon detected)"
            Expect.equal mode.ClassNames [| "1"; "2"; "3"; "4" |] (TargetRule.explain mode)
            Expect.equal (mode.Labels |> Array.countBy id) [| 0, 210; 1, 210; 2, 210; 3, 210 |] "210 rows each"
        }
        test "a 160 KB field of doubled quotes and 200,000 columns cost memory linear in their size" {
            // 80,000 doubled quotes in a quoted field: 160,003 characters read as 80,000 quotes.
            let field = "\"" + String.replicate 80000 "\"\"" + "\""
            let text = "a,y\n" + field + ",1\n" + "b,2\n"
            let d, bytes = allocation (fun () -> Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Regression) text)
            Expect.equal ((Dataset.categoriesOf d 0) |> Array.map String.length |> Array.sort) [| 1; 80000 |] "the field's 80,000 quotes"
            Expect.isLessThan bytes (40L * int64 text.Length) "allocation linear in the text"
            // 200,000 columns: header c0..c199999, one row of numbers, twice (two rows).
            let n = 200000
            let header = String.Join(",", Array.init n (sprintf "c%d"))
            let row = String.Join(",", Array.init n (fun j -> string (j % 10)))
            let wide = header + "\n" + row + "\n" + row + "\n"
            let d, bytes = allocation (fun () -> Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Regression) wide)
            Expect.equal d.FeatureCount (n - 1) "every column but the target"
            Expect.isLessThan bytes (100L * int64 wide.Length) "allocation linear in the text"
        }
        test "a field beyond the cap and a huge bad cell give short messages" {
            let longField = String('x', Csv.maxFieldChars + 10)
            let e = csvError CsvOptions.Default ("a,y\n" + longField + ",1\n") 2 [ "longer than 1048576 characters" ]
            Expect.isLessThan e.Message.Length 300 "the message does not quote the field"
            // A numeric-looking column with a 500,000-character bad cell.
            let rows = String.Join("", [ for i in 1 .. 30 -> sprintf "%d,p\n" i ])
            let bad = String('7', 250000) + "x" + String('7', 250000)
            let e = csvError CsvOptions.Default ("a,y\n" + rows + bad + ",q\n") 32 [ "characters in all" ]
            Expect.isLessThanOrEqual e.Message.Length Csv.maxMessageChars "at most the message cap"
        }
        test "a device file stops at the stated cap with a DataFormatException" {
            if not (File.Exists "/dev/zero") then skiptest "no /dev/zero on this system"
            let e = Expect.throwsC (fun () -> Csv.readText "/dev/zero" |> ignore) id
            Expect.isTrue (e :? DataFormatException) (sprintf "type: %O" e)
            Expect.stringContains e.Message "64 MiB" "the cap is named"
        }
        test "fuzz: 10,000+ mutated CSV files load whole or raise DataFormatException, each under 1 s and 100x its size (at least 16 KiB) in allocation" {
            let bases =
                [ withSep "," "\n"; withSep ";" "\r\n"; withSep "\t" "\r"
                  "\uFEFFid;kind;score;label\r\n1;a;0.5;x\r\n2;b;NA;y\r\n3;\"c;d\";1e3;x\r\n4;a;-2;y\r\n5;;7;x\r\n6;b;?;y\r\n7;a;1;x\r\n"
                  "\"q\"\"uoted\",\"multi\nline\",v\n\"1\",\"a\"\"b\",1\n\"2\",\"c\",2\n\"3\",\"a\"\"b\",3\n" ]
                |> List.map (fun s ->
                    // Repeat the rows (after the first line end) so that each base file is at least 1 KB.
                    let cut = s.IndexOfAny([| '\r'; '\n' |]) + 1
                    let cut = if cut < s.Length && s.[cut - 1] = '\r' && s.[cut] = '\n' then cut + 1 else cut
                    let body = s.Substring cut
                    s.Substring(0, cut) + String.replicate (1 + 1200 / max 1 body.Length) body)
                |> List.map Encoding.UTF8.GetBytes
            let options =
                [| CsvOptions.Default; CsvOptions.Default.WithMissing MissingPolicy.Mean; CsvOptions.Default.WithMissing MissingPolicy.Drop
                   CsvOptions.Default.WithHeader false; (CsvOptions.Default.WithTargetKind TargetKind.Classification).WithMissing MissingPolicy.MostFrequent |]
            let rng = Random 20261205
            let failures = Collections.Generic.List<string>()
            let mutable loaded, rejected, count = 0, 0, 0
            let mutable slowest = 0.0
            let clock = Diagnostics.Stopwatch.StartNew()
            // Warm up the code paths (the first call compiles them).
            for b in bases do
                for o in options do
                    try Csv.loadText o (Csv.decode b) |> ignore with :? DataFormatException -> ()
            for case in 0 .. 10049 do
                let source = bases.[case % bases.Length]
                let what, bytes =
                    if case < 50 then "unchanged", source
                    else
                        let w1, b1 = mutate rng source
                        if rng.Next 3 = 0 then let w2, b2 = mutate rng b1 in w1 + " + " + w2, b2 else w1, b1
                let opts = options.[case % options.Length]
                let watch = Diagnostics.Stopwatch.StartNew()
                let load () =
                    try
                        let d =
                            if case % 100 = 0 then
                                let path = tempFile bytes
                                try Csv.load opts path finally File.Delete path
                            else Csv.loadText opts (Csv.decode bytes)
                        Ok d
                    with e -> Error e
                let result, first = allocation load
                let seconds = watch.Elapsed.TotalSeconds
                count <- count + 1
                slowest <- max slowest seconds
                match result with
                | Ok d ->
                    loaded <- loaded + 1
                    match wellFormed opts d with
                    | Some problem -> failures.Add(sprintf "case %d (%s): loaded but %s" case what problem)
                    | None -> ()
                | Error (:? DataFormatException as e) ->
                    rejected <- rejected + 1
                    if e.Message.Length > Csv.maxMessageChars + 3 || e.Message.Contains "\n" then
                        failures.Add(sprintf "case %d (%s): a message of %d characters or lines" case what e.Message.Length)
                | Error e -> failures.Add(sprintf "case %d (%s): %s: %s" case what (e.GetType().Name) (Csv.quoteText e.Message))
                // 100x the input, with a floor of 16 KiB for tiny inputs (raising one exception with
                // its message costs about 5-12 KB whatever the input); the file-backed cases also
                // copy the bytes through a file stream: 256 KiB more for its buffers.
                let allowed = max (100L * int64 bytes.Length) 16384L + (if case % 100 = 0 then 262144L else 0L)
                // Over the limit, the same load is measured once more and the smaller count kept: what
                // the loader allocates comes back every time, while a one-off on the thread (the
                // runtime's first use of something, seen once in a full run at 18.6 KB for a 95-byte
                // file) does not.
                let allocated = if first > allowed then min first (snd (allocation load)) else first
                if allocated > allowed then failures.Add(sprintf "case %d (%s): allocated %d bytes for %d" case what allocated bytes.Length)
                if seconds > Expectations.hangGuardSeconds then failures.Add(sprintf "case %d (%s): %.2f s" case what seconds)
            Console.Out.WriteLine(sprintf "CSV fuzz: %d files, %d loaded whole, %d DataFormatException; slowest %.3f s; %.1f s in all" count loaded rejected slowest clock.Elapsed.TotalSeconds)
            if failures.Count > 0 then failtestf "%d failures, the first:\n%s" failures.Count (String.Join("\n", failures |> Seq.truncate 15))
            Expect.isGreaterThanOrEqual count 10000 "at least 10,000 files"
            Expect.isGreaterThan loaded 100 "many mutated files still load"
        }
        test "data from memory: arrays with class names, integer labels or values, and objects with selectors" {
            let x = array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ]; [ 5.0; 6.0 ] ]
            let byName = Dataset.ofClassNames [| "a"; "b" |] "kind" x [| "dog"; "cat"; "dog" |]
            // Classes in ordinal order: cat (0), dog (1).
            Expect.equal (byName.ClassNames, byName.Labels, byName.TargetName) ([| "cat"; "dog" |], [| 1; 0; 1 |], "kind") "class names"
            let byInt = Dataset.ofClassLabels null null x [| 10; 2; 10 |]
            // Integer labels in increasing order: "2" (0), "10" (1); default names x1, x2 and target.
            Expect.equal (byInt.ClassNames, byInt.Labels, byInt.FeatureNames, byInt.TargetName) ([| "2"; "10" |], [| 1; 0; 1 |], [| "x1"; "x2" |], "target") "integer labels"
            let values = Dataset.ofValues [| "a"; "b" |] "y" x [| 0.5; 1.5; 2.5 |]
            Expect.equal values.Target (Target.Values [| 0.5; 1.5; 2.5 |]) "values"
            x.[0, 0] <- 99.0
            Expect.equal values.Features.[0, 0] 1.0 "the caller's array is copied"
            let records = [ { A = 1.0; B = 2.0; Label = "p" }; { A = 3.0; B = 4.0; Label = "q" } ]
            let fromSeq = Dataset.ofSeqClasses [| "A"; "B" |] "Label" (fun (r: Flower) -> [| r.A; r.B |]) (fun r -> r.Label) records
            Expect.equal (fromSeq.Features.ToArray(), fromSeq.Labels) (array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ], [| 0; 1 |]) "objects with selectors"
            let fromSeqValues = Dataset.ofSeqValues [| "A" |] "B" (fun (r: Flower) -> [| r.A |]) (fun r -> r.B) records
            Expect.equal fromSeqValues.Target (Target.Values [| 2.0; 4.0 |]) "a numeric selector"
            argError "labels" [ "2 entries"; "3 rows" ] (fun () -> Dataset.ofClassNames null null (array2D [ [ 1.0 ]; [ 2.0 ]; [ 3.0 ] ]) [| "a"; "b" |] |> ignore)
            argError "featureNames" [ "'a' appears more than once" ] (fun () -> Dataset.ofValues [| "a"; "a" |] "y" (array2D [ [ 1.0; 2.0 ] ]) [| 1.0 |] |> ignore)
            argError "features" [ "Row index 1 has 1 features" ] (fun () -> Dataset.ofSeqValues [| "A"; "B" |] "y" (fun (r: float[]) -> r) (fun _ -> 0.0) [ [| 1.0; 2.0 |]; [| 1.0 |] ] |> ignore)
        }
        test "checks before training: one class, an empty test split, an empty validation split, a missing value" {
            let x = array2D [ for i in 0 .. 5 -> [ float i ] ]
            let oneClass = Dataset.ofClassNames null null x (Array.create 6 "only")
            argError "data" [ "only 1 class"; "at least two classes" ] (fun () -> PipelineFit.fit FitOptions.Default oneClass |> ignore)
            // Every class has one row: a stratified split cannot take a test row.
            let singletons = Dataset.ofClassLabels null null x [| 0; 1; 2; 3; 4; 5 |]
            argError "testFraction" [ "test part would be empty" ] (fun () -> Split.stratified 0.2 singletons.Labels (Rng.create 1L) |> ignore)
            argError "options" [ "no validation row" ] (fun () -> PipelineFit.fit (FitOptions.Default.WithValidationFraction 0.2) singletons |> ignore)
            let withNaN = Dataset.ofValues null null (array2D [ [ 1.0 ]; [ nan ]; [ 3.0 ] ]) [| 1.0; 2.0; 3.0 |]
            // Data from memory: the row's index, counting from 0 (the NaN is in the second row, index 1).
            argError "data" [ "At row index 1"; "column 'x1'"; "--missing" ] (fun () -> PipelineFit.fit FitOptions.Default withNaN |> ignore)
        }
        test "the scaler on a constant column of 1e308 gives 0, never infinity or NaN; a column spanning the doubles is a typed error" {
            let big = Mat.ofRows [ [| 1e308; 1.0 |]; [| 1e308; 2.0 |]; [| 1e308; 3.0 |] ]
            for kind in [ ScalingKind.Standard; ScalingKind.MinMax ] do
                let s = Scaler.fit kind big
                // A constant column: offset 1e308 (its mean and its minimum), scale 1, so every value becomes 0.
                Expect.equal (s.Offset.[0], s.Scale.[0]) (1e308, 1.0) (sprintf "%A offset and scale" kind)
                Expect.equal ((Scaler.transform s big).Column(0).ToArray()) [| 0.0; 0.0; 0.0 |] "zeros"
            // Near the top of the range with spread: 1e308 and 1.5e308 have mean 1.25e308 and sd 0.25e308.
            let near = Scaler.fitStandard (Mat.ofRows [ [| 1e308 |]; [| 1.5e308 |] ])
            Expect.floatClose Accuracy.veryHigh near.Scale.[0] 0.25e308 "sd without overflow"
            argError "x" [ "Column 0"; "range of a double" ] (fun () -> Scaler.fitStandard (Mat.ofRows [ [| -1e308 |]; [| 1e308 |] ]) |> ignore)
            argError "x" [ "Column 0"; "range of a double" ] (fun () -> Scaler.fitMinMax (Mat.ofRows [ [| -1e308 |]; [| 1e308 |] ]) |> ignore)
        }
        test "model files: the imputer and the one-hot encoder save and load bit-identically; plain files keep the old layout" {
            let text = "size,color,y\n1,red,p\n2,green,q\nNA,red,p\n4,green,q\n5,red,p\n6,,q\n"
            let data = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Median) text
            let fit = PipelineFit.fit (FitOptions.Default.WithEpochs 5) data
            let p = Pipeline.withUnknownCategory UnknownCategory.Zeros fit.Pipeline
            let bytes = ModelFile.pipelineToBytes p
            let loaded = ModelFile.pipelineOfBytes bytes
            Expect.equal loaded p "the loaded pipeline equals the saved one"
            Expect.equal (ModelFile.pipelineToBytes loaded) bytes "saved again, byte for byte"
            let probe = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Median) "size,color,y\nNA,blue,p\n3,,q\n"
            let out (q: Pipeline) = (Pipeline.outputs q (Pipeline.featuresOf q probe)).ToArray() |> Seq.cast<float> |> Seq.map BitConverter.DoubleToInt64Bits |> Array.ofSeq
            Expect.equal (out loaded) (out p) "bit-identical outputs, an unseen category and missing cells included"
            Expect.equal (ModelContainer.versionOf (ModelContainer.read bytes)) 1us "written in format version 1: it holds no float32 array"
            // A numeric pipeline without imputation writes the entries the previous version wrote, in its order.
            let plain = (PipelineFit.fit (FitOptions.Default.WithEpochs 2) (Datasets.load "iris")).Pipeline
            let names = (ModelContainer.read (ModelFile.pipelineToBytes plain)).Entries |> List.map fst
            let old = [ yield! ModelFile.networkEntries "network." plain.Network |> List.map fst
                        yield! [ "features"; "scaler.kind"; "scaler.offset"; "scaler.scale"; "loss"; "target"; "classes"; "target_scaler.kind"; "target_scaler.offset"; "target_scaler.scale" ] ]
            Expect.equal names old "no new entry in a plain pipeline's file"
            Expect.equal (ModelFile.pipelineOfBytes (ModelFile.pipelineToBytes plain)) plain "and it loads as before"
        }
        testList "round trips and checks found in review" [
            test "a file that quotes every cell under a bare header (PostgreSQL's FORCE_QUOTE *) keeps a numeric target numeric" {
                // Prices are numbers: the target is a regression target, as in the same file without quotes; the
                // quotes of a writer that quotes every cell say nothing about a field.
                let quoted = Csv.loadText CsvOptions.Default "sqft,rooms,price\n\"84\",\"5\",\"158.65\"\n\"70\",\"4\",\"120.5\"\n\"95\",\"6\",\"181.25\"\n"
                match quoted.Target with
                | Target.Values v -> Expect.equal v [| 158.65; 120.5; 181.25 |] "the prices, as written"
                | t -> failtestf "a regression target expected, got %A" t
                Expect.equal quoted.Features.[0, 0] 84.0 "quoted feature cells are numbers"
                // A quoted NA in such a file is missing (the same rule).
                let na = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) "a,y\n\"1\",\"2.5\"\n\"NA\",\"3.5\"\n\"3\",\"4.5\"\n"
                Expect.isTrue (Double.IsNaN na.Features.[1, 0]) "the quoted NA is missing"
            }
            test "labels a double cannot hold exactly (17-digit codes) stay distinct classes, as written, under Classification and when matched" {
                // 12345678901234567, ...68 and ...69 are one double; read by value they would be one class.
                let text = "x,y\n1,12345678901234567\n2,12345678901234568\n3,12345678901234569\n"
                let d = Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Classification) text
                match d.Target with
                | Target.Classes (labels, names) ->
                    Expect.equal names [| "12345678901234567"; "12345678901234568"; "12345678901234569" |] "three classes, spelled as written"
                    Expect.equal labels [| 0; 1; 2 |] "one label each"
                | t -> failtestf "classes expected, got %A" t
                // With those names given, each label matches its own name only.
                let again = Csv.loadText (CsvOptions.Default.WithClassNames [| "12345678901234569"; "12345678901234567"; "12345678901234568" |]) text
                match again.Target with
                | Target.Classes (labels, _) -> Expect.equal labels [| 1; 2; 0 |] "matched by text"
                | t -> failtestf "classes expected, got %A" t
                // A code a double does not hold is not matched to a name by value.
                Expect.throwsT<DataFormatException> (fun () -> Csv.loadText (CsvOptions.Default.WithClassNames [| "12345678901234568" |]) "x,y\n1,12345678901234567\n" |> ignore) "no match by value"
            }
            test "a quoted missing-value marker is text; the writer quotes markers and a leading single quote" {
                // "NA" in quotes is the category NA; bare NA is missing (Missing = Mean keeps the row, NaN).
                let d = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) "c,x,y\n\"NA\",1,a\nb,NA,b\nb,2,a\n"
                Expect.equal d.Categories.[0] [| "NA"; "b" |] "the quoted NA is a category (ordinal order: N before b)"
                Expect.isTrue (Double.IsNaN d.Features.[1, 1]) "the bare NA in x is missing"
                // Classes and categories spelled like markers, and values in single quotes, read back the same.
                let labels = [| "NA"; "?"; "null"; "NaN"; "nan"; "'a'"; "NA"; "?"; "null"; "NaN"; "nan"; "'a'" |]
                let x = Array2D.init 12 1 (fun i _ -> float i)
                let data = Dataset.ofClassNames [| "x" |] "y" x labels
                let text = Csv.ofDataset data
                let back = Csv.loadText CsvOptions.Default text
                Expect.equal back.ClassNames data.ClassNames (sprintf "the class names read back (file:\n%s)" text)
                Expect.equal back.Labels data.Labels "the labels read back"
                let withText = Csv.loadText CsvOptions.Default "c,y\n\"NA\",1.5\n\"'q'\",2.5\nnull2,3.5\n"
                Expect.equal withText.Categories.[0] [| "'q'"; "NA"; "null2" |] "categories as given (ordinal order)"
                let again = Csv.loadText CsvOptions.Default (Csv.ofDataset withText)
                Expect.equal again.Categories withText.Categories "the text column's categories read back"
                Expect.equal (again.Features.ToArray()) (withText.Features.ToArray()) "its codes read back"
            }
            test "integer class labels read back as classes" {
                // Labels 0,1,0,1: each class has 2 rows, fewer than the rule's 3, so a bare 0/1 column would be regression.
                let data = Dataset.ofClassLabels null null (Array2D.init 4 1 (fun i _ -> float i)) [| 0; 1; 0; 1 |]
                let back = Csv.loadText CsvOptions.Default (Csv.ofDataset data)
                Expect.isTrue back.IsClassification "classification again"
                Expect.equal (back.ClassNames, back.Labels) ([| "0"; "1" |], [| 0; 1; 0; 1 |]) "the same classes and labels"
            }
            test "a numeric target the rule reads as classes has one class per value: 1 and 1.0 are one class" {
                // 0,0,0,1,1,1.0: the rule sees the values 0 (3 times) and 1 (3 times): two classes, named 0 and 1.
                let d = Csv.loadText CsvOptions.Default "x,y\n1,0\n2,0\n3,0\n4,1\n5,1\n6,1.0\n"
                Expect.equal (d.ClassNames, d.Labels) ([| "0"; "1" |], [| 0; 0; 0; 1; 1; 1 |]) "one class per value"
            }
            test "numeric labels spelled 1.0 and 2.0: Auto and Classification both give the classes 1 and 2, and the file reloads with those class names" {
                // 12 rows, labels 1.0/2.0 alternating: the rule sees two integers 6 times each, so classes, named by value.
                let text = "a,b,label\n" + String.Join("\n", [ for i in 0 .. 11 -> sprintf "%d,%d,%s" i (i * i % 7) (if i % 2 = 0 then "1.0" else "2.0") ]) + "\n"
                let expected = [| for i in 0 .. 11 -> i % 2 |]
                let auto = Csv.loadText CsvOptions.Default text
                Expect.equal (auto.ClassNames, auto.Labels) ([| "1"; "2" |], expected) "Auto: one class per value, canonical text"
                let cls = Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Classification) text
                Expect.equal (cls.ClassNames, cls.Labels) ([| "1"; "2" |], expected) "Classification spells them as Auto does"
                // Reloading with the class names (as evaluate does): "1.0" is not a class name, so it matches "1" by value.
                let again = Csv.loadText ((CsvOptions.Default.WithTargetKind TargetKind.Classification).WithClassNames auto.ClassNames) text
                Expect.equal (again.ClassNames, again.Labels) ([| "1"; "2" |], expected) "reloaded with the model's class names"
                // The same through a trained model: it evaluates on its own training file.
                let model = (PipelineFit.fit (FitOptions.Default.WithEpochs 2) auto).Pipeline
                let forModel = Csv.loadText ((CsvOptions.Default.WithTargetKind TargetKind.Classification).WithClassNames model.ClassNames) text
                Expect.equal forModel.Labels expected "the training file read for the model"
                match Pipeline.evaluate model forModel with
                | Evaluation.Classification r -> Expect.equal (Seq.sum (Seq.cast<int> r.ConfusionMatrix)) 12 "and it evaluates on the 12 rows"
                | e -> failtestf "expected a classification report, got %A" e
                // An exact class name wins over a value; a label whose value two class names share is an error naming them.
                let both = Csv.loadText (CsvOptions.Default.WithClassNames [| "1"; "1.0"; "2" |]) "a,y\n1,1.0\n2,1\n3,2.0\n"
                Expect.equal both.Labels [| 1; 0; 2 |] "1.0 is the class 1.0, 1 the class 1, 2.0 the class 2 by value"
                csvError (CsvOptions.Default.WithClassNames [| "1"; "1.0" |]) "a,y\n1,1.00\n" 2 [ "'1.00'"; "2 of them have its value"; "1, 1.0" ] |> ignore
                // Quoted numeric codes keep their spelling under Classification, as under Auto (ofDataset writes them so).
                let codes = Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Classification) "a,y\n1,\"007\"\n2,\"7\"\n"
                Expect.equal (codes.ClassNames, codes.Labels) ([| "007"; "7" |], [| 0; 1 |]) "two classes, as written"
            }
            test "a file that quotes every field (csv.QUOTE_ALL) reads its markers as missing; elsewhere a quoted marker is text, and the error says so" {
                // Python's csv.QUOTE_ALL: every field quoted, the header too. "NA" in x is missing (kept as NaN under Mean).
                let quoteAll = "\"x\",\"c\",\"y\"\n\"1.5\",\"p\",\"a\"\n\"NA\",\"q\",\"b\"\n\"2.5\",\"NA\",\"a\"\n"
                let d = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) quoteAll
                Expect.isTrue (Double.IsNaN d.Features.[1, 0]) "the quoted NA in the numeric column is missing"
                Expect.isTrue (Double.IsNaN d.Features.[2, 1]) "the quoted NA in the text column is missing"
                Expect.equal d.Categories.[1] [| "p"; "q" |] "NA is no category"
                csvError CsvOptions.Default quoteAll 3 [ "column 'x'"; "missing ('NA')" ] |> ignore
                // A file that leaves some field bare: the quoted NA is the text NA; in a numeric column the error says
                // it is quoted, and does not advise MissingMarkers (it is one already).
                let rows = [ for i in 1 .. 20 -> sprintf "%d,%d" i (2 * i) ]
                let text = "x,y\n" + String.Join("\n", rows) + "\n\"NA\",50\n"
                let e = csvError CsvOptions.Default text 22 [ "column 'x'"; "'NA' is not a number"; "in quotes"; "without quotes" ]
                Expect.isFalse (e.Message.Contains "MissingMarkers") e.Message
            }
            test "ofDataset's output reads back as written even when every field in it is quoted" {
                // The only feature is a text column whose categories need quotes (a comma; NA), every column name needs
                // quotes ("c,d"; "?"), and the class names are numbers (quoted; 0 and 1 twice each, which the rule
                // alone would read as a regression target): no field is bare, yet no header name or
                // feature cell is quoted without need, so the file is not read as one that quotes everything.
                let data = { Dataset.ofClassNames [| "c,d" |] "?" (Array2D.init 4 1 (fun i _ -> float (i / 2))) [| "0"; "1"; "0"; "1" |]
                             with Categories = [| [| "NA"; "p,q" |] |] }
                let text = Csv.ofDataset data
                let table = Csv.parse text
                Expect.isTrue (Array.forall id table.HeaderQuoted && table.Quoted |> Array.forall (fun q -> q.Length = 2 && Array.forall id q))
                    (sprintf "every field is quoted:\n%s" text)
                let back = Csv.loadText CsvOptions.Default text
                Expect.isTrue back.IsClassification (sprintf "classes again (file:\n%s)" text)
                Expect.equal (back.ClassNames, back.Labels) (data.ClassNames, data.Labels) "the same classes and labels"
                Expect.equal back.Categories data.Categories "NA is a category again, not missing"
                Expect.equal (back.Features.ToArray()) (data.Features.ToArray()) "its codes read back"
                // With a plain column name the same holds (the commas-in-categories case of the review).
                let plain = { data with FeatureNames = [| "c" |]; TargetName = "y" }
                let back = Csv.loadText CsvOptions.Default (Csv.ofDataset plain)
                Expect.equal (back.ClassNames, back.Labels, back.Categories) (plain.ClassNames, plain.Labels, plain.Categories) "read back"
                // A file with no feature column is refused by the reader, whatever its target: such a data set is written, not read back.
                csvError CsvOptions.Default "y\n\"0\"\n\"1\"\n" 1 [ "no feature columns" ] |> ignore
            }
            test "numbers written with a decimal comma are an error naming the column, a cell and its line, not text categories" {
                // A European spreadsheet's file: separator ';', decimals "0,90". Each row i holds x = i/100 and y = 1 + i/10,
                // both with a comma; 60 rows, so x would have become 60 categories (line 2 is the first data row).
                let rows sep = String.Join("", [ for i in 1 .. 60 -> sprintf "0,%02d%s%d,%d%s%s\n" i sep (1 + i / 10) (i % 10) sep (if i % 2 = 0 then "a" else "b") ])
                let euro = "x;y;label\n" + rows ";"
                let e = csvError CsvOptions.Default euro 2 [ "column 'x'"; "'0,01'"; "decimal comma"; "separator is ';'"; "60 in all"; "decimal point"; "TextColumns" ]
                Expect.equal e.Column "x" "the Column property"
                // The same with tab, and with the separator given.
                csvError CsvOptions.Default ("x\ty\tlabel\n" + rows "\t") 2 [ "column 'x'"; "separator is 'tab'" ] |> ignore
                csvError (CsvOptions.Default.WithSeparator ';') euro 2 [ "column 'x'"; "decimal comma" ] |> ignore
                // Whole numbers among them, as R's write.csv2 writes 1 and 0,5: still a decimal-comma column (line 3 is "0,5").
                csvError CsvOptions.Default "x;label\n1;a\n0,5;b\n2;a\n-1,25;b\n" 3 [ "column 'x'"; "'0,5'"; "whole numbers aside" ] |> ignore
                // Quoted in a file that quotes every field (csv.QUOTE_ALL with sep=';'): the reader knows the separator is ';'.
                csvError CsvOptions.Default "\"x\";\"label\"\n\"0,5\";\"a\"\n\"1,5\";\"b\"\n" 2 [ "column 'x'"; "'0,5'" ] |> ignore
                // A target of such numbers under Auto would have become one class per value: the same error, with its advice.
                csvError CsvOptions.Default "x;y\n1;0,5\n2;1,25\n3;2,75\n" 2 [ "column 'y'"; "'0,5'"; "the target's other values"; "--task classification" ] |> ignore
                // Asked for as classes, such labels are class names as written.
                Expect.equal (Csv.loadText (CsvOptions.Default.WithTargetKind TargetKind.Classification) "x;y\n1;0,5\n2;1,25\n").ClassNames [| "0,5"; "1,25" |] "class names"
                // As a regression target, the not-a-number error says why.
                csvError (CsvOptions.Default.WithTargetKind TargetKind.Regression) "x;y\n1;0,5\n2;1,25\n" 2 [ "'0,5' is not a finite number"; "decimal comma" ] |> ignore
                // Named in TextColumns, the column is text as asked.
                Expect.equal (Csv.loadText (CsvOptions.Default.WithTextColumns [| "x" |]) "x;label\n0,5;a\n1,5;b\n").Categories.[0] [| "0,5"; "1,5" |] "text on request"
                // Csv.toDataset of a parsed table (separator not known): bare "0,5" shows the separator is not a comma.
                let table = Csv.parseWith (Some ';') None true "x;label\n0,5;a\n1,5;b\n"
                Expect.throwsT<DataFormatException> (fun () -> Csv.toDataset CsvOptions.Default table |> ignore) "toDataset"
            }
            test "texts that only look like decimal commas stay text: quoted thousands in a comma file, code lists, mixed columns" {
                // A comma-separated file with quoted thousands ("1,234"): the comma is not a decimal comma, the column is text as before.
                let d = Csv.loadText CsvOptions.Default "amount,label\n\"1,234\",a\n\"2,500\",b\n\"12,000\",a\n"
                Expect.equal d.Categories.[0] [| "1,234"; "12,000"; "2,500" |] "quoted thousands: text"
                let d = Csv.loadText (CsvOptions.Default.WithSeparator ',') "amount,label\n\"1,234\",a\n\"2,500\",b\n"
                Expect.equal d.Categories.[0] [| "1,234"; "2,500" |] "also with the separator given"
                // Code lists with two commas, texts among the numbers, a leading comma: not of the decimal form.
                // ("1.234,5" with '.' between thousands is of the form since the review at 8df006c: see "European numbers with
                // thousands separators" below; "1.23,5", whose group has 2 digits, is not.)
                for column in [ [ "1,2,3"; "4,5,6" ]; [ "0,5"; "abc" ]; [ ",5"; "1,5" ]; [ "1.23,5"; "2,5" ] ] do
                    let text = "x;label\n" + String.Join("", column |> List.mapi (fun i v -> sprintf "%s;%s\n" v (if i % 2 = 0 then "a" else "b")))
                    Expect.equal (Csv.loadText CsvOptions.Default text).Categories.[0] (column |> List.toArray |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))) (sprintf "%A: text" column)
                // Whole numbers alone are numbers, as before.
                Expect.equal ((Csv.loadText CsvOptions.Default "x;label\n1;a\n2;b\n").Features.Column(0).ToArray()) [| 1.0; 2.0 |] "numbers"
            }
            test "a header with a repeated or empty name says when the first line looks like data or a saved index" {
                // randhie without its header line: its first data row (0, 4.61512, 1, ...) becomes the header and '0'
                // appears twice there; every field of it is a number, so the error gives the header warning's advice.
                let lines = File.ReadAllLines(Repo.path [ "tests"; "data"; "randhie.csv" ])
                let headerless = String.Join("\n", lines |> Array.skip 1) + "\n"
                csvError CsvOptions.Default headerless 1 [ "the column name '0' appears more than once"; "looks like data"; "read it with HasHeader = false (CLI: --no-header)" ] |> ignore
                Expect.equal (Csv.loadText (CsvOptions.Default.WithHeader false) headerless).SampleCount (lines.Length - 1) "read without a header, every line is a row"
                // An empty first name over numbers: a saved index (pd.DataFrame(array).to_csv() writes ",0,1,2") or a
                // headerless file whose first value is missing; the saved-index advice first, the no-header one after it.
                let e = csvError CsvOptions.Default ",1,2\n3,4,5\n" 1 [ "column 1 has no name"; "saved row index"; "looks like data"; "HasHeader = false" ]
                Expect.isLessThan (e.Message.IndexOf "index=False") (e.Message.IndexOf "HasHeader = false") "the saved-index advice comes first"
                // pandas' to_csv() with its index: an unnamed first column over named ones.
                let e = csvError CsvOptions.Default ",x,y\n0,1.5,a\n1,2.5,b\n" 1 [ "column 1 has no name"; "saved row index"; "index=False"; "Features" ]
                Expect.isFalse (e.Message.Contains "HasHeader") "not the no-header advice"
                // A repeated name in a header of names: no advice about data.
                let e = csvError CsvOptions.Default "a,a,b\n1,2,x\n" 1 [ "'a' appears more than once" ]
                Expect.isFalse (e.Message.Contains "looks like data") "a header of names"
            }
            test "a column selected twice as a feature is refused naming both places" {
                csvError (CsvOptions.Default.WithFeatures [| "a"; "b"; "A" |]) "a,b,y\n1,2,3\n2,3,4\n" 1 [ "The column 'a' is selected more than once"; "Features[0] and Features[2]" ] |> ignore
            }
            test "a target name equal to a feature name is refused up front" {
                argError "targetName" [ "'a'"; "also a feature name" ] (fun () -> Dataset.ofValues [| "a"; "b" |] "a" (Array2D.zeroCreate 2 2) [| 1.0; 2.0 |] |> ignore)
            }
            test "selecting a feature twice is refused, and a record with a duplicate name cannot be written" {
                let iris = Datasets.load "iris"
                argError "names" [ "names[1]"; "sepal_length" ] (fun () -> Dataset.selectFeatures [| "sepal_length"; "sepal_length" |] iris |> ignore)
                // A data set built as a record with a duplicate name cannot be written.
                argError "data" [ "'" + iris.FeatureNames.[0] + "'"; "more than once" ] (fun () -> Csv.ofDataset { iris with TargetName = iris.FeatureNames.[0] } |> ignore)
                ignore (Csv.ofDataset { iris with TargetName = "species" })
            }
            test "null or repeated entries in the options, and unknown text columns, are refused naming the option" {
                let text = "a,b,y\n1,2,p\n3,4,q\n"
                argError "Features" [ "Features[1]" ] (fun () -> CsvOptions.Default.WithFeatures [| "a"; null |] |> ignore)
                argError "ClassNames" [ "ClassNames[0]" ] (fun () -> CsvOptions.Default.WithClassNames [| null; "p" |] |> ignore)
                argError "ClassNames" [ "ClassNames[1]"; "more than once" ] (fun () -> CsvOptions.Default.WithClassNames [| "p"; "p"; "q" |] |> ignore)
                argError "TextColumns" [ "TextColumns[0]" ] (fun () -> CsvOptions.Default.WithTextColumns [| null |] |> ignore)
                argError "MissingMarkers" [ "MissingMarkers is null" ] (fun () -> CsvOptions.Default.WithMissingMarkers null |> ignore)
                argError "Target" [ "Target" ] (fun () -> CsvOptions.Default.WithTarget null |> ignore)
                // The same options set in the record directly are checked when reading.
                argError "Features" [ "Features[1]" ] (fun () -> Csv.loadText { CsvOptions.Default with Features = Some [| "a"; null |] } text |> ignore)
                argError "ClassNames" [ "ClassNames[1]" ] (fun () -> Csv.loadText { CsvOptions.Default with ClassNames = Some [| "p"; "p"; "q" |] } text |> ignore)
                argError "Target" [ "Target" ] (fun () -> Csv.loadText { CsvOptions.Default with Target = Some null } text |> ignore)
                argError "names" [ "names[0]" ] (fun () -> Csv.numericColumns [| null |] (Csv.parse text) |> ignore)
                csvError (CsvOptions.Default.WithTextColumns [| "nope" |]) text 1 [ "TextColumns"; "'nope'"; "a, b, y" ] |> ignore
            }
            test "numericColumns: a missing-value marker is missing as the reader takes it (bare, or quoted in a file that quotes every field); a quoted one elsewhere is text" {
                let message (text: string) =
                    try Csv.numericColumns [| "a"; "b" |] (Csv.parse text) |> ignore; failtest "refused"
                    with :? DataFormatException as e -> e.Message
                // Review finding: predict of a linear model called a bare NA "not a finite number", evaluate "missing".
                Expect.equal (message "a,b,y\n1,2,3\n4,NA,6\n") "Line 3, column 'b': the value is missing ('NA'); every feature needs a number." "bare NA"
                Expect.equal (message "a,b,y\n?,2,3\n") "Line 2, column 'a': the value is missing ('?'); every feature needs a number." "bare ?"
                Expect.equal (message "a,b,y\n1,2,3\n4,\"NA\",6\n") "Line 3, column 'b': 'NA' is not a finite number." "quoted NA among bare cells: text"
                Expect.equal (message "\"a\",\"b\",\"y\"\n\"1\",\"NA\",\"3\"\n") "Line 2, column 'b': the value is missing ('NA'); every feature needs a number." "quoted NA in a file that quotes everything"
                Expect.equal (message "a,b,y\n1,NAN2,3\n") "Line 2, column 'b': 'NAN2' is not a finite number." "not a marker"
                // Whole rows read as before (a marker in an unread column is no matter).
                Expect.equal ((Csv.numericColumns [| "b"; "a" |] (Csv.parse "a,b,y\n1,2,NA\n")).ToArray()) (array2D [ [ 2.0; 1.0 ] ]) "numbers by name"
            }
            test "a text cell that is not a category code, or a label outside the classes, names its row and column" {
                let data = Csv.loadText CsvOptions.Default "c,y\na,1.5\nb,2.5\na,3.5\n"
                // Row index 1 (file line 3) gets the code 5 (of 2 categories), then 0.5.
                for bad in [ 5.0; 0.5; -1.0 ] do
                    let x = data.Features.Clone()
                    x.[1, 0] <- bad
                    let broken = { data with Features = x }
                    argError "data" [ "At line 3"; "column 'c'"; "0 .. 1" ] (fun () -> Preprocessor.fit broken |> ignore)
                    argError "data" [ "At line 3"; "column 'c'" ] (fun () -> Csv.ofDataset broken |> ignore)
                    argError "data" [ "At line 3"; "column 'c'" ] (fun () -> Preprocessor.rawFeatures (Preprocessor.fit data) [| "c" |] broken |> ignore)
                let classes = Dataset.ofClassNames null null (Array2D.zeroCreate 2 1) [| "p"; "q" |]
                argError "data" [ "row index 1"; "class index 2"; "0 .. 1" ] (fun () -> Csv.ofDataset { classes with Target = Target.Classes ([| 0; 2 |], [| "p"; "q" |]) } |> ignore)
            }
            test "the scaler refuses a column whose running mean overflows, and so does fitting on such a target" {
                // 1e308, -1e308, 3: the running mean goes 1e308, then 1e308 + (-2e308)/2 = -inf, then -inf + inf = NaN.
                argError "x" [ "spans more than the range of a double" ] (fun () -> Scaler.fitStandard (Mat.ofRows [ [| 1e308 |]; [| -1e308 |]; [| 3.0 |] ]) |> ignore)
                let data = Dataset.ofValues null "y" (Array2D.init 3 1 (fun i _ -> float i)) [| 1e308; -1e308; 3.0 |]
                argError "data" [ "target 'y'"; "spans more than the range of a double" ] (fun () -> PipelineFit.fit (FitOptions.Default.WithEpochs 1) data |> ignore)
            }
            test "a loss that does not suit the task and the step activation are refused before training" {
                let commute = Datasets.load "commute"
                for loss in [ Loss.SoftmaxCrossEntropy; Loss.BinaryCrossEntropy; Loss.BinaryCrossEntropyWithLogits; Loss.Hinge; Loss.SquaredHinge; Loss.Logistic ] do
                    argError "Loss" [ Loss.caseName loss; "commute_min"; "numeric" ] (fun () -> PipelineFit.fit ((FitOptions.Default.WithEpochs 1).WithLoss loss) commute |> ignore)
                argError "Activation" [ "step" ] (fun () -> PipelineFit.fit ((FitOptions.Default.WithEpochs 1).WithActivation Activation.Step) (Datasets.load "iris") |> ignore)
                // The regression losses still train.
                for loss in [ Loss.MeanSquaredError; Loss.HalfMeanSquaredError ] do
                    Expect.equal ((PipelineFit.fit ((FitOptions.Default.WithEpochs 1).WithLoss loss) commute).History.Length) 1 "one epoch"
            }
            test "evaluating on data without the target column says so" {
                let model = (PipelineFit.fit (FitOptions.Default.WithEpochs 1) (Datasets.load "iris")).Pipeline
                let noTarget = Csv.loadText ((CsvOptions.Default.WithTarget "species").WithRequireTarget false) "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"
                argError "data" [ "no target values"; "the model's target column 'species'" ] (fun () -> Pipeline.evaluate model noTarget |> ignore)
                // A file without the target column read for the model: its target is named "target", a placeholder;
                // the message names the model's target (a user review).
                argError "data" [ "the model's target column 'species'" ] (fun () -> Pipeline.evaluate model { noTarget with TargetName = "target" } |> ignore)
            }
            test "featuresOf reads the features only: a target column in the file, or a missing value in it, changes nothing" {
                let options = (CsvOptions.Default.WithMissing MissingPolicy.Mean).WithFeatures [| "b"; "a" |]
                // y is the last column and empty on line 2: read as a target under Mean its row would be dropped.
                let d = Csv.featuresOf options (Csv.parse "a,b,y\n1,NA,\n3,4,5\n")
                Expect.equal (d.FeatureNames, d.SampleCount) ([| "b"; "a" |], 2) "the features asked for, every row"
                Expect.isTrue (Double.IsNaN d.Features.[0, 0]) "the missing feature cell is NaN"
                Expect.equal (d.Target, d.TargetName) (Target.Values [||], "target") "no target, named target"
                // The absent target's name is no column's: "target_1" when the file has a column "target".
                let t = Csv.featuresOf (CsvOptions.Default.WithFeatures [| "target" |]) (Csv.parse "target,y\n1,2\n")
                Expect.equal t.TargetName "target_1" "a fresh name"
                // Without Features every column is a feature, the last one too.
                Expect.equal (Csv.featuresOf CsvOptions.Default (Csv.parse "a,b\n1,2\n")).FeatureNames [| "a"; "b" |] "all columns"
            }
            test "a text category found only in the validation rows is encoded as zeros there, and training succeeds" {
                // 20 rows; the validation split (fraction 0.25, seed 0) is Split.shuffled's with Rng.create 0, as splitValidation draws it.
                let options = (FitOptions.Default.WithEpochs 3).WithValidationFraction 0.25
                let held = (fst (Split.shuffled 0.25 20 (Rng.create 0L))).Test
                let v = held.[0]
                let rows = [ for i in 0 .. 19 -> sprintf "%d,%s,%d" i (if i = v then "z" elif i % 2 = 0 then "a" else "b") (3 * i) ]
                let data = Csv.loadText CsvOptions.Default ("x,c,y\n" + String.Join("\n", rows) + "\n")
                let train, validation = PipelineFit.splitValidation options data
                let zCode = float (Array.IndexOf(data.Categories.[1], "z"))
                Expect.isFalse (Seq.exists (fun i -> train.Features.[i, 1] = zCode) [ 0 .. train.SampleCount - 1 ]) "z is not in the training rows"
                Expect.isTrue (Seq.exists (fun i -> validation.Value.Features.[i, 1] = zCode) [ 0 .. validation.Value.SampleCount - 1 ]) "z is in the validation rows"
                let fit = PipelineFit.fit options data
                Expect.equal fit.ValidationLosses.Length 3 "a validation loss each epoch"
                Expect.isTrue (fit.ValidationLosses |> Array.forall Double.IsFinite) "finite"
                Expect.equal fit.Pipeline.Preprocessor.Categories.[1] [| "a"; "b" |] "the model knows the training rows' categories"
                Expect.equal fit.Pipeline.Preprocessor.UnknownCategory UnknownCategory.Error "and keeps its own unknown-category rule"
            }
        ]
        testList "reading found in the review at 8df006c" [
            test "a Latin-1 or Windows-1252 file is a DataFormatException naming the line and the byte, never U+FFFD merging texts" {
                // The review's file: city Köln/Käln/Berlin, label réd/rèd/blue, in Latin-1 (ISO 8859-1: ö = F6, ä = E4,
                // é = E9, è = E8, one byte each; none of them can start a UTF-8 sequence followed by an ASCII letter).
                // Read as UTF-8 with replacement, réd and rèd were both 'r\uFFFDd': one class of two.
                let rows = [ for i in 0 .. 39 -> sprintf "%s,%g,%s" [| "Köln"; "Käln"; "Berlin" |].[i % 3] (0.5 * float i) [| "réd"; "rèd"; "blue" |].[i % 3] ]
                let latin1 = Encoding.Latin1.GetBytes("city,x,label\n" + String.Join("\n", rows) + "\n")
                // Line 2 starts at byte 13 ("city,x,label\n" is 13 bytes); 'K' is byte 13, 'ö' (F6) byte 14.
                let expected (e: exn) (line: int) =
                    for f in [ "Line 2: the byte F6 (offset 14 in the file, after 'K' on the line) is not UTF-8 text"; "Latin-1 or Windows-1252"; "save it as UTF-8" ] do
                        Expect.stringContains e.Message f "the message"
                    Expect.equal line 2 "the line"
                let path = tempFile latin1
                try
                    match Expect.throwsC (fun () -> Csv.load CsvOptions.Default path |> ignore) id with
                    | :? DataFormatException as e -> expected e e.Line
                    | e -> failtestf "expected DataFormatException, got %O" e
                    match Expect.throwsC (fun () -> Csv.decode latin1 |> ignore) id with
                    | :? DataFormatException as e -> expected e e.Line
                    | e -> failtestf "Csv.decode: expected DataFormatException, got %O" e
                    // The C# facade's LoadCsv reads with the same reader; its DataFormatException has the same message.
                    match Expect.throwsC (fun () -> FunctionalNN.Dataset.LoadCsv(path) |> ignore) id with
                    | :? FunctionalNN.DataFormatException as e -> expected e e.Line
                    | e -> failtestf "LoadCsv: expected FunctionalNN.DataFormatException, got %O" e
                finally File.Delete path
                // A bad byte on a later line, after CRLF, LF and CR line ends: lines 1 to 4 take bytes 0-4 ("a,y\r\n"), 5-8, 9-12
                // and 13-16, so 'é' as E9 starts line 5 at offset 17.
                let later = Array.concat [ "a,y\r\n1,x\n2,y\r3,x\n"B; [| 0xE9uy |]; ",y\n"B ]
                match Expect.throwsC (fun () -> Csv.decode later |> ignore) id with
                | :? DataFormatException as e ->
                    Expect.equal e.Line 5 "CRLF, LF and CR each end a line"
                    Expect.stringContains e.Message "the byte E9 (offset 17 in the file, at the start of the line)" "the byte"
                | e -> failtestf "expected DataFormatException, got %O" e
                // The same text in UTF-8 (with and without a mark) and in UTF-16 with its mark reads as before: 3 classes.
                let text = "city,x,label\n" + String.Join("\n", rows) + "\n"
                for bytes, what in [ Encoding.UTF8.GetBytes text, "UTF-8"; Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] (Encoding.UTF8.GetBytes text), "UTF-8 with a mark"
                                     Array.append [| 0xFFuy; 0xFEuy |] (Encoding.Unicode.GetBytes text), "UTF-16 LE with a mark" ] do
                    let d = Csv.loadText CsvOptions.Default (Csv.decode bytes)
                    // Ordinal order: è (U+00E8) before é (U+00E9), ä (U+00E4) before ö (U+00F6).
                    Expect.equal d.ClassNames [| "blue"; "rèd"; "réd" |] (what + ": three classes, as written")
                    Expect.equal (Dataset.categoriesOf d 0) [| "Berlin"; "Käln"; "Köln" |] (what + ": three cities")
            }
            test "pandas' default NA spellings are missing, and a numeric column with another spelling is an error, not a one-hot" {
                // pandas.read_csv's default na_values (its documentation, pandas 2.x): "", "#N/A", "#N/A N/A", "#NA", "-1.#IND",
                // "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null";
                // all but "None", a category in many tables (below).
                for spelling in [ "#N/A"; "#N/A N/A"; "#NA"; "-1.#IND"; "-1.#QNAN"; "-NaN"; "-nan"; "1.#IND"; "1.#QNAN"; "<NA>"; "N/A"; "NA"; "NULL"; "NaN"; "n/a"; "nan"; "null"; "?" ] do
                    let d = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) (sprintf "a,b,y\n1,2,3\n%s,4,5\n6,8,9\n" spelling)
                    Expect.equal (Dataset.categoriesOf d 0) [||] (spelling + ": the column stays numeric")
                    Expect.isTrue (Double.IsNaN d.Features.[1, 0]) (spelling + ": missing")
                    Expect.equal (d.Features.[0, 0], d.Features.[2, 0]) (1.0, 6.0) (spelling + ": the numbers")
                // The review's case: randhie's first 2,000 rows with 200 of disea's cells N/A (every 10th row), read with Missing
                // Mean: disea is numeric with 200 missing cells, no longer "disea (13 categories)".
                let lines = File.ReadAllLines(Repo.path [ "tests"; "data"; "randhie.csv" ]) |> Array.truncate 2001
                let disea = Array.IndexOf(lines.[0].Split ',', "disea")
                let spell (marker: string) =
                    String.Join("\n", lines |> Array.mapi (fun i l ->
                        if i > 0 && i % 10 = 0 then String.Join(",", l.Split ',' |> Array.mapi (fun j f -> if j = disea then marker else f)) else l)) + "\n"
                let options = (CsvOptions.Default.WithTarget "mdvis").WithMissing MissingPolicy.Mean
                let d = Csv.loadText options (spell "N/A")
                let j = Array.IndexOf(d.FeatureNames, "disea")
                Expect.equal (Dataset.categoriesOf d j) [||] "disea is numeric"
                Expect.equal (Seq.init d.SampleCount (fun i -> d.Features.[i, j]) |> Seq.filter Double.IsNaN |> Seq.length) 200 "200 missing cells"
                // The same with "n.a.", which no default marker spells: 1,800 numbers and one spelling without a digit (10 %, more
                // than the 1 in 20 of a numeric-looking column) is an error naming it and the option, the first at line 11.
                csvError options (spell "n.a.") 11
                    [ "column 'disea': 'n.a.' is not a number, though 1800 of the column's 2000 values are, and the others are 'n.a.' (200 cells) only"
                      "declare it missing with MissingMarkers (CLI: --missing-values)"; "name it in TextColumns" ] |> ignore
                let declared = Csv.loadText (options.WithMissingMarkers [| "n.a." |]) (spell "n.a.")
                Expect.equal (Dataset.categoriesOf declared j) [||] "declared missing: numeric"
                Expect.equal (Dataset.categoriesOf (Csv.loadText (options.WithTextColumns [| "disea" |]) (spell "n.a.")) j |> Array.contains "n.a.") true "named text: text"
                // Spellings with a digit ("5+") or more than 3 spellings are categories as before: text, no error.
                let mixed (values: string list) = "x,y\n" + String.Join("", values |> List.mapi (fun i v -> sprintf "%s,%d\n" v (i % 2)))
                Expect.equal (Dataset.categoriesOf (Csv.loadText CsvOptions.Default (mixed [ "1"; "2"; "3"; "5+"; "1"; "2"; "5+" ])) 0) [| "1"; "2"; "3"; "5+" |] "5+ has a digit"
                Expect.equal (Dataset.categoriesOf (Csv.loadText CsvOptions.Default (mixed [ "1"; "2"; "3"; "4"; "5"; "6"; "a"; "b"; "c"; "d" ])) 0).Length 10 "4 spellings"
                // "None" (a house-prices table's masonry veneer type, a severity none/mild/severe) is a category by default.
                Expect.equal (Dataset.categoriesOf (Csv.loadText CsvOptions.Default "veneer,y\nBrkFace,1\nNone,2\nStone,3\nnone,1\n") 0)
                    [| "BrkFace"; "None"; "Stone"; "none" |] "None and none are categories"
                // A text column whose category is spelled like a new marker: the error says how to keep it, and a list without it does.
                csvError CsvOptions.Default "veneer,y\nBrkFace,1\nN/A,2\nStone,3\n" 3
                    [ "the value is missing ('N/A')"; "if 'N/A' is a value here, not a missing one, set MissingMarkers to a list without it (CLI: --missing-values)" ] |> ignore
                let kept = Csv.loadText (CsvOptions.Default.WithMissingMarkers [| "NA" |]) "veneer,y\nBrkFace,1\nN/A,2\nStone,3\n"
                Expect.equal (Dataset.categoriesOf kept 0) [| "BrkFace"; "N/A"; "Stone" |] "N/A is a category"
                // The writer quotes the new markers as it quotes NA, so that a category N/A reads back as text.
                Expect.equal (Csv.loadText CsvOptions.Default (Csv.ofDataset kept)).Categories.[0] [| "BrkFace"; "N/A"; "Stone" |] "written and read back"
            }
            test "a lone surrogate is an error naming the parameter and the place, not .NET's 'invalid Unicode code points' of 'source'" {
                // U+D800 alone is half of a UTF-16 pair; String.Normalize raises ArgumentException (ParamName "source") on it.
                let lone = string (char 0xD800)
                let x = Array2D.init 6 2 (fun i j -> float (i + j))
                expectArgument "labels" [ "labels[4] holds a lone surrogate, U+D800 at character 1" ]
                    (fun () -> FunctionalNN.Dataset.FromArrays(x, [| "a"; "b"; "a"; "b"; "c" + lone; "a" |]) |> ignore) |> ignore
                expectArgument "featureNames" [ "featureNames[0] holds a lone surrogate, U+D800 at character 1" ]
                    (fun () -> FunctionalNN.Dataset.FromArrays(x, [| "a"; "b"; "a"; "b"; "a"; "b" |], [| "f" + lone; "g" |]) |> ignore) |> ignore
                expectArgument "targetName" [ "targetName holds a lone surrogate" ]
                    (fun () -> FunctionalNN.Dataset.FromArrays(x, [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |], null, "y" + lone) |> ignore) |> ignore
                expectArgument "classNames" [ "classNames[1] holds a lone surrogate" ]
                    (fun () -> FunctionalNN.Dataset.ParseCsv("a,y\n1,x\n2,y\n", classNames = [| "x"; "y" + lone |]) |> ignore) |> ignore
                // CSV text: a DataFormatException naming the line and the field, in a cell, a label and a header name.
                for text, line, field in [ "a,y\nx,1\n" + lone + ",2\nx,3\n", 3, 1; "a,y\n1,x\n2,\"" + string (char 0xDC00) + "\"\n", 3, 2; "a" + lone + ",y\n1,x\n", 1, 1 ] do
                    match Expect.throwsC (fun () -> FunctionalNN.Dataset.ParseCsv(text) |> ignore) id with
                    | :? FunctionalNN.DataFormatException as e ->
                        Expect.equal e.Line line "the line"
                        Expect.stringContains e.Message (sprintf "Line %d, field %d holds a lone surrogate" line field) "the message"
                    | e -> failtestf "expected DataFormatException, got %O" e
                // A name given for a column is looked up as written: no such column.
                match Expect.throwsC (fun () -> FunctionalNN.Dataset.ParseCsv("a,y\n1,x\n", target = "y" + lone) |> ignore) id with
                | :? FunctionalNN.DataFormatException as e -> Expect.stringContains e.Message "There is no target column" "not found"
                | e -> failtestf "expected DataFormatException, got %O" e
                // A surrogate pair (U+1F600) is a character: read as written.
                let d = Csv.loadText CsvOptions.Default "a,y\n\U0001F600,1\nb,2\n"
                Expect.equal (Dataset.categoriesOf d 0) [| "b"; "\U0001F600" |] "the pair is one category"
            }
            test "European numbers with thousands separators (1.234,5) are the decimal-comma error, not text categories" {
                // A ';' file as a German spreadsheet saves it: '.' between thousands, ',' before the decimals.
                csvError CsvOptions.Default "x;label\n1.234,5;a\n2,5;b\n12.345.678,25;a\n7;b\n1.000;a\n" 2
                    [ "column 'x': '1.234,5' is a number written with a decimal comma and '.' between thousands, as are the column's other values (5 in all; whole numbers aside)"
                      "Save the file with a decimal point and no thousands separator" ] |> ignore
                // A regression target so written: the not-a-finite-number error gives the same advice.
                csvError (CsvOptions.Default.WithTargetKind TargetKind.Regression) "x;y\n1;1.234,5\n2;2\n" 2
                    [ "'1.234,5' is not a finite number (it is written with a decimal comma and '.' between thousands" ] |> ignore
                // Groups of other than 3 digits are no thousands: text, as before.
                for column in [ [ "1.23,5"; "2,5" ]; [ "1234.567,5"; "2,5" ]; [ "1.2345,5"; "2,5" ] ] do
                    let text = "x;label\n" + String.Join("", column |> List.mapi (fun i v -> sprintf "%s;%s\n" v (if i % 2 = 0 then "a" else "b")))
                    Expect.equal (Csv.loadText CsvOptions.Default text).Categories.[0] (column |> List.toArray |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))) (sprintf "%A: text" column)
            }
            test "messages count in the singular for one: a ragged row of 1 field, a model file of 1 byte" {
                csvError CsvOptions.Default "a,b\n1\n" 2 [ "Line 2 has 1 field but the header has 2 columns" ] |> ignore
                csvError CsvOptions.Default "a\n1,2\n" 2 [ "Line 2 has 2 fields but the header has 1 column" ] |> ignore
                match Expect.throwsC (fun () -> ModelContainer.read [| 0uy |] |> ignore) id with
                | :? ModelFormatException as e -> Expect.stringContains e.Message "The file is 1 byte long" "one byte"
                | e -> failtestf "expected ModelFormatException, got %O" e
            }
        ]
    ]
