/// The README's quick starts cannot rot: its C# block is tests/QuickStart.CSharp/Program.cs (which
/// this project compiles and runs), and its F# block is scripts/quickstart.fsx after the script's
/// `#load` line (which the script tests run).
module Functional.NN.Tests.ReadmeTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto

let private normalise (s: string) = s.Replace("\r\n", "\n").Trim()

/// The fenced blocks of a language in the README, in order.
let blocks (language: string) =
    let readme = File.ReadAllText(Repo.path [ "README.md" ])
    Regex.Matches(normalise readme, "```" + language + "\n(.*?)\n```", RegexOptions.Singleline)
    |> Seq.map (fun m -> normalise m.Groups.[1].Value)
    |> List.ofSeq

[<Tests>]
let tests =
    testList "README" [
        test "the C# quick start is tests/QuickStart.CSharp/Program.cs" {
            let program = normalise (File.ReadAllText(Repo.path [ "tests"; "QuickStart.CSharp"; "Program.cs" ]))
            Expect.contains (blocks "csharp") program "the README's first C# block is the quick start project's Program.cs"
        }
        test "the F# quick start is scripts/quickstart.fsx" {
            let script = File.ReadAllLines(Repo.path [ "scripts"; "quickstart.fsx" ])
            Expect.equal script.[0] "#load \"load.fsx\"" "the script's first line loads the core"
            let body = normalise (String.Join("\n", script.[1..]))
            Expect.contains (blocks "fsharp") body "an F# block of the README is the script after its #load line"
        }
        test "the data quick starts are tests/DataQuickStart.CSharp/Program.cs and scripts/data-quickstart.fsx" {
            let program = normalise (File.ReadAllText(Repo.path [ "tests"; "DataQuickStart.CSharp"; "Program.cs" ]))
            Expect.contains (blocks "csharp") program "a C# block of the README is the data quick start's Program.cs"
            let script = File.ReadAllLines(Repo.path [ "scripts"; "data-quickstart.fsx" ])
            Expect.equal script.[0] "#load \"load.fsx\"" "the script's first line loads the core"
            Expect.contains (blocks "fsharp") (normalise (String.Join("\n", script.[1..]))) "an F# block of the README is the script after its #load line"
        }
        test "every page the README links exists" {
            let readme = File.ReadAllText(Repo.path [ "README.md" ])
            for m in Regex.Matches(readme, @"\]\(([^)#]+)\)") do
                let target = m.Groups.[1].Value
                Expect.isTrue (File.Exists(Repo.path [ target ])) (sprintf "%s exists" target)
        }
        test "no Markdown table of the README or the docs is split by a blank line" {
            // A blank line ends a Markdown table: rows after it render as a paragraph of pipes
            // (the README's Documentation table lost its last four rows that way). A table row, a
            // blank line and then a row that does not start a new table (whose next line would be
            // the |---| separator) is such a split.
            let pages = Repo.path [ "README.md" ] :: Repo.path [ "bench"; "README.md" ] :: Repo.path [ "scripts"; "README.md" ] :: List.ofArray (Directory.GetFiles(Repo.path [ "docs" ], "*.md"))
            let isRow (line: string) = line.TrimStart().StartsWith "|"
            let isSeparator (line: string) = Regex.IsMatch(line.Trim(), @"^\|[-|: ]+\|$")
            for page in pages do
                let lines = File.ReadAllLines page
                for i in 1 .. lines.Length - 2 do
                    if String.IsNullOrWhiteSpace lines.[i] && isRow lines.[i - 1] && isRow lines.[i + 1]
                       && not (i + 2 < lines.Length && isSeparator lines.[i + 2]) then
                        failtestf "%s, line %d: a blank line splits a table (the rows after it are not part of it)" (Path.GetFileName page) (i + 1)
        }
        test "the C# quick start runs and learns XOR" {
            let entry = Reflection.Assembly.Load("QuickStart.CSharp").EntryPoint
            let saved = Console.Out
            use capture = new StringWriter()
            Console.SetOut capture
            try entry.Invoke(null, [| box ([||]: string[]) |]) |> ignore
            finally Console.SetOut saved
            let out = capture.ToString()
            Expect.stringContains out "XOR predictions: 0.00 1.00 1.00 0.00" (sprintf "output:\n%s" out)
        }
    ]
