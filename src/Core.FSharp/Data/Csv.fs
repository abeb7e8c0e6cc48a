namespace Functional.NN

open System
open System.Collections.Generic
open System.Globalization
open System.IO
open System.Text
open MathNet.Numerics.LinearAlgebra

/// A CSV file that cannot be turned into a data set. The message names the line (1 is the
/// first line of the file), the column and the offending text (quoted at most
/// `Csv.maxQuotedChars` characters); the same facts are in the properties.
type DataFormatException(message: string, line: int, column: string) =
    inherit Exception(message)
    /// The line of the file, from 1; 0 when the error is not about one line.
    member _.Line = line
    /// The column's name ("" when the error is not about one column).
    member _.Column = column

/// How the target column of a CSV file is read.
[<RequireQualifiedAccess>]
type TargetKind =
    /// By the stated rule (TargetRule): text, or integers with few distinct values that each
    /// occur several times, are classes; other numbers are a regression target. Numbers quoted in
    /// every target cell (in a file that does not quote every field) are class names, as
    /// `Csv.ofDataset` writes numeric class names; numbers the rule reads as classes get one class
    /// per value ("1.0" and "1" are the class "1").
    | Auto
    /// Numbers, one per row (an error names the first row that is not a number).
    | Regression
    /// Class names, whatever they look like ("0" .. "9" are class names too). When every label is
    /// an unquoted number a double holds exactly, they get one class per value, spelled as under
    /// Auto ("1.0" and "1" are the class "1"); numbers quoted in every target cell keep their
    /// spelling ("007"), and so do labels of 17 or more digits, which a double would merge.
    | Classification

/// What `Csv.load` reads from a CSV file.
type CsvOptions =
    { /// The target column's name (None: the last column).
      Target: string option
      /// How the target is read.
      TargetKind: TargetKind
      /// The feature columns, in this order (None: every column but the target); a column named
      /// twice, or the target among them, is refused.
      Features: string[] option
      /// The known class names in index order (a model's): a label outside them is an error. A
      /// numeric label that is not a class name matches the one class name of the same value
      /// ("1.0" is the class "1").
      /// None: the classes are the distinct labels, sorted (numerically when all are numbers).
      ClassNames: string[] option
      /// When false the file need not have the target column: the data set's target is empty
      /// (for prediction).
      RequireTarget: bool
      /// The field separator (None: detected from the file among ',', ';' and tab).
      Separator: char option
      /// The quote character (None: '"', as RFC 4180 and Python's csv module; never guessed from the
      /// file, so an apostrophe in a field ('90s, rock 'n' roll) is a character of it). A file that
      /// quotes fields with '\'' is read with Quote = Some '\''.
      Quote: char option
      /// False when the first line is data: the columns are then named column1 .. columnN.
      HasHeader: bool
      /// The texts that mean a missing value besides the empty field (compared ignoring case
      /// and surrounding spaces). Default: pandas' default NA spellings and ?: NA, N/A, NaN, -NaN,
      /// null, #N/A, #N/A N/A, #NA, <NA>, 1.#IND, -1.#IND, 1.#QNAN, -1.#QNAN, ? (`CsvOptions.Default`).
      /// A quoted marker is text, unless the file quotes every field (Python's csv.QUOTE_ALL): then
      /// it is missing too.
      MissingMarkers: string[]
      /// What to do with missing values: an error (default), drop the rows, or keep them as
      /// NaN for the pipeline to impute (a missing target always drops its row then). The data
      /// set's `Dropped` says which rows were dropped and for which columns.
      Missing: MissingPolicy
      /// Feature columns read as text categories even when they hold numbers (a model's text
      /// columns); each must name a column of the file.
      TextColumns: string[] }
    /// The last column is the target, Auto kind, every other column a feature, the separator
    /// detected, the quote '"', a header row, missing values an error; the missing-value markers
    /// pandas' read_csv takes by default (its list, "NULL" and "null" or "N/A" and "n/a" one marker
    /// here since markers ignore case) but "None", and "?" (as the UCI repository's files write it).
    /// "None" is a category in many tables (a house-prices table's masonry veneer type, a severity
    /// none/mild/severe), and ignoring case would take "none" too: add it to the markers where it
    /// means missing.
    static member Default =
        { Target = None; TargetKind = TargetKind.Auto; Features = None; ClassNames = None; RequireTarget = true
          Separator = None; Quote = None; HasHeader = true
          MissingMarkers =
            [| "NA"; "N/A"; "NaN"; "-NaN"; "null"; "#N/A"; "#N/A N/A"; "#NA"; "<NA>"
               "1.#IND"; "-1.#IND"; "1.#QNAN"; "-1.#QNAN"; "?" |]
          Missing = MissingPolicy.Error; TextColumns = [||] }
    /// A copy with the target column's name (ArgumentException, ParamName "Target", for null or blank).
    member this.WithTarget(name: string) =
        if String.IsNullOrWhiteSpace name then Check.fail "Target" "Target is null or blank; give the target column's name."
        { this with Target = Some name }
    /// A copy with the target kind.
    member this.WithTargetKind(kind) = { this with TargetKind = kind }
    /// A copy with the feature columns.
    member this.WithFeatures(names: string[]) = { this with Features = Some (CsvOptions.CheckNames "Features" names) }
    /// A copy with known class names (a model's).
    member this.WithClassNames(names: string[]) =
        let names = CsvOptions.CheckNames "ClassNames" names
        let seen = HashSet<string>(StringComparer.Ordinal)
        names |> Array.iteri (fun i n ->
            Check.unicodeText "ClassNames" (sprintf "ClassNames[%d]" i) n
            let key = Check.nfc n
            if not (seen.Add key) then Check.fail "ClassNames" (sprintf "ClassNames[%d] = '%s' appears more than once; each class name must be distinct." i n))
        { this with ClassNames = Some names }
    /// A copy that does (true) or does not (false) require the target column.
    member this.WithRequireTarget(require) = { this with RequireTarget = require }
    /// A copy with a set separator.
    member this.WithSeparator(separator: char) = { this with Separator = Some separator }
    /// A copy with a set quote character.
    member this.WithQuote(quote: char) = { this with Quote = Some quote }
    /// A copy with (true) or without (false) a header row.
    member this.WithHeader(hasHeader: bool) = { this with HasHeader = hasHeader }
    /// A copy with other missing-value markers (the empty field is always missing).
    member this.WithMissingMarkers(markers: string[]) = { this with MissingMarkers = CsvOptions.CheckNames "MissingMarkers" markers }
    /// A copy with another missing-value policy.
    member this.WithMissing(policy: MissingPolicy) = { this with Missing = policy }
    /// A copy with columns read as text categories.
    member this.WithTextColumns(names: string[]) = { this with TextColumns = CsvOptions.CheckNames "TextColumns" names }
    /// A copy of an option's array of names, checked: the array and each entry non-null
    /// (ArgumentException with ParamName `option`, naming the index).
    static member CheckNames (option: string) (names: string[]) : string[] =
        if isNull names then Check.fail option (sprintf "%s is null; give an array (it may be empty)." option)
        names |> Array.iteri (fun i n -> if isNull n then Check.fail option (sprintf "%s[%d] is null; every entry must be a text." option i))
        Array.copy names

/// A parsed CSV file: the header and the rows of text, each row with its line number.
type CsvTable =
    { /// The column names.
      Header: string[]
      /// The fields of each data row (as many as the header has names).
      Rows: string[][]
      /// The file line (from 1) on which each row starts.
      Lines: int[]
      /// For each row, whether each field was quoted (empty when no field of the row was): a
      /// quoted field is a missing-value marker only in a file that quotes every field
      /// (see `Csv.toDataset`); elsewhere "NA" in quotes is the text NA.
      Quoted: bool[][]
      /// Whether each header name was quoted; empty when the file has no header line (the
      /// columns are then named column1 .. columnN).
      HeaderQuoted: bool[] }

/// CSV files (RFC 4180 with a detected separator, ',', ';' or tab; the quote '"' unless the
/// options set another, such as '\''; a quote inside a quoted field is doubled; CR, LF or CRLF line ends; a UTF-8 byte
/// order mark is skipped; a file is UTF-8, strictly, see `decode`): parsing in time and memory linear in the text's length, and turning
/// columns into numbers, text categories and missing values. Every error is a
/// DataFormatException naming the line, the column and the text, never a silent NaN or a
/// dropped row. Blank lines are skipped.
module Csv =

    /// The longest field accepted: 1,048,576 characters (a longer one is a DataFormatException).
    let maxFieldChars = 1 <<< 20

    /// The most characters of a field or name an error message quotes (the rest is counted).
    let maxQuotedChars = 80

    /// The largest regular file read: 1 GiB.
    let maxFileBytes = 1L <<< 30

    /// The most bytes read from a file that is not regular (a pipe, a device such as
    /// /dev/zero): 64 MiB.
    let maxStreamBytes = 64L <<< 20

    /// The longest error message: longer ones are cut to this many characters.
    let maxMessageChars = 1000

    /// A text as an error message quotes it: at most `maxQuotedChars` characters, then the
    /// count; line breaks written as \r and \n, so that a message is one line.
    let quoteText (s: string) =
        let oneLine (t: string) =
            if t.IndexOfAny([| '\r'; '\n' |]) < 0 then t else t.Replace("\r", "\\r").Replace("\n", "\\n")
        if isNull s then ""
        elif s.Length <= maxQuotedChars then oneLine s
        else oneLine (s.Substring(0, maxQuotedChars)) + sprintf "... (%d characters in all)" s.Length

    /// Names for a message: at most 12, quoted, then how many more.
    let private nameList (names: string[]) =
        let shown = names |> Array.truncate 12 |> Array.map quoteText
        let text = String.Join(", ", shown)
        if names.Length > 12 then text + sprintf ", ... (%d columns in all)" names.Length else text

    let private fail line column (message: string) : 'a =
        let message = if message.Length > maxMessageChars then message.Substring(0, maxMessageChars) + "..." else message
        raise (DataFormatException(message, line, quoteText column))

    /// The separator of a text: among ',', ';' and tab, the one that appears (outside quotes) in
    /// the first line and the same number of times on the most of the first 50 lines; ties go
    /// to the one with more fields. ',' when none appears.
    let detectSeparator (quote: char) (text: string) : char =
        let candidates = [| ','; ';'; '\t' |]
        let counts = List<int[]>()
        let current = Array.zeroCreate 3
        let mutable inQuotes = false
        let mutable i = 0
        let limit = min text.Length (1 <<< 20)
        let start = if text.Length > 0 && text.[0] = '\uFEFF' then 1 else 0
        i <- start
        while i < limit && counts.Count < 50 do
            let c = text.[i]
            if c = quote then inQuotes <- not inQuotes
            elif not inQuotes && (c = '\n' || c = '\r') then
                if current |> Array.exists (fun k -> k > 0) || counts.Count > 0 then counts.Add(Array.copy current)
                Array.fill current 0 3 0
                if c = '\r' && i + 1 < limit && text.[i + 1] = '\n' then i <- i + 1
            elif not inQuotes then
                for k in 0 .. 2 do
                    if c = candidates.[k] then current.[k] <- current.[k] + 1
            i <- i + 1
        if counts.Count < 50 && current |> Array.exists (fun k -> k > 0) then counts.Add(Array.copy current)
        if counts.Count = 0 then ','
        else
            let first = counts.[0]
            let score k = (counts |> Seq.filter (fun line -> line.[k] = first.[k]) |> Seq.length), first.[k]
            let best = [| 0; 1; 2 |] |> Array.filter (fun k -> first.[k] > 0) |> Array.sortByDescending score
            if best.Length = 0 then ',' else candidates.[best.[0]]

    /// Splits the text into records of fields, with the line each record starts on. Linear in
    /// the text's length: each character is looked at once; an unquoted field is cut out of the
    /// text in one piece, a quoted one is built character by character (its doubled quotes undone).
    let private records (separator: char) (quote: char) (text: string) : List<int * string[] * bool[]> =
        let result = List<int * string[] * bool[]>()
        let fields = List<string>()
        let quoted = List<bool>()
        let field = StringBuilder()
        let n = text.Length
        let mutable line = 1
        let mutable start = 1
        let mutable inQuotes = false
        let mutable wasQuoted = false
        let mutable onlySpace = true
        let mutable i = if n > 0 && text.[0] = '\uFEFF' then 1 else 0
        let mutable fieldStart = i
        let tooLong () =
            fail start "" (sprintf "Line %d, field %d: the field is longer than %d characters, the longest this reader accepts." start (fields.Count + 1) maxFieldChars)
        let append (c: char) =
            if field.Length >= maxFieldChars then tooLong ()
            field.Append(c) |> ignore
        // Ends the field that runs from fieldStart to just before index `stop`.
        let endField (stop: int) =
            quoted.Add wasQuoted
            if wasQuoted then
                fields.Add(field.ToString())
                field.Clear() |> ignore
            else
                if stop - fieldStart > maxFieldChars then tooLong ()
                fields.Add(text.Substring(fieldStart, stop - fieldStart).Trim())
            wasQuoted <- false
            onlySpace <- true
        let endRecord (stop: int) =
            endField stop
            // A blank line is no record; a lone quoted empty field ("") is one, whose field is empty (missing).
            let isBlank = fields.Count = 1 && fields.[0] = "" && not quoted.[0]
            if not isBlank then result.Add((start, fields.ToArray(), (if quoted.Contains true then quoted.ToArray() else [||])))
            fields.Clear()
            quoted.Clear()
        while i < n do
            let c = text.[i]
            // A lone surrogate (text from memory: a decoded file has none) is no character: normalising it would raise.
            if Char.IsSurrogate c
               && not (if Char.IsHighSurrogate c then i + 1 < n && Char.IsLowSurrogate text.[i + 1] else i > 0 && Char.IsHighSurrogate text.[i - 1]) then
                fail line "" (sprintf "Line %d, field %d holds a lone surrogate, U+%04X: %s." line (fields.Count + 1) (int c) Check.loneSurrogateAdvice)
            if inQuotes then
                if c = quote then
                    if i + 1 < n && text.[i + 1] = quote then
                        append quote
                        i <- i + 1
                    else inQuotes <- false
                elif c = '\r' then
                    line <- line + 1
                    append c
                    if i + 1 < n && text.[i + 1] = '\n' then
                        append '\n'
                        i <- i + 1
                else
                    if c = '\n' then line <- line + 1
                    append c
            else
                if c = quote && onlySpace && not wasQuoted then
                    field.Clear() |> ignore
                    inQuotes <- true
                    wasQuoted <- true
                    onlySpace <- false
                elif c = separator then
                    endField i
                    fieldStart <- i + 1
                elif c = '\n' || c = '\r' then
                    endRecord i
                    if c = '\r' && i + 1 < n && text.[i + 1] = '\n' then i <- i + 1
                    line <- line + 1
                    start <- line
                    fieldStart <- i + 1
                elif wasQuoted then append c // text after a closing quote belongs to the field
                else
                    if onlySpace && not (Char.IsWhiteSpace c) then onlySpace <- false
                    if i - fieldStart >= maxFieldChars then tooLong ()
            i <- i + 1
        if inQuotes then fail start "" (sprintf "Line %d: a quoted field is never closed (a %c without its closing %c)." start quote quote)
        endRecord n
        result

    /// Whether a text spells a non-finite number as NumPy, Python and C write one and .NET does not read:
    /// inf, infinity or nan with an optional sign, in any case ("inf", "-inf", "+Inf", "-nan"). (.NET reads
    /// "Infinity", "-Infinity", "NaN" and "∞" itself.)
    let private nonFiniteSpelling (s: string) =
        let t = if s.Length > 0 && (s.[0] = '-' || s.[0] = '+') then s.Substring 1 else s
        t.Equals("inf", StringComparison.OrdinalIgnoreCase) || t.Equals("infinity", StringComparison.OrdinalIgnoreCase)
        || t.Equals("nan", StringComparison.OrdinalIgnoreCase)

    /// Parses as a double, finite or not: such a cell makes a column numeric (an infinity is then an error,
    /// naming its line and column). "inf", "-inf" and "nan" (NumPy's and Python's spellings) count as numbers
    /// too, as "Infinity" and "NaN" do: a column of numbers with one inf is a numeric column with a bad cell,
    /// never a column of text categories.
    let internal parses (s: string) =
        let mutable v = 0.0
        Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, &v) || nonFiniteSpelling s

    /// The value of a text `parses` accepts: the invariant culture's reading, else the non-finite number
    /// it spells (inf as +infinity, -inf as -infinity, nan as NaN).
    let private parseAny (s: string) : float =
        let mutable v = 0.0
        if Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, &v) then v
        elif s.ToLowerInvariant().Contains "nan" then nan
        elif s.StartsWith "-" then Double.NegativeInfinity
        else Double.PositiveInfinity

    /// The quote and the separator of a text: the given ones, else '"' (never guessed: a guessed '\'' merged
    /// rows at apostrophes) and the detected separator (`detectSeparator`).
    let private dialect (separator: char option) (quote: char option) (text: string) : char * char =
        let quote = match quote with Some q -> q | None -> '"'
        quote, (match separator with Some s -> s | None -> detectSeparator quote text)

    /// Parses CSV text with a set or detected dialect. With a header: its names must be
    /// non-empty and distinct; without: the columns are named column1 .. columnN. Every row needs
    /// as many fields as the first. Raises DataFormatException for an empty text, a bad header,
    /// a ragged row (naming its line and both counts) or a field longer than `maxFieldChars`.
    let parseWith (separator: char option) (quote: char option) (hasHeader: bool) (text: string) : CsvTable =
        Check.notNull "text" text
        let quote, separator = dialect separator quote text
        // The character as a one-line message shows it: a line end or a tab escaped.
        let shown (c: char) = match c with '\n' -> "'\\n'" | '\r' -> "'\\r'" | '\t' -> "tab" | c -> sprintf "'%c'" c
        if quote = '\n' || quote = '\r' then
            Check.fail "quote" (sprintf "The quote character %s cannot be a line end." (shown quote))
        if separator = quote || separator = '\n' || separator = '\r' then
            Check.fail "separator" (sprintf "The separator %s cannot be the quote character or a line end." (shown separator))
        let all = records separator quote text
        if all.Count = 0 then fail 0 "" "The file is empty: a CSV file needs a header row and at least one data row."
        let headerLine, header, headerQuoted, first =
            if hasHeader then
                let line, names, q = all.[0]
                // A header of numbers (some fields perhaps empty) is most likely a first data row: a file without a
                // header, whose repeated or empty "names" are values. The advice is the data-set reader's warning's.
                let looksLikeData = names |> Array.exists (fun n -> n <> "") && names |> Array.forall (fun n -> n = "" || parses n)
                // An unnamed first column over named ones is what pandas' to_csv writes for the row index, also when the
                // other names are numbers (pd.DataFrame(array).to_csv() writes ",0,1,2"): that advice comes first, since
                // reading such a file without a header would take its header line for a row of data.
                let savedIndex = names.Length > 1 && names.[0] = "" && names |> Array.skip 1 |> Array.forall (fun n -> n <> "")
                let dataAdvice =
                    if looksLikeData then
                        sprintf " The header line (%s) looks like data (its fields are numbers): the file probably has no header; read it with HasHeader = false (CLI: --no-header)." (nameList names)
                    else ""
                names |> Array.iteri (fun j name ->
                    if name = "" then
                        let indexAdvice =
                            " An unnamed first column is most likely a saved row index (pandas' to_csv writes one unless called with index=False): save the file with index=False, or give the column a name in the header (and leave it out with Features, CLI: --features)."
                        let advice =
                            if j = 0 && savedIndex && looksLikeData then
                                indexAdvice + sprintf " (The header line (%s) looks like data, its other fields being numbers: only if it is a first row of data whose first value is missing, read the file with HasHeader = false, CLI: --no-header.)" (nameList names)
                            elif looksLikeData then dataAdvice
                            elif j = 0 && names.Length > 1 then indexAdvice
                            else " Every column needs a name: add it to the header."
                        fail line "" (sprintf "Line %d (the header): column %d has no name.%s" line (j + 1) advice))
                let seen = HashSet<string>(StringComparer.Ordinal)
                for name in names do
                    if not (seen.Add name) then
                        fail line name (sprintf "Line %d (the header): the column name '%s' appears more than once.%s" line (quoteText name) dataAdvice)
                line, names, (if q.Length = 0 then Array.create names.Length false else q), 1
            else
                let _, fields, _ = all.[0]
                0, Array.init fields.Length (fun j -> sprintf "column%d" (j + 1)), [||], 0
        if all.Count <= first then fail headerLine "" "The file has a header row but no data rows."
        let count = all.Count - first
        let rows = Array.zeroCreate count
        let lines = Array.zeroCreate count
        let quotedFlags = Array.zeroCreate count
        for k in 0 .. count - 1 do
            let line, fields, q = all.[first + k]
            quotedFlags.[k] <- q
            if fields.Length <> header.Length then
                // A file quoting with apostrophes, read with the default quote '"': the advice names the option.
                let apostrophes =
                    if quote = '"' && fields |> Array.exists (fun f -> f.StartsWith "'") then
                        "; if the file quotes fields with ', set the quote character to ' (Quote; CLI: --quote \"'\")"
                    else ""
                fail line "" (sprintf "Line %d has %s but the header has %s (%s); every row needs one value per column (separator '%s')%s." line (Check.counted fields.Length "field" "fields") (Check.counted header.Length "column" "columns") (nameList header) (if separator = '\t' then "tab" else string separator) apostrophes)
            rows.[k] <- fields
            lines.[k] <- line
        { Header = header; Rows = rows; Lines = lines; Quoted = quotedFlags; HeaderQuoted = headerQuoted }

    /// Parses CSV text with a header row, detecting the separator and the quote (see `parseWith`).
    let parse (text: string) : CsvTable = parseWith None None true text

    /// How a file's bytes are text: the encoding, strict (an invalid byte sequence throws, never
    /// becomes U+FFFD), the byte order mark's length, and the width of a code unit in bytes and its
    /// byte order (for counting lines in bytes the decoder refused).
    type private FileEncoding = { Encoding: Encoding; Skip: int; Width: int; BigEndian: bool }

    /// The encoding of a file's first `length` bytes by its byte order mark: UTF-32 (little-endian
    /// FF FE 00 00, big-endian 00 00 FE FF), UTF-8 (EF BB BF), UTF-16 (FF FE, FE FF); UTF-8 without
    /// a mark. The marks a StreamReader detects, in the order it tests them.
    let private encodingOf (bytes: byte[]) (length: int) : FileEncoding =
        let starts (mark: byte[]) = length >= mark.Length && Array.forall2 (=) mark bytes.[.. mark.Length - 1]
        let utf8 skip = { Encoding = UTF8Encoding(false, true); Skip = skip; Width = 1; BigEndian = false }
        if starts [| 0xFFuy; 0xFEuy; 0uy; 0uy |] then { Encoding = UTF32Encoding(false, false, true); Skip = 4; Width = 4; BigEndian = false }
        elif starts [| 0uy; 0uy; 0xFEuy; 0xFFuy |] then { Encoding = UTF32Encoding(true, false, true); Skip = 4; Width = 4; BigEndian = true }
        elif starts [| 0xEFuy; 0xBBuy; 0xBFuy |] then utf8 3
        elif starts [| 0xFFuy; 0xFEuy |] then { Encoding = UnicodeEncoding(false, false, true); Skip = 2; Width = 2; BigEndian = false }
        elif starts [| 0xFEuy; 0xFFuy |] then { Encoding = UnicodeEncoding(true, false, true); Skip = 2; Width = 2; BigEndian = true }
        else utf8 0

    /// The DataFormatException for bytes that are not text in the file's encoding: `offset` is the
    /// first bad byte (from 0, in the file), `bad` the bytes the decoder could not read. The line is
    /// counted as the parser counts lines (LF, CRLF and CR each end one), over the code units before
    /// the bad byte, which are valid text.
    let private notText (bytes: byte[]) (file: FileEncoding) (offset: int) (bad: byte[]) : 'a =
        let w = file.Width
        // Code unit k after the mark, as a number (enough to tell LF and CR from the rest).
        let unitAt (k: int) =
            let start = file.Skip + k * w
            let mutable v = 0L
            for i in 0 .. w - 1 do
                let b = int64 bytes.[start + (if file.BigEndian then i else w - 1 - i)]
                v <- (v <<< 8) ||| b
            v
        let units = (offset - file.Skip) / w
        let mutable line = 1
        let mutable lineStart = 0
        for k in 0 .. units - 1 do
            let u = unitAt k
            if u = 10L || (u = 13L && not (k + 1 < units && unitAt (k + 1) = 10L)) then
                line <- line + 1
                lineStart <- k + 1
        // Decoded without throwing: in a damaged UTF-16 or UTF-32 file the text before the bad unit
        // may itself end in half a character.
        let lenient = file.Encoding.Clone() :?> Encoding
        lenient.DecoderFallback <- DecoderFallback.ReplacementFallback
        let before = lenient.GetString(bytes, file.Skip + lineStart * w, (units - lineStart) * w)
        let before = if before.Length > 40 then "..." + before.Substring(before.Length - 40) else before
        let shown = String.Join(" ", bad |> Array.truncate 8 |> Array.map (fun b -> sprintf "%02X" b))
        let name = match w with 4 -> "UTF-32" | 2 -> "UTF-16" | _ -> "UTF-8"
        let where = if before = "" then "at the start of the line" else sprintf "after '%s' on the line" (quoteText before)
        let advice =
            if w = 1 then
                "The file is most likely in a legacy encoding such as Latin-1 or Windows-1252 (where 'é' is the one byte E9): save it as UTF-8 (pandas: to_csv(..., encoding='utf-8'); a spreadsheet: 'CSV UTF-8'; iconv -f WINDOWS-1252 -t UTF-8)."
            else sprintf "The file's byte order mark says %s, but its text is damaged there (a half character or surrogate): save it again, as UTF-8." name
        fail line ""
            (sprintf "Line %d: the %s %s (offset %d in the file, %s) %s not %s text; this reader reads UTF-8 (with or without a byte order mark; UTF-16 and UTF-32 with one) and guesses no character. %s"
                line (if bad.Length = 1 then "byte" else "bytes") shown offset where (if bad.Length = 1 then "is" else "are") name advice)

    /// The text of the first `length` bytes (see `decode`).
    let private decodeRange (bytes: byte[]) (length: int) : string =
        let file = encodingOf bytes length
        try file.Encoding.GetString(bytes, file.Skip, length - file.Skip)
        with :? DecoderFallbackException as e ->
            // e.Index counts from the start of the range decoded (checked: a bad byte at 2,500,000 of a range from 3 is
            // index 2,499,997).
            let offset = file.Skip + max 0 e.Index
            let bad = if isNull e.BytesUnknown || e.BytesUnknown.Length = 0 then [| bytes.[min offset (length - 1)] |] else e.BytesUnknown
            // For half a UTF-16 pair before another character .NET's index is the next unit's: the offset
            // is that of the bad bytes, found at most two units back.
            let at (o: int) = o >= file.Skip && o + bad.Length <= length && Seq.forall2 (=) bad (Seq.skip o bytes |> Seq.truncate bad.Length)
            let offset = [ offset; offset - file.Width; offset - 2 * file.Width ] |> List.tryFind at |> Option.defaultValue offset
            notText bytes file offset bad

    /// The text of a file's bytes: UTF-8 with or without a byte order mark (a UTF-16 or UTF-32
    /// mark is honoured too), the mark left out. Bytes that are not valid in that encoding (a
    /// Latin-1 or Windows-1252 file's 'é', the byte E9) are a DataFormatException naming the line,
    /// the byte's offset and the text before it on the line, and advising to save the file as UTF-8:
    /// never a U+FFFD that would merge distinct texts ('réd' and 'rèd') into one.
    let decode (bytes: byte[]) : string =
        Check.notNull "bytes" bytes
        decodeRange bytes bytes.Length

    /// A file's text (UTF-8, with or without a byte order mark, as `decode` reads it): a regular
    /// file larger than `maxFileBytes` is refused before it is read; any other file (a pipe, a
    /// device) is read up to `maxStreamBytes`. Raises ArgumentException (ParamName "path") for an
    /// empty or blank path or a directory, FileNotFoundException for a missing file,
    /// DataFormatException beyond a cap or for bytes that are not UTF-8 (a Latin-1 file).
    let readText (path: string) : string =
        Check.notNull "path" path
        if String.IsNullOrWhiteSpace path then Check.fail "path" "path is empty; give the data file to read."
        if Directory.Exists path then
            Check.fail "path" (sprintf "The data file '%s' is a directory; give the path of a CSV file." path)
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "The data file '%s' does not exist." path, path))
        use stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan)
        let declared = if stream.CanSeek then stream.Length else 0L
        if declared > maxFileBytes then
            fail 0 "" (sprintf "The file '%s' is %d bytes long; data files larger than %d bytes are refused." path declared maxFileBytes)
        let cap = if declared > 0L then maxFileBytes else maxStreamBytes
        use buffer = new MemoryStream(int (min declared maxFileBytes))
        let chunk = Array.zeroCreate 65536
        let mutable total = 0L
        let mutable go = true
        while go do
            let k = stream.Read(chunk, 0, chunk.Length)
            if k = 0 then go <- false
            else
                total <- total + int64 k
                if total > cap then
                    fail 0 "" (sprintf "The file '%s' gave more than %d bytes; %s." path cap
                        (if declared > 0L then "data files are read up to 1 GiB" else "a file that is not a regular file (a pipe or a device) is read up to 64 MiB"))
                buffer.Write(chunk, 0, k)
        decodeRange (buffer.GetBuffer()) (int buffer.Length)

    /// Reads and parses a CSV file with a set or detected dialect (see `parseWith`, `readText`).
    let readFileWith (separator: char option) (quote: char option) (hasHeader: bool) (path: string) : CsvTable =
        parseWith separator quote hasHeader (readText path)

    /// Reads and parses a CSV file with a header row, detecting the dialect.
    let readFile (path: string) : CsvTable = readFileWith None None true path

    /// The lookup of a header's column names (`Dataset.columnLookup`: exact, else the one column
    /// spelled so ignoring case).
    let private indexMaps (header: string[]) = Dataset.columnLookup header

    /// The index of the column a name means (`Dataset.columnLookup`); None when no column is. A name that
    /// matches no column exactly and two or more ignoring case ('ab' with the columns 'Ab' and 'aB')
    /// is a DataFormatException naming them, never a guess. `what` names the option the name comes from.
    let private tryIndex (lookup: string -> Result<int, string[]>) (what: string) (name: string) =
        match lookup name with
        | Ok j -> Some j
        | Error [||] -> None
        | Error matches ->
            fail 1 name (sprintf "%sthe column name '%s' matches no column exactly and %d columns when case is ignored (%s); spell it exactly as the header does, or rename the columns so that only one matches."
                             (if what = "" then "" else what + ": ") (quoteText name) matches.Length (nameList matches))

    /// Whether a name matches a column exactly or ignoring case (one column or several; never raises).
    let private namesColumn (lookup: string -> Result<int, string[]>) (name: string) =
        match lookup name with
        | Ok _ -> true
        | Error matches -> matches.Length > 0

    /// The index of a column by name: exact, then ignoring case when only one column matches so (a
    /// name that matches several columns ignoring case and none exactly is an error naming them);
    /// raises naming the columns there are.
    let columnIndex (table: CsvTable) (name: string) : int =
        match tryIndex (indexMaps table.Header) "" name with
        | Some j -> j
        | None -> fail 1 name (sprintf "There is no column '%s'; the columns are %s." (quoteText name) (nameList table.Header))

    /// As `columnIndex`, for a name given by the option `what` ("Features", "names"), which both errors name.
    let private optionColumnIndex (maps: string -> Result<int, string[]>) (table: CsvTable) (what: string) (name: string) : int =
        match tryIndex maps what name with
        | Some j -> j
        | None -> fail 1 name (sprintf "%s: the column name '%s' matches no column; the columns are %s." what (quoteText name) (nameList table.Header))

    let private isNumber (s: string) =
        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> Double.IsFinite v
        | _ -> false

    let private isDigits (s: string) (start: int) (stop: int) =
        stop > start && (let mutable ok = true in (for k in start .. stop - 1 do if s.[k] < '0' || s.[k] > '9' then ok <- false); ok)

    let private signEnd (s: string) = if s.Length > 0 && (s.[0] = '-' || s.[0] = '+') then 1 else 0

    /// Digits grouped by thousands with '.' from `start` to just before `stop`, as a European locale
    /// writes them: 1 to 3 digits, then one or more groups of '.' and 3 digits ("1.234", "12.345.678").
    let private thousandsDots (s: string) (start: int) (stop: int) =
        let first = if stop > start then s.IndexOf('.', start, stop - start) else -1
        first > start && first - start <= 3 && isDigits s start first && (stop - first) % 4 = 0
        && Seq.forall (fun g -> s.[g] = '.' && isDigits s (g + 1) (g + 4)) (seq { first .. 4 .. stop - 4 })

    /// A number written with a decimal comma, as a spreadsheet in a European locale saves it: an
    /// optional sign, digits (perhaps grouped by thousands with '.'), one comma, digits ("0,90",
    /// "-12,5", "1.234,5", "12.345.678,25"; not "1,2,3", "1.23,5", "1,234.5" or ",5").
    let private decimalComma (s: string) =
        let k = s.IndexOf ','
        let a = signEnd s
        k > a && s.IndexOf(',', k + 1) < 0 && (isDigits s a k || thousandsDots s a k) && isDigits s (k + 1) s.Length

    /// What follows the message for a number written with a decimal comma (and, when it has '.'
    /// between thousands, says so).
    let private decimalCommaAdvice (s: string) =
        if s.Contains '.' then " (it is written with a decimal comma and '.' between thousands; this reader reads numbers with a decimal point and no thousands separator: save the file so)"
        else " (it is written with a decimal comma; this reader reads numbers with a decimal point: save the file with one)"

    /// The reader's advice for a cell that a numeric column cannot hold, to follow its message: a
    /// number written with a decimal comma, or one of the options' missing-value markers (compared
    /// ignoring case and surrounding spaces) that the reader kept as text because it was quoted.
    let internal numericCellAdvice (options: CsvOptions) (text: string) : string =
        let markers = if isNull options.MissingMarkers then [||] else options.MissingMarkers
        if decimalComma text then decimalCommaAdvice text
        elif markers |> Array.exists (fun m -> not (isNull m) && String.Equals(m.Trim(), text.Trim(), StringComparison.OrdinalIgnoreCase)) then
            sprintf " (it is in quotes, so it is the text '%s', not a missing value (a quoted marker is missing only in a file that quotes every field); write it without quotes to mark it missing)" (quoteText text)
        else ""

    /// An optional sign and digits, perhaps grouped by thousands with '.': how such a file writes a
    /// whole number ("1", as R's write.csv2 does; "1.234" with a thousands separator).
    let private wholeNumber (s: string) = isDigits s (signEnd s) s.Length || thousandsDots s (signEnd s) s.Length

    /// True when a table read with a header has one whose every field is a number (invariant
    /// culture): most likely the first data row of a file without a header. The data-set reader
    /// warns on it (with one more case, a header whose target field is one of the target's values).
    let headerIsNumbers (table: CsvTable) : bool =
        table.Header.Length > 0 && table.Header |> Array.forall parses

    /// The text of a present field as a finite number, or None: the reader's rule for a numeric cell
    /// (invariant culture, NumberStyles.Float).
    let internal finite (text: string) : float option =
        match Double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when Double.IsFinite v -> Some v
        | _ -> None

    /// The one error for a cell that a numbers-only reader (a linear model's features: `numericColumns`,
    /// `loadNumericFeatures`, `loadNumeric`) cannot read as a finite number: a DataFormatException naming the
    /// line, the column and the cell's text.
    let private notFiniteNumber (line: int) (name: string) (text: string) : 'a =
        let comma = if decimalComma text then decimalCommaAdvice text else ""
        fail line name (sprintf "Line %d, column '%s': '%s' is not a finite number%s." line (quoteText name) (quoteText text) comma)

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

    /// A column is numeric-looking when at most 1 in 20 of its present cells is not a number:
    /// such a cell is then an error, not a reason to read the column as text.
    /// A number as CSV text that reads back to the same double ("R" format, invariant culture).
    let formatNumber (x: float) = x.ToString("R", CultureInfo.InvariantCulture)

    /// The value of a numeric text, with -0 as 0 (one class per value).
    let private valueOf (s: string) = let v = Double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture) in if v = 0.0 then 0.0 else v

    /// A number text whose value a double holds exactly, so that its shortest text names the same
    /// number ("1.0", "1e1", "2.5"; not "12345678901234567", which a double rounds to ...68): only
    /// such labels are spelled, and matched, by value.
    let private exactNumber (s: string) =
        isNumber s
        && (let mutable a = 0m
            let mutable b = 0m
            Decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, &a)
            && Decimal.TryParse(formatNumber (valueOf s), NumberStyles.Float, CultureInfo.InvariantCulture, &b)
            && a = b)

    let private looksNumeric (numbers: int) (present: int) = numbers > 0 && (present - numbers) * 20 <= present

    /// The texts a reader takes for a missing value by default (`CsvOptions.Default`'s markers, any
    /// case): written in quotes.
    let private defaultMarkers = HashSet<string>(CsvOptions.Default.MissingMarkers, StringComparer.OrdinalIgnoreCase)

    /// Whether the writer (`format`, `ofDataset`) puts a text in quotes: when it holds a separator
    /// (',', ';', tab), a quote ('"', or '\'' at its start), a line end, surrounding spaces, or is
    /// a missing-value marker. Any other quoted field was quoted by a writer that quotes everything.
    let private needsQuotes (s: string) =
        s.IndexOfAny([| ','; ';'; '\t'; '"'; '\n'; '\r' |]) >= 0 || s <> s.Trim() || s.StartsWith "'" || defaultMarkers.Contains s

    /// Whether row i's field j was quoted in the file.
    let private quotedAt (table: CsvTable) (i: int) (j: int) =
        not (isNull table.Quoted) && i < table.Quoted.Length && (let q = table.Quoted.[i] in not (isNull q) && j < q.Length && q.[j])

    /// Whether a parsed file quotes every field (as Python's csv.QUOTE_ALL writes), so that its
    /// quotes say nothing about a field: no non-empty cell is bare (the header may be: PostgreSQL's
    /// FORCE_QUOTE * quotes every cell but no header name), and some header name or cell outside
    /// the target column is quoted though it needs no quotes
    /// (`needsQuotes` is false: "a", "1.5"). The second condition is what tells such a file from
    /// one `ofDataset` wrote: that writer quotes a header name only when it needs quotes, and
    /// quotes without need only the target's numeric class names and the cells of a text column
    /// with a numeric-looking category; so a file it wrote is taken for one that quotes everything
    /// only when every non-empty cell is such a cell (see `ofDataset`).
    let private quotesEverything (table: CsvTable) (targetIndex: int option) (markers: HashSet<string>) =
        let quotedAt = quotedAt table
        // A marker of this read is quoted by need, as the default ones are (`formatWithMarkers`).
        let needsQuotes (s: string) = needsQuotes s || markers.Contains s
        let headerQuoted = if isNull table.HeaderQuoted then [||] else table.HeaderQuoted
        // A bare missing-value marker is no bare cell: MySQL's INTO OUTFILE ... ENCLOSED BY '"' writes NULL as a bare \N,
        // PostgreSQL's FORCE_QUOTE * a bare NULL marker, and quotes every other cell.
        let rowHasBare (i: int) = table.Rows.[i] |> Array.mapi (fun j s -> s <> "" && not (quotedAt i j) && not (markers.Contains s)) |> Array.exists id
        let plainQuoted () =
            (headerQuoted.Length > 0 && table.Header |> Array.mapi (fun j h -> j < headerQuoted.Length && headerQuoted.[j] && not (needsQuotes h)) |> Array.exists id)
            || Seq.exists (fun i -> table.Rows.[i] |> Array.mapi (fun j s -> Some j <> targetIndex && quotedAt i j && not (needsQuotes s)) |> Array.exists id) (seq { 0 .. table.Rows.Length - 1 })
        not (Seq.exists rowHasBare (seq { 0 .. table.Rows.Length - 1 })) && plainQuoted ()

    /// The text of a field as a finite number, or a DataFormatException naming line, column and text.
    /// `isMarker` tells a missing-value marker (as the reader takes it) from text: such a cell, as
    /// the empty field, is missing.
    let private number (table: CsvTable) (isMarker: int -> int -> bool) (row: int) (col: int) : float =
        let text = table.Rows.[row].[col]
        let line = table.Lines.[row]
        let name = table.Header.[col]
        if text = "" then fail line name (sprintf "Line %d, column '%s': the value is missing (an empty field); every feature needs a number." line (quoteText name))
        if isMarker row col then fail line name (sprintf "Line %d, column '%s': the value is missing ('%s'); every feature needs a number." line (quoteText name) (quoteText text))
        match finite text with
        | Some v -> v
        | None -> notFiniteNumber line name text

    /// The named columns as an n x d matrix of numbers (in the order of `names`). The cells are read
    /// row by row, so the first bad one (empty, a missing-value marker, or not a finite number) in
    /// that order is the error. A marker is one of the reader's default MissingMarkers (NA, N/A,
    /// NaN, null, ?, ..., any case: `CsvOptions.Default`) taken as the reader takes it: bare, or quoted in a file that quotes every
    /// field (the last column set apart as the reader's default target); such a cell is missing, as
    /// the empty field is, and otherwise it is text, not a finite number.
    let numericColumns (names: string[]) (table: CsvTable) : Matrix<float> =
        CsvOptions.CheckNames "names" names |> ignore
        let maps = indexMaps table.Header
        let cols = names |> Array.map (optionColumnIndex maps table "names")
        let markers = HashSet<string>(CsvOptions.Default.MissingMarkers |> Seq.map (fun m -> m.Trim()), StringComparer.OrdinalIgnoreCase)
        let quotesAll = lazy (quotesEverything table (Some (table.Header.Length - 1)) markers)
        let isMarker (i: int) (j: int) = markers.Contains table.Rows.[i].[j] && (not (quotedAt table i j) || quotesAll.Force())
        // Row by row (Mat.init fills column by column, which named a later row's empty cell in an earlier column first).
        let values = Array.init table.Rows.Length (fun i -> cols |> Array.map (number table isMarker i))
        Mat.init table.Rows.Length cols.Length (fun i j -> values.[i].[j])

    /// Checks options before any reading: a blank target name, a null entry in Features,
    /// ClassNames, MissingMarkers or TextColumns, or a class name given twice (after Unicode
    /// normalisation) is an ArgumentException whose ParamName is the option's name. (A null
    /// MissingMarkers or TextColumns array means none.)
    let checkOptions (options: CsvOptions) =
        Check.notNull "options" (box options)
        match options.Target with
        | Some t when String.IsNullOrWhiteSpace t -> Check.fail "Target" "Target is null or blank; give the target column's name (or None for the last column)."
        | _ -> ()
        options.Features |> Option.iter (CsvOptions.CheckNames "Features" >> ignore)
        options.ClassNames |> Option.iter (fun names -> CsvOptions.Default.WithClassNames names |> ignore)
        if not (isNull options.MissingMarkers) then CsvOptions.CheckNames "MissingMarkers" options.MissingMarkers |> ignore
        if not (isNull options.TextColumns) then CsvOptions.CheckNames "TextColumns" options.TextColumns |> ignore

    /// A data set from a parsed table read with `separator` (None: not known; see `toDataset`); with
    /// `readTarget` false no column is the target (see `featuresOf`).
    let private toDatasetWith (separator: char option) (readTarget: bool) (numbersOnly: bool) (options: CsvOptions) (table: CsvTable) : Dataset =
        Check.notNull "table" table
        checkOptions options
        let markers = HashSet<string>((if isNull options.MissingMarkers then [||] else options.MissingMarkers) |> Seq.map (fun m -> m.Trim()), StringComparer.OrdinalIgnoreCase)
        let wasQuoted = quotedAt table
        let missingOption = "set the option Missing (CLI: --missing drop|mean|median|most_frequent) to drop or impute missing values"
        let maps = indexMaps table.Header
        let targetName =
            match options.Target with
            | Some t -> t
            | None -> table.Header.[table.Header.Length - 1]
        let targetIndex =
            // Features only: the Target option names no column, so it is not looked up (an ambiguous name is no error).
            match (if readTarget then tryIndex maps "Target" targetName else None) with
            | _ when not readTarget -> None
            | Some j -> Some j
            | None when options.RequireTarget ->
                fail 1 targetName (sprintf "There is no target column '%s'; the columns are %s." (quoteText targetName) (nameList table.Header))
            | None -> None
        // A file that quotes every field (Python's csv.QUOTE_ALL) says nothing by its quotes: there a quoted
        // marker is missing, and quoted numbers in the target are read by the target rule. In any other file a
        // quoted field is text as written: "NA" in quotes is the category or class NA (as `ofDataset` writes
        // one), and numbers quoted in every target cell are class names. `quotesEverything` tells the two
        // apart, also for a file `ofDataset` wrote with every field quoted.
        // Features only: whether the file quotes everything is decided as for the labelled read, with the
        // file's target column (when it has one) set apart as there.
        let quotesAll =
            let fileTarget = match maps targetName with Ok j -> Some j | Error _ -> None
            quotesEverything table (if readTarget then targetIndex else fileTarget) markers
        // The empty field is always missing; a marker when it was not quoted, or when the file quotes everything.
        let isMissingAt (i: int) (col: int) =
            let s = table.Rows.[i].[col]
            s = "" || (markers.Contains s && (quotesAll || not (wasQuoted i col)))
        // A marker read as text because of its quotes: the advice is to write it bare, not to add it to MissingMarkers.
        let quotedMarker (i: int) (col: int) =
            let s = table.Rows.[i].[col]
            if markers.Contains s then
                sprintf "it is in quotes, so it is the text '%s', not a missing value (a quoted marker is missing only in a file that quotes every field); write it without quotes to mark it missing" (quoteText s)
            else ""
        // A column that would be text but whose every present value is a number written with a decimal comma ("0,90";
        // whole numbers "1" may be among them, as R's write.csv2 writes them), in a file whose separator is not a
        // comma, is a file saved with a decimal comma (a European locale), not a column of categories: an error that
        // says so, not a one-hot of every value. A comma inside a field shows the separator is not a comma when the
        // field is bare; a quoted one only when the separator is known ("1,5" quoted in a comma-separated file is text).
        let separatorNotComma = match separator with Some c -> c <> ',' | None -> false
        let checkDecimalComma (rowsOf: int[]) (col: int) (what: string) =
            let mutable example = -1
            let mutable all = true
            let mutable present = 0
            // Whether some value groups thousands with '.' ("1.234,5", "1.234"): then the advice says so.
            let mutable thousands = false
            for i in rowsOf do
                if all && not (isMissingAt i col) then
                    let s = table.Rows.[i].[col]
                    present <- present + 1
                    if decimalComma s && (separatorNotComma || not (wasQuoted i col)) then
                        if example < 0 then example <- i
                        if s.Contains '.' then thousands <- true
                    elif wholeNumber s then (if s.Contains '.' then thousands <- true)
                    else all <- false
            if all && example >= 0 then
                let i = example
                let name = table.Header.[col]
                fail table.Lines.[i] name
                    (sprintf "Line %d, column '%s': '%s' is a number written with a decimal comma%s, as are the %s's other values (%d in all; whole numbers aside): the file uses a decimal comma%s, which this reader does not read, so the %s would be read as %s. Save the file with a decimal point%s (pandas: to_csv(..., decimal='.'); a spreadsheet: a locale whose decimal separator is '.'), or, if %s."
                        table.Lines.[i] (quoteText name) (quoteText table.Rows.[i].[col])
                        (if thousands then " and '.' between thousands" else "") what present
                        (match separator with Some c -> sprintf " (its separator is '%s')" (if c = '\t' then "tab" else string c) | None -> "")
                        what (if what = "target" then "class names" else "text categories")
                        (if thousands then " and no thousands separator" else "")
                        (if what = "target" then "the labels are class names, set TargetKind to Classification (CLI: --task classification)" else "the column is text, name it in TextColumns"))
        let targetName =
            match targetIndex with
            | Some j -> table.Header.[j]
            // Features only: the absent target is named "target", or "target_<k>" when the file has such a column, so
            // that it is no feature's name.
            | None when not readTarget ->
                Seq.initInfinite (fun k -> if k = 0 then "target" else sprintf "target_%d" k) |> Seq.find (fun n -> not (namesColumn maps n))
            | None -> targetName
        let featureCols =
            match options.Features with
            | Some names -> names |> Array.map (optionColumnIndex maps table "Features")
            | None -> Array.init table.Header.Length id |> Array.filter (fun j -> Some j <> targetIndex)
        let featureNames = featureCols |> Array.map (fun j -> table.Header.[j])
        // One pass with the first position of each column (a file may have hundreds of thousands).
        let firstAt = Dictionary<int, int>()
        featureCols |> Array.iteri (fun k j ->
            match firstAt.TryGetValue j with
            | true, first ->
                fail 1 table.Header.[j] (sprintf "The column '%s' is selected more than once (Features[%d] and Features[%d]); select each feature once." (quoteText table.Header.[j]) first k)
            | _ -> firstAt.[j] <- k)
        if featureNames.Length = 0 then
            fail 1 "" (sprintf "The file has no feature columns: its only column is the target '%s'." (quoteText targetName))
        featureCols |> Array.iter (fun j ->
            if Some j = targetIndex then fail 1 table.Header.[j] (sprintf "The column '%s' cannot be both a feature and the target." (quoteText table.Header.[j])))
        // The text columns by index, each name resolved as every other name is (exactly, then ignoring case when only
        // one column matches so): with the columns 'A' (text) and 'a' (numbers), TextColumns = [A] makes 'A' text only.
        let textColumns = HashSet<int>()
        for name in (if isNull options.TextColumns then [||] else options.TextColumns) do
            match tryIndex maps "TextColumns" name with
            | Some j -> textColumns.Add j |> ignore
            | None -> fail 1 name (sprintf "TextColumns names the column '%s', which the file does not have; the columns are %s." (quoteText name) (nameList table.Header))
        let n = table.Rows.Length
        // Rows to drop: a missing target (under every policy but Error), or any missing cell under Drop.
        let keep = Array.create n true
        // For each column (by its index in the table), how many rows a missing cell in it dropped: the data set's
        // Dropped. Each cell read is noted once (pass 1 below, then the target), so a row missing two columns counts
        // under both.
        let droppedBy = Dictionary<int, int>()
        let drop (i: int) (col: int) =
            keep.[i] <- false
            droppedBy.[col] <- (match droppedBy.TryGetValue col with | true, k -> k + 1 | _ -> 1)
        let noteMissing (i: int) (col: int) (isTarget: bool) =
            match options.Missing with
            | MissingPolicy.Error ->
                let text = table.Rows.[i].[col]
                // A marker may be a value of the column after all ("N/A" as a category): the way to keep it.
                let asValue =
                    if text = "" then ""
                    else sprintf " (or, if '%s' is a value here, not a missing one, set MissingMarkers to a list without it (CLI: --missing-values))" (quoteText text)
                fail table.Lines.[i] table.Header.[col]
                    (sprintf "Line %d, column '%s': the %s is missing (%s); %s%s." table.Lines.[i] (quoteText table.Header.[col])
                        (if isTarget then "target" else "value") (if text = "" then "an empty field" else sprintf "'%s'" (quoteText text)) missingOption asValue)
            | MissingPolicy.Drop -> drop i col
            | _ -> if isTarget then drop i col
        // A reader of numbers only (a linear model's features): the first present feature cell, row by row, that is not
        // a finite number is the error `numericColumns` gives for it, before any column is read as text. Under the
        // policy Error a missing cell is a bad cell too, taken in the same order (the row's features, then its target):
        // the first bad cell row by row is the one named, missing or not a number.
        if numbersOnly then
            let strict = options.Missing = MissingPolicy.Error
            for i in 0 .. n - 1 do
                for col in featureCols do
                    if isMissingAt i col then (if strict then noteMissing i col false)
                    elif (finite table.Rows.[i].[col]).IsNone then
                        notFiniteNumber table.Lines.[i] table.Header.[col] table.Rows.[i].[col]
                match targetIndex with
                | Some t when strict && readTarget && isMissingAt i t -> noteMissing i t true
                | _ -> ()
        // A column whose every present cell is a number between apostrophes ('1.5'), read with another quote
        // character: the file quotes fields with ', and its numbers would be read as text categories (or class
        // names) with the apostrophes kept, silently. An error with the way out, unless the column is named text.
        let quoteChar = defaultArg options.Quote '"'
        let refuseApostropheNumbers (col: int) (what: string) =
            if quoteChar <> '\'' then
                let mutable first = -1
                let mutable all = true
                for i in 0 .. n - 1 do
                    if all && not (isMissingAt i col) then
                        let s = table.Rows.[i].[col]
                        if s.Length >= 3 && s.[0] = '\'' && s.[s.Length - 1] = '\'' && parses (s.Substring(1, s.Length - 2)) then
                            if first < 0 then first <- i
                        else all <- false
                if all && first >= 0 then
                    let i = first
                    fail table.Lines.[i] table.Header.[col]
                        (sprintf "Line %d, column '%s': '%s' is a number between apostrophes, as is every value of the %s, so the file seems to quote its fields with ' where this read's quote character is %s; set the quote character to ' (Quote; CLI: --quote \"'\"): its numbers are then numbers if the file quotes every field, and text where it quotes only some%s."
                            table.Lines.[i] (quoteText table.Header.[col]) (quoteText table.Rows.[i].[col]) what
                            (if quoteChar = '"' then "\"" else sprintf "'%c'" quoteChar)
                            (if what = "column" then ", or name the column in TextColumns to read its values as text" else ""))
        for col in featureCols do
            if not (textColumns.Contains col) then refuseApostropheNumbers col "column"
        targetIndex |> Option.iter (fun t -> refuseApostropheNumbers t "target")
        // Pass 1: missing cells and column kinds.
        let allRows = Array.init n id
        // The columns read as text for what they hold (not named in TextColumns, not quoted in every cell).
        let textByContent = HashSet<int>()
        let kinds =
            featureCols |> Array.map (fun col ->
                let mutable numbers = 0
                let mutable present = 0
                let mutable firstBad = -1
                let mutable allQuoted = true
                for i in 0 .. n - 1 do
                    let s = table.Rows.[i].[col]
                    if isMissingAt i col then noteMissing i col false
                    else
                        present <- present + 1
                        if not (wasQuoted i col) then allQuoted <- false
                        if parses s then numbers <- numbers + 1
                        elif firstBad < 0 then firstBad <- i
                let asText = textColumns.Contains col
                // Every present cell of a feature column quoted, in a file that does not quote every field: text as
                // written ("007"), as in the target, numbers or not: a writer that quotes strings only marks them so,
                // and `ofDataset` writes a text column whose categories look like numbers so. (Not for a reader of
                // numbers.)
                let quotedText = not numbersOnly && not quotesAll && present > 0 && allQuoted
                if asText || quotedText then true
                elif firstBad < 0 then false
                elif looksNumeric numbers present then
                    let i = firstBad
                    let advice = match quotedMarker i col with "" -> "correct the cell or add it to MissingMarkers (CLI: --missing-values)" | a -> a
                    fail table.Lines.[i] table.Header.[col]
                        (sprintf "Line %d, column '%s': '%s' is not a number, though %d of the column's %d values are; %s." table.Lines.[i] (quoteText table.Header.[col]) (quoteText table.Rows.[i].[col]) numbers present advice)
                else
                    checkDecimalComma allRows col "column"
                    textByContent.Add col |> ignore
                    true)
        match targetIndex with
        | Some t -> for i in 0 .. n - 1 do if isMissingAt i t then noteMissing i t true
        | None -> ()
        // A column read as text whose kept rows are mostly numbers, the rest one to 3 spellings without a digit ("n.a.",
        // "-", "missing"): most likely numbers with missing values spelled in a way the markers do not know, which read as
        // text would be one category per number. An error naming them and the option, not a silent one-hot. (After pass 1,
        // which notes every missing cell: a row Drop leaves out for another column counts for nothing.)
        let refuseSpelledMissing (col: int) =
            let others = Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
            let mutable numbers = 0
            let mutable present = 0
            let mutable firstBad = -1
            let mutable spelledMissing = true
            for i in 0 .. n - 1 do
                if spelledMissing && keep.[i] && not (isMissingAt i col) then
                    let s = table.Rows.[i].[col]
                    present <- present + 1
                    if parses s then numbers <- numbers + 1
                    elif s |> Seq.exists Char.IsAsciiDigit then spelledMissing <- false
                    else
                        if firstBad < 0 then firstBad <- i
                        others.[s] <- (match others.TryGetValue s with | true, k -> k + 1 | _ -> 1)
                        if others.Count > 3 then spelledMissing <- false
            if spelledMissing && firstBad >= 0 && numbers * 2 > present then
                let i = firstBad
                let spellings = String.Join(", ", others |> Seq.map (fun kv -> sprintf "'%s' (%s)" (quoteText kv.Key) (Check.counted kv.Value "cell" "cells")))
                let advice =
                    match quotedMarker i col with
                    | "" ->
                        let one = others.Count = 1
                        sprintf "if %s missing values, declare %s missing with MissingMarkers (CLI: --missing-values)" (if one then "it marks" else "they mark") (if one then "it" else "them")
                    | a -> a
                fail table.Lines.[i] table.Header.[col]
                    (sprintf "Line %d, column '%s': '%s' is not a number, though %d of the column's %d values are, and the others are %s only: %s; if the column is text after all, name it in TextColumns."
                        table.Lines.[i] (quoteText table.Header.[col]) (quoteText table.Rows.[i].[col]) numbers present spellings advice)
        for col in featureCols do
            if textByContent.Contains col then refuseSpelledMissing col
        let rows = Array.init n id |> Array.filter (fun i -> keep.[i])
        if rows.Length = 0 then fail 0 "" "Every row has a missing value, so no row is left to read."
        let dropped : DroppedRows =
            let columnOf (isTarget: bool) (col: int) : DroppedColumn = { Name = table.Header.[col]; Rows = droppedBy.[col]; IsTarget = isTarget }
            let target = match targetIndex with Some t when droppedBy.ContainsKey t -> [| columnOf true t |] | _ -> [||]
            { Count = n - rows.Length
              Columns = Array.append (featureCols |> Array.filter droppedBy.ContainsKey |> Array.map (columnOf false)) target }
        // Pass 2: values.
        let categories = Array.create featureCols.Length [||]
        let x = Matrix<float>.Build.Dense(rows.Length, featureCols.Length)
        featureCols |> Array.iteri (fun k col ->
            if kinds.[k] then
                let texts = rows |> Array.map (fun i -> if isMissingAt i col then null else Check.nfc table.Rows.[i].[col])
                let names = texts |> Array.filter (isNull >> not) |> Array.distinct |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
                let index = Dictionary<string, int>(StringComparer.Ordinal)
                names |> Array.iteri (fun c name -> index.[name] <- c)
                categories.[k] <- names
                texts |> Array.iteri (fun r s -> x.[r, k] <- if isNull s then nan else float index.[s])
            else
                rows |> Array.iteri (fun r i ->
                    x.[r, k] <- if isMissingAt i col then nan else number table (fun _ _ -> false) i col))
        // How the target's kind was decided (for TargetRule.explain): by the rule, by its clause for quoted numbers, or
        // by the caller (TargetKind, a model's class names).
        let mutable reading = if options.ClassNames.IsSome || options.TargetKind <> TargetKind.Auto then TargetReading.Given else TargetReading.Rule
        let target =
            match targetIndex with
            | None ->
                match options.ClassNames with
                | Some names -> Target.Classes ([||], names |> Array.map Check.nfc)
                | None -> Target.Values [||]
            | Some t ->
                let texts = rows |> Array.map (fun i -> Check.nfc table.Rows.[i].[t])
                let numbers = texts |> Array.filter parses |> Array.length
                // Numbers quoted in every target cell, in a file that does not quote everything, are class names
                // (text, as a writer that quotes strings only marks them; `ofDataset` writes numeric class names so).
                let quotedClasses = not quotesAll && rows |> Array.forall (fun i -> wasQuoted i t)
                // Numbers read as classes without quotes get one text per value: "1" and "1.0" are the class "1",
                // under Auto (when the numeric rule decides classes) and under Classification alike. Given class
                // names (a model's) keep their spelling: a label matches one exactly, or else by value (below).
                let mutable canonical = false
                let asClasses =
                    options.ClassNames.IsSome
                    || (match options.TargetKind with
                        | TargetKind.Classification ->
                            canonical <- not quotedClasses && texts |> Array.forall exactNumber
                            true
                        | TargetKind.Regression -> false
                        | TargetKind.Auto ->
                            if numbers = texts.Length && quotedClasses then
                                reading <- TargetReading.QuotedNumbers
                                true
                            elif numbers = texts.Length then
                                let classes = fst (TargetRule.ofNumbers (texts |> Array.map parseAny))
                                canonical <- classes && texts |> Array.forall exactNumber
                                classes
                            elif looksNumeric numbers texts.Length then
                                let r = texts |> Array.findIndex (parses >> not)
                                let i = rows.[r]
                                let advice = match quotedMarker i t with "" -> "correct the cell, mark it missing, or set TargetKind (CLI: --task classification)" | a -> a
                                fail table.Lines.[i] targetName
                                    (sprintf "Line %d, column '%s': '%s' is not a number, though %d of the target's %d values are; %s." table.Lines.[i] (quoteText targetName) (quoteText table.Rows.[i].[t]) numbers texts.Length advice)
                            else
                                checkDecimalComma rows t "target"
                                true)
                let texts =
                    if not canonical then texts
                    else texts |> Array.map (valueOf >> formatNumber)
                if asClasses then
                    let names = match options.ClassNames with Some n -> n |> Array.map Check.nfc | None -> classOrder texts
                    let index = Dictionary<string, int>(StringComparer.Ordinal)
                    names |> Array.iteri (fun k name -> index.TryAdd(name, k) |> ignore)
                    // A numeric label that is not a class name matches the class name of the same value: a model
                    // trained on 1.0/2.0 has the classes 1 and 2, and its training file must still evaluate.
                    let byValue = Dictionary<float, ResizeArray<int>>()
                    names |> Array.iteri (fun k name ->
                        if exactNumber name then
                            let v = valueOf name
                            match byValue.TryGetValue v with
                            | true, ks -> ks.Add k
                            | _ -> byValue.[v] <- ResizeArray [ k ])
                    let labels =
                        texts |> Array.mapi (fun r s ->
                            match index.TryGetValue s with
                            | true, k -> k
                            | _ ->
                                let line = table.Lines.[rows.[r]]
                                match (if exactNumber s then byValue.TryGetValue(valueOf s) else (false, null)) with
                                | true, ks when ks.Count = 1 -> ks.[0]
                                | true, ks ->
                                    fail line targetName (sprintf "Line %d, column '%s': the class '%s' is not one of the model's classes, and %d of them have its value (%s); write the label as one of them." line (quoteText targetName) (quoteText s) ks.Count (nameList (ks.ToArray() |> Array.map (fun k -> names.[k]))))
                                | _ ->
                                    fail line targetName (sprintf "Line %d, column '%s': the class '%s' is not one of the model's classes (%s)." line (quoteText targetName) (quoteText s) (nameList names)))
                    Target.Classes (labels, names)
                else Target.Values (rows |> Array.map (fun i -> number table (fun _ _ -> false) i t))
        // A header whose every field is a number is most likely the first data row of a file without a header; so is
        // one whose feature fields are numbers while its target field is one of the target column's values (iris
        // without its header: 5.1,3.5,1.4,0.2,setosa).
        let headerIsData =
            headerIsNumbers table
            || (featureCols |> Array.forall (fun j -> parses table.Header.[j])
                && (match targetIndex with
                    | Some t -> rows |> Array.exists (fun i -> String.Equals(table.Rows.[i].[t], table.Header.[t], StringComparison.Ordinal))
                    | None -> false))
        let warnings =
            if options.HasHeader && headerIsData then
                [| sprintf "The header line (%s) looks like data (its fields are numbers%s): the file probably has no header, so its first row was read as the column names; read it with HasHeader = false (CLI: --no-header)." (nameList table.Header) (if headerIsNumbers table then "" else ", and its target field is one of the target's values") |]
            else [||]
        { Features = x; FeatureNames = featureNames; TargetName = targetName; Target = target; TargetReading = reading
          Categories = categories; Missing = options.Missing; Lines = rows |> Array.map (fun i -> table.Lines.[i]); Warnings = warnings
          Dropped = dropped }

    /// A data set from a parsed table (see `load`). A column that would be text but holds numbers
    /// written with a decimal comma ("0,90") is a DataFormatException when the table shows that its
    /// separator is not a comma (such a value unquoted); `load` and `loadText`, which know the
    /// separator, also catch quoted ones.
    let toDataset (options: CsvOptions) (table: CsvTable) : Dataset = toDatasetWith None true false options table

    let private loadWith (readTarget: bool) (numbersOnly: bool) (options: CsvOptions) (text: string) =
        Check.notNull "text" text
        let quote, separator = dialect options.Separator options.Quote text
        toDatasetWith (Some separator) readTarget numbersOnly options (parseWith (Some separator) (Some quote) options.HasHeader text)

    /// The feature columns of a parsed table, for prediction: `toDataset` with no column read as the
    /// target (TargetKind and RequireTarget are not used; Target only names the column set apart
    /// when deciding whether the file quotes every field, as the labelled read does), so that a
    /// target column in the file, or anything in it, changes nothing. The data set's target is
    /// empty: no labels of the options' ClassNames when given (a model's classes), else no values;
    /// named "target" (or "target_<k>" when the file has a column of that name). With Features None
    /// every column is a feature.
    let featuresOf (options: CsvOptions) (table: CsvTable) : Dataset = toDatasetWith None false false options table

    /// `featuresOf` of a CSV file (see `load`, `readText`).
    let loadFeatures (options: CsvOptions) (path: string) : Dataset =
        checkOptions options
        loadWith false false options (readText path)

    /// `featuresOf` of CSV text, as `loadFeatures` reads a file (as `loadText` is `load` of text).
    let loadFeaturesText (options: CsvOptions) (text: string) : Dataset =
        checkOptions options
        loadWith false false options text

    /// `loadFeatures` for a model that reads numbers only (a linear model): the first bad feature cell
    /// (row by row, in the order of the features), a present one that is not a finite number or, under
    /// MissingPolicy.Error, a missing one, is a DataFormatException naming its line, its column and its
    /// text, the error `numericColumns` (or the missing-value policy) gives for the same cell.
    let loadNumericFeatures (options: CsvOptions) (path: string) : Dataset =
        checkOptions options
        loadWith false true options (readText path)

    /// `load` for a model that reads numbers only (a linear model's evaluation): the target as `load`
    /// reads it, and the features as `loadNumericFeatures` does (the first bad cell row by row, not a
    /// finite number or, under MissingPolicy.Error, missing, a row's target after its features, is the
    /// error naming its line, column and text; no column is read as text).
    let loadNumeric (options: CsvOptions) (path: string) : Dataset =
        checkOptions options
        loadWith true true options (readText path)

    /// Loads a data set from CSV text: feature columns (numbers, or text categories), and a target
    /// column by name, read by TargetKind (Auto: TargetRule). Numbers are read with a decimal
    /// point: a file whose separator is not a comma and whose column (or Auto target) holds only
    /// numbers written with a decimal comma ("0,90"; whole numbers among them) is a
    /// DataFormatException naming the column, a cell and its line, never a column of categories.
    let loadText (options: CsvOptions) (text: string) : Dataset =
        checkOptions options
        loadWith true false options text

    /// Loads a data set from a CSV file (see `loadText`, `readText`).
    let load (options: CsvOptions) (path: string) : Dataset =
        checkOptions options
        loadWith true false options (readText path)

    /// A field as CSV text: quoted when it holds a separator (',', ';', tab), a quote ('"', or
    /// '\'' at its start), a line end, surrounding spaces, or is a missing-value marker.
    let private quote (s: string) =
        if needsQuotes s then "\"" + s.Replace("\"", "\"\"") + "\"" else s

    /// CSV text from a header and rows of fields (quoted where needed), lines ending in \n, a
    /// field that is one of `markers` (compared as the reader compares them: trimmed, ignoring
    /// case) quoted as the default markers are, so that a file read with those markers reads back
    /// the same: a quoted marker is text to the reader, a bare one a missing value. A row of one
    /// empty field is written "" (a bare one would be a blank line, which the reader skips), so
    /// that it reads back as a row with a missing value.
    let formatWithMarkers (markers: string seq) (header: string seq) (rows: string[] seq) : string =
        let extra =
            HashSet<string>((if isNull (box markers) then Seq.empty else markers) |> Seq.filter (isNull >> not) |> Seq.map (fun m -> m.Trim()),
                            StringComparer.OrdinalIgnoreCase)
        let quoteField (s: string) =
            if extra.Contains(s.Trim()) && s <> "" && not (needsQuotes s) then "\"" + s + "\"" else quote s
        let sb = Text.StringBuilder()
        let line (fields: string seq) =
            let fields = Array.ofSeq fields
            let text = if fields.Length = 1 && fields.[0] = "" then "\"\"" else String.Join(",", fields |> Seq.map quoteField)
            sb.Append(text).Append('\n') |> ignore
        line header
        rows |> Seq.iter (fun r -> line r)
        sb.ToString()

    /// CSV text from a header and rows of fields (quoted where needed), lines ending in \n
    /// (`formatWithMarkers` with the default markers only).
    let format (header: string seq) (rows: string[] seq) : string = formatWithMarkers Seq.empty header rows

    /// The text of a feature cell: its category for a text column, "" when missing, else the number.
    let cellText (data: Dataset) (i: int) (j: int) : string =
        let v = data.Features.[i, j]
        if Double.IsNaN v then ""
        else
            let names = Dataset.categoriesOf data j
            if names.Length > 0 then names.[Dataset.categoryIndex data i j] else formatNumber v

    /// A data set as CSV text: its feature columns, then its target column (class names, or
    /// numbers in the round-trip "R" format), so that `loadText` reads back the same table (the
    /// same column names, the same number, category or missing value in each feature cell, the
    /// same class name or value in each row; the categories and classes listed are then those the
    /// cells hold, in the reader's order) when it reads with options that fit the data: TargetKind
    /// Regression for a regression target (nothing in a CSV cell tells a number from a class, so
    /// under Auto the rule reads a column of few integers each repeated, such as 1, 2, 3 three
    /// times each, as classes), and, when a feature is missing (NaN, written as an empty field), a
    /// Missing policy that keeps missing values (Mean, Median or MostFrequent; the default, Error,
    /// refuses them). With the default options it reads back so whenever no feature is missing and
    /// the target is classes or numbers the rule reads as numbers. To that end a text that
    /// reads as a missing value (a default marker: NA, N/A, NaN, null, ?, ...) or starts with a single quote is quoted,
    /// numeric class names are quoted so that they read back as classes, and every present cell of a
    /// text column with a category that reads as a number ("007") is quoted, so that the column reads
    /// back as text with its spelling. Data whose every cell would then be in quotes, some of them
    /// without need, are refused (an ArgumentException, ParamName "data"): the reader takes such a
    /// file for one that quotes every field (PostgreSQL's FORCE_QUOTE *), whose quotes say nothing.
    /// Header names and other feature cells are quoted only when they need it, so the reader never
    /// takes the output for a file that quotes every field (whose quotes say nothing) otherwise, even
    /// when every field in it is quoted. (A data set needs a feature column: the reader refuses a file without one, as the
    /// constructors refuse a 0-column feature matrix.) Raises
    /// ArgumentException (ParamName "data") for such data, for duplicate column names (the target's name equal
    /// to a feature's), a text cell that is not a category code, or a label outside the classes.
    let ofDataset (data: Dataset) : string =
        Check.notNull "data" (box data)
        match data.Target with
        | Target.Classes (labels, names) ->
            labels |> Array.iteri (fun i l ->
                if l < 0 || l >= names.Length then
                    Check.fail "data" (sprintf "At %s, the target '%s' holds the class index %d, outside 0 .. %d (its %d class names)." (data.RowPlace i) data.TargetName l (names.Length - 1) names.Length))
        | Target.Values _ -> ()
        let target (i: int) =
            match data.Target with
            | Target.Classes (labels, names) when labels.Length > 0 -> [| names.[labels.[i]] |]
            | Target.Values v when v.Length > 0 -> [| formatNumber v.[i] |]
            | _ -> [||]
        let hasTarget = (target 0 |> Array.length) > 0 || data.SampleCount = 0
        let header = Array.append data.FeatureNames (if hasTarget then [| data.TargetName |] else [||])
        let seen = HashSet<string>(StringComparer.Ordinal)
        for name in header do
            if not (seen.Add name) then
                Check.fail "data" (sprintf "The column name '%s' appears more than once among the feature names and the target's name; a CSV file needs distinct column names." name)
        // Numeric class names are written in quotes, which the reader takes for class names (not a
        // regression target), so that the file reads back as classes whatever the target rule says; so is every
        // present cell of a text column with a category that reads as a number ("007", "10"), which the reader
        // takes for a text column (numbers quoted in every present cell), keeping "007" as written.
        let numericClasses = match data.Target with Target.Classes (_, names) -> names |> Array.exists isNumber | _ -> false
        // Only the categories that some present cell holds count: a data set read for a model lists the model's
        // categories too (Pipeline.alignCategories), which the file's cells need not hold.
        let quotedColumns =
            Array.init data.FeatureCount (fun j ->
                let own = Dataset.categoriesOf data j
                own.Length > 0
                && Seq.init data.SampleCount id |> Seq.exists (fun i -> not (Double.IsNaN data.Features.[i, j]) && parses own.[Dataset.categoryIndex data i j]))
        let body = Array.init data.SampleCount (fun i -> Array.append (Array.init data.FeatureCount (fun j -> cellText data i j)) (target i))
        if not numericClasses && not (Array.contains true quotedColumns) then format header body
        else
            // A file whose every non-empty cell is in quotes reads as one that quotes every field (PostgreSQL's FORCE_QUOTE *,
            // whose quotes say nothing), which would lose what the quotes mean here: refused, never written to read back otherwise.
            let quotedCell (j: int) (f: string) = f = "" || needsQuotes f || (if j < data.FeatureCount then quotedColumns.[j] else numericClasses)
            // (Quotes every cell needs, a comma, a marker, do not make such a file: some feature cell must be quoted without need.)
            let withoutNeed (r: string[]) = r |> Array.mapi (fun j f -> j < data.FeatureCount && quotedColumns.[j] && f <> "" && not (needsQuotes f)) |> Array.exists id
            if data.SampleCount > 0 && body |> Array.forall (fun r -> r |> Array.mapi quotedCell |> Array.forall id) && body |> Array.exists withoutNeed then
                Check.fail "data" (sprintf "Every cell of the CSV text would be in quotes (the text columns %s have categories that read as numbers%s), and a file whose every cell is quoted reads as one that quotes every field, whose quotes say nothing, so the categories would read back as numbers; add a numeric column or a column of other text, or save the columns with Csv.format."
                                       (String.Join(", ", data.FeatureNames |> Array.indexed |> Array.filter (fun (j, _) -> quotedColumns.[j]) |> Array.map (fun (_, n) -> "'" + quoteText n + "'")))
                                       (if numericClasses then ", and the target's class names are numbers" else ""))
            let always (f: string) = "\"" + f.Replace("\"", "\"\"") + "\""
            let sb = Text.StringBuilder()
            let line (fields: string seq) = sb.Append(String.Join(",", fields |> Seq.map quote)).Append('\n') |> ignore
            line header
            for r in body do
                let text =
                    if r.Length = 1 && r.[0] = "" then "\"\""
                    else
                        String.Join(",", r |> Array.mapi (fun j f ->
                            if j < data.FeatureCount then (if quotedColumns.[j] && f <> "" then always f else quote f)
                            elif numericClasses then always f
                            else quote f))
                sb.Append(text).Append('\n') |> ignore
            sb.ToString()

    /// Writes a data set as a CSV file (`ofDataset`, in UTF-8 without a byte order mark) as model
    /// files are saved: atomically, through a symbolic link to its target, keeping the replaced
    /// file's permissions (`AtomicFile.writeAtomicWithOptions`, which lists the errors: an empty
    /// path or a directory is an ArgumentException, ParamName "path"; a read-only file is not
    /// replaced unless `options.OverwriteReadOnly`, UnauthorizedAccessException naming the path).
    /// The data are turned into text first, so data `ofDataset` refuses leave the file untouched.
    let saveWith (options: SaveOptions) (path: string) (data: Dataset) =
        Check.notNull "path" path
        Check.notNull "options" (box options)
        let bytes = UTF8Encoding(false).GetBytes(ofDataset data)
        AtomicFile.writeAtomicOptions options path bytes

    /// Writes a data set as a CSV file: `saveWith SaveOptions.Default` (a read-only file is refused).
    let save (path: string) (data: Dataset) = saveWith SaveOptions.Default path data
