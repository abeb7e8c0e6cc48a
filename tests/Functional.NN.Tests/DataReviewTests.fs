/// The defects of the data-pipeline review (data-review.md, reproduced on 5904817), one test per
/// behaviour fixed: the quote, non-finite spellings, fnn train --features, FillMissing, the
/// writer's numeric-looking categories, names at the C# and CLI surface, the "nothing to learn"
/// check after the validation split, and column names in another Unicode form. Each expected value
/// says where it comes from.
module Functional.NN.Tests.DataReviewTests

open System
open System.IO
open Expecto
open Functional.NN
open Functional.NN.Tests.Expectations


let private column (d: Dataset) (j: int) = d.Features.Column(j).ToArray()

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "fnn-review-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private fnn (dir: string) (args: string list) = Repo.runFnn dir args (TimeSpan.FromSeconds 120.0)

/// A failing fnn run: exit code 1 and one stderr line holding each fragment.
let private fnnError (dir: string) (args: string list) (fragments: string list) =
    let code, _, err = fnn dir args
    Expect.equal code 1 (sprintf "exit code (stderr: %s)" err)
    Expect.equal (err.Trim().Split('\n').Length) 1 (sprintf "one line on stderr: %s" err)
    for f in fragments do Expect.stringContains err f "stderr"
    err

/// The review's apos.csv: apostrophes at the start of one field and the end of another, no '"'.
let private apos = "album,year\n'90s hits,1999\nRubber Soul,1965\nSgt. Pepper,1967\nThe Beatles',1968\nAbbey Road,1969\nLet It Be,1970\n"

[<Tests>]
let tests =
    testList "Data review" [
        test "1. the quote is '\"' by default: apostrophes never merge rows; an explicit quote ' still works" {
            // Python: list(csv.reader(io.StringIO(apos))) gives the header and 6 rows, the apostrophes kept in the fields.
            let d = Csv.loadText CsvOptions.Default apos
            Expect.equal d.SampleCount 6 "six rows, as Python's csv module reads"
            Expect.equal (Dataset.categoriesOf d 0) [| "'90s hits"; "Abbey Road"; "Let It Be"; "Rubber Soul"; "Sgt. Pepper"; "The Beatles'" |] "the albums as written (ordinal order, by hand)"
            // Unpaired apostrophes ('tis, rock 'n') read as text, not "a quoted field is never closed".
            let t = Csv.loadText CsvOptions.Default "song,y\n'tis so,a\nrock 'n' roll,b\nx,a\n"
            Expect.equal (Dataset.categoriesOf t 0) [| "'tis so"; "rock 'n' roll"; "x" |] "unpaired apostrophes are characters"
            // A file quoting with ': the quote set explicitly reads 'Smith, J' as one field; without it, an error naming the option.
            let smith = "name,x,y\n'Smith, J',1,a\n'Doe, K',2,b\n'Smith, J',3,a\n"
            let q = Csv.loadText (CsvOptions.Default.WithQuote '\'') smith
            Expect.equal (Dataset.categoriesOf q 0) [| "Doe, K"; "Smith, J" |] "Quote = ' reads the commas inside"
            csvError CsvOptions.Default smith 2 [ "Line 2 has 4 fields"; "--quote \"'\"" ] |> ignore
        }
        test "1. fnn train reads apos.csv's 6 rows, and --quote \"'\" reads a file quoted with '" {
            let dir = tempDir ()
            try
                // The year as the target (numbers: regression); the text the album. 6 rows by Python's csv module.
                File.WriteAllText(Path.Combine(dir, "apos.csv"), apos)
                let code, out, err = fnn dir [ "train"; "--data"; "apos.csv"; "--epochs"; "2"; "--test-fraction"; "0.3" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "data: apos.csv, 6 rows" "all six rows are read"
                File.WriteAllText(Path.Combine(dir, "smith.csv"), "name,x,y\n'Smith, J',1,a\n'Doe, K',2,b\n'Smith, J',3,a\n'Doe, K',4,b\n")
                let code, out, err = fnn dir [ "train"; "--data"; "smith.csv"; "--quote"; "'"; "--epochs"; "2"; "--test-fraction"; "0.5" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "data: smith.csv, 4 rows, 2 features" "one name field per row"
                fnnError dir [ "train"; "--data"; "smith.csv"; "--epochs"; "2" ] [ "Line 2 has 4 fields"; "use --quote \"'\"" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "2. inf, -inf, +INF are non-finite numbers: the Infinity error (line and column), never text categories or classes" {
            // A column of 10 numbers with one inf (np.savetxt('%g') of [1..9, inf] writes 'inf'): by hand, line 8 holds it.
            let xs = [| "1"; "2"; "3"; "4"; "5"; "6"; "inf"; "8"; "9"; "10" |]
            let text = "x,y\n" + String.Join("", xs |> Array.mapi (fun i x -> sprintf "%s,%d\n" x (i % 2)))
            csvError CsvOptions.Default text 8 [ "Line 8, column 'x': 'inf' is not a finite number" ] |> ignore
            csvError CsvOptions.Default (text.Replace("inf", "-inf")) 8 [ "'-inf' is not a finite number" ] |> ignore
            csvError CsvOptions.Default (text.Replace("inf", "+INF")) 8 [ "'+INF' is not a finite number" ] |> ignore
            // A target with inf among numbers: the same error, not a 3-class classification.
            let target = "x,y\n1,0.5\n2,1.5\n3,inf\n4,2.5\n"
            csvError CsvOptions.Default target 4 [ "Line 4, column 'y': 'inf' is not a finite number" ] |> ignore
            // nan is a missing-value marker by default (NaN, compared ignoring case); without it, the same error as inf.
            let d = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) "x,y\n1,a\nnan,b\n3,a\n"
            Expect.isTrue (Double.IsNaN (column d 0).[1]) "nan is missing by default"
            csvError (CsvOptions.Default.WithMissingMarkers [| "NA" |]) "x,y\n1,a\n2,b\nnan,a\n" 4 [ "'nan' is not a finite number" ] |> ignore
        }
        test "3. fnn train --features reads only those columns and the target: an unused column neither blocks nor drops rows" {
            let dir = tempDir ()
            try
                // notes empty in every other row; size and label whole: 40 rows, by construction.
                let rows = [ for i in 0 .. 39 -> sprintf "%s,%d,%s" (if i % 2 = 0 then "" else "note") i (if i % 2 = 0 then "a" else "b") ]
                File.WriteAllText(Path.Combine(dir, "unused.csv"), "notes,size,label\n" + String.Join("\n", rows) + "\n")
                let code, out, err = fnn dir [ "train"; "--data"; "unused.csv"; "--features"; "size"; "--epochs"; "1" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "data: unused.csv, 40 rows, 1 features" "every row, one feature"
                let code, out, err = fnn dir [ "train"; "--data"; "unused.csv"; "--features"; "size"; "--missing"; "drop"; "--epochs"; "1" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains out "data: unused.csv, 40 rows" "no row dropped for a column not used"
                let code, _, err = fnn dir [ "train"; "--data"; "unused.csv"; "--features"; "size,size"; "--epochs"; "1" ]
                Expect.equal code 2 (sprintf "a usage error (stderr: %s)" err)
                Expect.stringContains err "--features names the column 'size' twice" "names --features"
                Expect.isFalse (err.Contains "names[") "not the API's parameter"
            finally Directory.Delete(dir, true)
        }
        test "4. FillMissing fills what is missing; a text column without a missing cell is left alone, a lacking fill category added" {
            let fmt = FunctionalNN.CsvFormat(Missing = FunctionalNN.MissingValues.MostFrequent)
            let train = FunctionalNN.Dataset.ParseCsv("color,x,y\nred,1,1.5\nred,2,2.5\ngreen,,3.5\nred,4,4.5\n", format = fmt)
            // The review's case: x's fill is 1 (1, 2, 4 once each: the smallest on a tie), color has nothing to fill.
            let test = FunctionalNN.Dataset.ParseCsv("color,x,y\ngreen,,1.5\nblue,2,2.5\n", format = fmt)
            let filled = test.FillMissing train
            Expect.equal filled.Features (array2D [ [ 1.0; 1.0 ]; [ 0.0; 2.0 ] ]) "x filled with 1; color codes as read (blue 0, green 1)"
            Expect.equal filled.Categories.[0] [| "blue"; "green" |] "color unchanged"
            // An empty color where the rows lack red (train's most frequent, 3 of 4): red is added in ordinal order,
            // by hand: apple, red, zebra; the codes of zebra move from 1 to 2.
            let test2 = FunctionalNN.Dataset.ParseCsv("color,x,y\n,1,1.5\nzebra,2,2.5\napple,4,1\n", format = fmt)
            let filled2 = test2.FillMissing train
            Expect.equal filled2.Categories.[0] [| "apple"; "red"; "zebra" |] "red added"
            Expect.equal (Array.init 3 (fun i -> filled2.CellText(i, 0))) [| "red"; "zebra"; "apple" |] "each cell's text"
        }
        test "5. a text column whose categories look like numbers round-trips through SaveCsv and LoadCsv, the target too" {
            let fmt = FunctionalNN.CsvFormat(TextColumns = [| "zip" |])
            // The target quoted in every cell: the class names 01 and 2 as written (the target rule's clause for quoted numbers).
            let d = FunctionalNN.Dataset.ParseCsv("zip,x,y\n007,1.5,\"01\"\n10,2,\"2\"\n2,3,\"01\"\n", format = fmt)
            Expect.equal d.Categories.[0] [| "007"; "10"; "2" |] "as read (ordinal order, by hand)"
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "zip.csv")
                d.SaveCsv path
                let back = FunctionalNN.Dataset.LoadCsv path
                Expect.equal back.Categories.[0] [| "007"; "10"; "2" |] (sprintf "categories read back (file:\n%s)" (File.ReadAllText path))
                Expect.equal back.Features d.Features "codes read back"
                Expect.equal back.ClassNames [| "01"; "2" |] "class names read back"
                Expect.equal back.Labels d.Labels "labels read back"
                // Without the numeric column every cell would be quoted: such a file reads as one that quotes every field
                // (PostgreSQL's FORCE_QUOTE *), so the writer refuses it rather than write what reads back otherwise.
                let onlyQuoted = FunctionalNN.Dataset.ParseCsv("zip,y\n007,\"01\"\n10,\"2\"\n2,\"01\"\n", format = fmt)
                Expectations.expectArgument "data" [ "'zip'"; "every cell" ] (fun () -> onlyQuoted.SaveCsv path) |> ignore
                // F#: loadText (ofDataset d) is d's reading again.
                let again = Csv.loadText CsvOptions.Default (Csv.ofDataset (Csv.loadText (CsvOptions.Default.WithTextColumns [| "zip" |]) "zip,y\n007,a\n10,b\n2,a\n"))
                Expect.equal (Dataset.categoriesOf again 0) [| "007"; "10"; "2" |] "loadText reads ofDataset's text back"
            finally Directory.Delete(dir, true)
        }
        test "6. names at the C# surface: SplitStratified of 1 row, a line-end separator, an unknown targetKind" {
            let one = FunctionalNN.Dataset.FromArrays(array2D [ [ 1.0 ] ], [| 2.0 |])
            let e = Expect.throwsC (fun () -> one.SplitStratified(0.5, 1L) |> ignore) id
            Expect.isTrue (e :? InvalidOperationException) (sprintf "the data set's state, not an argument n: %s %s" (e.GetType().Name) e.Message)
            Expect.stringContains e.Message "has 1" "names the row count"
            let sep = Expectations.expectArgument "format" [ "'\\n'"; "Separator" ] (fun () ->
                FunctionalNN.Dataset.ParseCsv("a,b\n1,2\n", format = FunctionalNN.CsvFormat(Separator = Nullable '\n')) |> ignore)
            Expect.isFalse (sep.Message.Contains "\n") (sprintf "one line: %s" sep.Message)
            Expectations.expectArgument "targetKind" [ "42" ] (fun () ->
                FunctionalNN.Dataset.ParseCsv("a,b\n1,2\n3,4\n", targetKind = enum<FunctionalNN.TargetKind> 42) |> ignore) |> ignore
        }
        test "6. fnn train names --validation-fraction and --test-fraction, and advises what it offers" {
            let dir = tempDir ()
            try
                // 3 rows, classes a a b: the test part takes one a, the 2 training rows (a, b) leave no validation row.
                File.WriteAllText(Path.Combine(dir, "n3c.csv"), "x,y\n1,a\n2,a\n3,b\n")
                let err = fnnError dir [ "train"; "--data"; "n3c.csv"; "--validation-fraction"; "0.5"; "--epochs"; "1" ] [ "--validation-fraction 0.5" ]
                Expect.isFalse (err.Contains "ValidationFraction") "not the library's property"
                // 2 rows of 2 classes: no test row; the advice names what fnn offers, not a plain shuffled split.
                File.WriteAllText(Path.Combine(dir, "n2c.csv"), "x,y\n1,a\n2,b\n")
                let err = fnnError dir [ "train"; "--data"; "n2c.csv"; "--epochs"; "1" ] [ "--test-fraction"; "add rows" ]
                Expect.isFalse (err.Contains "shuffled") "no split fnn does not offer"
            finally Directory.Delete(dir, true)
        }
        test "7. fnn train checks the rows trained on, after the validation split, for something to learn" {
            let dir = tempDir ()
            try
                // 3 regression rows: 1 test row, 2 training rows, 1 of them held out for validation: one row to learn from.
                File.WriteAllText(Path.Combine(dir, "n3r.csv"), "x,y\n1,1.5\n2,2.5\n3,3.5\n")
                fnnError dir [ "train"; "--data"; "n3r.csv"; "--validation-fraction"; "0.5"; "--epochs"; "1" ]
                    [ "the only training row"; "--validation-fraction 0.5"; "nothing to learn" ] |> ignore
            finally Directory.Delete(dir, true)
        }
        test "8. column names match after Unicode normalisation (NFC), as class names do" {
            // The header's café in NFD (e + U+0301); the target and a feature named in NFC (é, U+00E9).
            let text = "x,cafe\u0301,z\n1,a,3\n2,b,4\n3,a,5\n"
            let d = Csv.loadText (CsvOptions.Default.WithTarget "caf\u00e9") text
            Expect.equal d.TargetName "cafe\u0301" "the target found, named as the header spells it"
            Expect.equal d.ClassNames [| "a"; "b" |] "its classes"
            let f = Csv.loadText (CsvOptions.Default.WithFeatures [| "caf\u00e9" |]) text
            Expect.equal f.FeatureNames [| "cafe\u0301" |] "a feature by its NFC name"
        }
    
        testList "the review of the fixes" [
            test "an all-quoted numeric export with bare NULL markers reads as numbers (MySQL's \\N, PostgreSQL's NA)" {
                // MySQL's INTO OUTFILE ... ENCLOSED BY '"' quotes every cell but writes NULL as a bare \N; the quotes say
                // nothing, so a and b are numbers. b's mean fill is (2 + 4 + 1) / 3 (by hand).
                let mysql = "a,b,y\n\"1.5\",\"2\",\"0.5\"\n\"2.5\",\\N,\"1.5\"\n\"3.5\",\"4\",\"2.5\"\n\"4\",\"1\",\"3\"\n"
                let d = Csv.loadText (CsvOptions.Default.WithMissingMarkers([| "\\N" |]).WithMissing MissingPolicy.Mean) mysql
                Expect.equal (Dataset.categoriesOf d 0, Dataset.categoriesOf d 1) ([||], [||]) "no text columns"
                Expect.equal (d.Features.Column(0).ToArray()) [| 1.5; 2.5; 3.5; 4.0 |] "a"
                let b = d.Features.Column(1).ToArray()
                Expect.equal (b.[0], b.[2], b.[3]) (2.0, 4.0, 1.0) "b"
                Expect.isTrue (Double.IsNaN b.[1]) "b's \\N is missing (NaN until filled), not the text \\N"
                let pg = Csv.loadText (CsvOptions.Default.WithMissing MissingPolicy.Mean) (mysql.Replace("\\N", "NA"))
                Expect.equal (Dataset.categoriesOf pg 1) [||] "a bare NA among quoted numbers (PostgreSQL FORCE_QUOTE *)"
            }
            test "numbers between apostrophes under the quote \" are an error naming the option, not text categories" {
                // A file quoted with ': read with ", '1.5' would be the category '1.5' with its apostrophes.
                let text = "a,b,y\n'1.5','2',x\n'2.5','3',y\n'3.5','1',x\n'4.5','0',y\n"
                csvError CsvOptions.Default text 2 [ "column 'a'"; "'1.5'"; "--quote \"'\""; "TextColumns" ] |> ignore
                // Read with Quote = ', a file that quotes every field says nothing by its quotes: numbers, classes x and y.
                let q = Csv.loadText (CsvOptions.Default.WithQuote '\'') "a,b,y\n'1.5','2','x'\n'2.5','3','y'\n'3.5','1','x'\n'4.5','0','y'\n"
                Expect.equal (q.Features.Column(0).ToArray()) [| 1.5; 2.5; 3.5; 4.5 |] "read with Quote = '"
                Expect.equal q.ClassNames [| "x"; "y" |] "the classes without their quotes"
                let t = Csv.loadText (CsvOptions.Default.WithTextColumns [| "a"; "b" |]) text
                Expect.equal (Dataset.categoriesOf t 1) [| "'0'"; "'1'"; "'2'"; "'3'" |] "named text: the values as written"
                csvError CsvOptions.Default "a,y\n1,'1'\n2,'2'\n3,'1'\n" 2 [ "the target"; "--quote" ] |> ignore
            }
            test "a text column quoted in every cell, mostly numbers, round-trips through SaveCsv and LoadCsv" {
                // 20 numeric-looking codes and one 'x': the writer quotes the column's every cell, the reader reads it back as text.
                let text = "code,v,y\n" + String.Join("", [ for i in 1 .. 20 -> sprintf "%d,%g,%d\n" i (float i * 0.5) (i % 2) ]) + "x,3.5,1\n"
                let d = Csv.loadText (CsvOptions.Default.WithTextColumns [| "code" |]) text
                let back = Csv.loadText CsvOptions.Default (Csv.ofDataset d)
                Expect.equal (Dataset.categoriesOf back 0) (Dataset.categoriesOf d 0) "the categories read back"
                Expect.equal back.Features d.Features "the codes read back"
            }
        ]
    ]
