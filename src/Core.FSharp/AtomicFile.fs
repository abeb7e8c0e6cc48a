namespace Functional.NN

open System
open System.IO

/// How a save treats the file it replaces (see AtomicFile.writeAtomicWithOptions).
type SaveOptions =
    { /// Replace a read-only file (keeping its read-only mode) instead of refusing with
      /// UnauthorizedAccessException. False by default.
      OverwriteReadOnly: bool }
    /// OverwriteReadOnly = false.
    static member Default = { OverwriteReadOnly = false }
    /// A copy with OverwriteReadOnly changed.
    member this.WithOverwriteReadOnly(overwrite: bool) = { this with OverwriteReadOnly = overwrite }

/// The type of the file a path names, as stat(2) gives it (symbolic links followed), through the
/// runtime's own native shim (libSystem.Native, which System.IO uses on every Unix): the one way to
/// tell a device, a pipe or a socket from a regular file, which System.IO does not expose.
module internal FileType =

    [<System.Runtime.InteropServices.DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat")>]
    extern int systemNativeStat(string path, byte[] status)

    /// The mode bits of the shim's FileStatus (its second int32, after Flags), in the shim's own
    /// constants, which are the same on every Unix: the type is mode &&& 0xF000.
    let private typeMask = 0xF000
    let private fifo = 0x1000
    let private charDevice = 0x2000
    let private blockDevice = 0x6000
    let private socket = 0xC000

    /// The type bits (mode &&& 0xF000) of the file `path` names, links followed: Some bits, or
    /// None when stat fails (nothing is there). Raises DllNotFoundException or
    /// EntryPointNotFoundException when the runtime lacks the shim.
    let private typeBits (path: string) : int option =
        // FileStatus is about 130 bytes; the buffer leaves room for fields later runtimes add.
        let status = Array.zeroCreate<byte> 512
        if systemNativeStat(path, status) = 0 then Some (BitConverter.ToInt32(status, 4) &&& typeMask) else None

    /// True when `path` (links followed) is a character or block device, a FIFO or a socket:
    /// something to write into, not a file to replace. False for a regular file, a directory,
    /// a path that does not exist, and on Windows. Should the runtime lack the shim (a runtime
    /// that no longer ships it), the path decides as a last resort: a path under /dev/ or /proc/,
    /// its links followed, is written in place, so that a save never puts a regular file in
    /// place of /dev/null.
    let isDeviceOrPipe (path: string) : bool =
        if OperatingSystem.IsWindows() then false
        else
            let answer =
                try Some (typeBits path)
                with :? DllNotFoundException | :? EntryPointNotFoundException -> None
            match answer with
            | Some None -> false
            | Some (Some kind) -> kind = charDevice || kind = blockDevice || kind = fifo || kind = socket
            | None ->
                let resolved =
                    try
                        match FileInfo(path).ResolveLinkTarget(true) with
                        | null -> path
                        | t -> t.FullName
                    with :? IOException -> path
                resolved.StartsWith("/dev/", StringComparison.Ordinal) || resolved.StartsWith("/proc/", StringComparison.Ordinal)

    /// True when `path` (links followed) is a FIFO; false otherwise, on Windows, and without the shim.
    let isFifo (path: string) : bool =
        not (OperatingSystem.IsWindows())
        && (try typeBits path = Some fifo with :? DllNotFoundException | :? EntryPointNotFoundException -> false)

    /// True when `path` (links followed) is a character device; false otherwise, on Windows, and
    /// without the shim.
    let isCharDevice (path: string) : bool =
        not (OperatingSystem.IsWindows())
        && (try typeBits path = Some charDevice with :? DllNotFoundException | :? EntryPointNotFoundException -> false)

    /// The paths that name one of the process's own descriptors: /dev/stdin, /dev/stdout,
    /// /dev/stderr, /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N and /proc/<pid>/fd/N.
    let private descriptorPath =
        Text.RegularExpressions.Regex(@"^/(dev/((?<name>stdin|stdout|stderr)|fd/(?<n>[0-9]{1,18}))|proc/(self|thread-self|(?<pid>[0-9]{1,18}))/fd/(?<n>[0-9]{1,18}))$")

    /// The descriptor that `path` (a full path), or a link on the way from it to its target,
    /// names when it is one of the process's own descriptors (/dev/stdout, /dev/stderr,
    /// /dev/fd/N, /proc/<pid|self>/fd/N): Some N for this process's descriptor N, Some -1 for a
    /// descriptor of another process (/proc/<other pid>/fd/N); None otherwise and on Windows.
    /// What the descriptor stands for (a terminal, a pipe, or the shell's regular file behind
    /// `> out.csv`) is the process's output, to be written into, never replaced.
    let ownDescriptor (path: string) : int option =
        if OperatingSystem.IsWindows() then None
        else
            let ofMatch (m: Text.RegularExpressions.Match) =
                let thisProcess =
                    match m.Groups.["pid"] with
                    | g when g.Success -> (match Int64.TryParse g.Value with | true, pid -> pid = int64 Environment.ProcessId | _ -> true)
                    | _ -> true
                match m.Groups.["name"].Value with
                | "stdin" -> Some 0
                | "stdout" -> Some 1
                | "stderr" -> Some 2
                | _ ->
                    let number = Int64.Parse(m.Groups.["n"].Value, Globalization.CultureInfo.InvariantCulture)
                    Some (if thisProcess && number <= int64 Int32.MaxValue then int number else -1)
            // At most 40 links, as the kernel follows (ELOOP beyond).
            let rec walk (p: string) (steps: int) =
                let m = descriptorPath.Match p
                if m.Success then ofMatch m
                elif steps >= 40 then None
                else
                    match (try FileInfo(p).LinkTarget with :? IOException | :? UnauthorizedAccessException -> null) with
                    | null -> None
                    | t -> walk (Path.GetFullPath(Path.Combine(Path.GetDirectoryName p, t))) (steps + 1)
            walk path 0

    /// True when `ownDescriptor path` is Some: `path` is, or resolves through, one of the
    /// process's own descriptors. False on Windows.
    let isOwnDescriptor (path: string) : bool = (ownDescriptor path).IsSome

    [<System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true)>]
    extern int private libcOpen(string path, int flags)

    [<System.Runtime.InteropServices.DllImport("libSystem.Native", EntryPoint = "SystemNative_FcntlSetIsNonBlocking", SetLastError = true)>]
    extern int private systemNativeSetIsNonBlocking(nativeint fd, int isNonBlocking)

    /// Opens the FIFO `full` for writing without ever blocking in open(2): a non-blocking open
    /// fails (ENXIO) while no process has the FIFO open for reading, so it is retried every 20 ms
    /// until `wait` has passed, then IOException naming `display` ("no process reads the FIFO").
    /// Once open, the descriptor is made blocking again, so that writes wait for the reader.
    let openFifoForWriting (display: string) (full: string) (wait: TimeSpan) : FileStream =
        let oWronly = 1
        let oNonBlock, oCloexec = if OperatingSystem.IsLinux() then 0x800, 0x80000 else 0x4, 0x1000000
        let enxio = 6
        let clock = Diagnostics.Stopwatch.StartNew()
        let rec attempt () =
            let fd = libcOpen(full, oWronly ||| oNonBlock ||| oCloexec)
            if fd >= 0 then fd
            else
                let errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError()
                if errno = enxio && clock.Elapsed < wait then
                    Threading.Thread.Sleep 20
                    attempt ()
                elif errno = enxio then
                    raise (IOException(sprintf "Cannot write to the FIFO '%s': no process reads the FIFO (none opened it for reading within %g s)." display wait.TotalSeconds))
                else
                    let reason = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage errno
                    if errno = 13 then raise (UnauthorizedAccessException(sprintf "Cannot write to the FIFO '%s': %s." display reason))
                    else raise (IOException(sprintf "Cannot write to the FIFO '%s': %s." display reason))
        let handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(nativeint (attempt ()), true)
        try
            if systemNativeSetIsNonBlocking(handle.DangerousGetHandle(), 0) <> 0 then
                raise (IOException(sprintf "Cannot write to the FIFO '%s': %s." display (System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()))))
            new FileStream(handle, FileAccess.Write, 0)
        with _ ->
            handle.Dispose()
            reraise ()

/// Writing a file atomically, with the semantics of a careful tool (see `writeAtomicWithOptions`):
/// what model files (ModelFile), ONNX exports and CSV files (Csv.save) are saved with.
module AtomicFile =

    /// How many bytes each write of `writeAtomicWith` passes to the stream.
    let writeChunk = 4096

    /// The temporary file's name for a save of `name`: ".<name>.<16 hex digits>.tmp", with
    /// <name> shortened (never inside a UTF-16 surrogate pair) so that the whole name stays
    /// within 255 UTF-8 bytes, the limit of a file name on Linux, macOS and Windows file systems:
    /// a legal file name of 255 bytes gets a legal temporary name.
    let tempNameFor (name: string) =
        let suffix = "." + Guid.NewGuid().ToString("N").Substring(0, 16) + ".tmp"
        let budget = 255 - 1 - Text.Encoding.UTF8.GetByteCount suffix
        let mutable prefix = name
        while Text.Encoding.UTF8.GetByteCount prefix > budget do
            let cut = prefix.Length - 1
            let cut = if cut > 0 && Char.IsHighSurrogate prefix.[cut - 1] then cut - 1 else cut
            prefix <- prefix.Substring(0, cut)
        "." + prefix + suffix

    /// True when a save to `path` writes into it in place instead of replacing it: when `path` is,
    /// or resolves through, one of the process's own descriptors (/dev/stdout, /dev/stderr,
    /// /dev/fd/N, /proc/<pid|self>/fd/N), whatever it stands for (a regular file too), or when
    /// `path`, its symbolic links followed, is a character or block device, a FIFO or a socket
    /// (/dev/null, a link to a device). False for a regular file (wherever it is, /dev/shm too), a
    /// directory, a path where nothing is, and on Windows.
    let writesInPlace (path: string) : bool =
        Check.notNull "path" path
        not (String.IsNullOrWhiteSpace path)
        && (let full = Path.GetFullPath path in FileType.isOwnDescriptor full || FileType.isDeviceOrPipe full)

    /// How long a save to a FIFO waits for a process to open it for reading: 5 s.
    let fifoWait = TimeSpan.FromSeconds 5.0

    /// Writes `bytes` into the file `full` (the user's `path`) in place. `append`: at its end,
    /// nothing truncated (one of the process's own descriptors); otherwise from its start, and
    /// then, when the stream can seek, truncated after the bytes (a device refuses that, which is
    /// ignored), so a shorter save leaves no tail of the old file. A FIFO is opened without
    /// blocking: `openFifoForWriting` with `fifoWait`.
    let internal writeInPlace (append: bool) (wrap: Stream -> Stream) (path: string) (full: string) (bytes: byte[]) =
        use file =
            if FileType.isFifo full then FileType.openFifoForWriting path full fifoWait
            else new FileStream(full, (if append then FileMode.Append else FileMode.Open), FileAccess.Write)
        use stream = wrap (file :> Stream)
        stream.Write(bytes, 0, bytes.Length)
        stream.Flush()
        if not append && file.CanSeek then
            try file.SetLength file.Position
            with :? IOException | :? NotSupportedException -> ()

    /// Writes bytes to `path` atomically, with the semantics of a careful tool:
    /// - a symbolic link at `path` is followed (through a chain of links) and its target is
    ///   written; the link stays a link;
    /// - the bytes go to a temporary file in the target's folder (through `wrap`, which tests
    ///   use to inject faults), in chunks of `writeChunk`, flushed to disk, given the replaced
    ///   file's permissions (its Unix mode), then renamed over the target, so a crash leaves the
    ///   old file or the new one;
    /// - a read-only file (no owner write permission; the ReadOnly attribute on Windows) is not
    ///   replaced unless `options.OverwriteReadOnly`: UnauthorizedAccessException naming the path;
    /// - the temporary name stays within 255 bytes (`tempNameFor`);
    /// - if anything fails the temporary file is deleted and the target is untouched;
    /// - errors name the user's path, never the temporary one.
    /// An empty or blank path, a directory at `path`, or a file where a folder of the path should
    /// be (`a.fnn/m.fnn` with `a.fnn` a file) is an ArgumentException (ParamName "path"); a missing
    /// folder a DirectoryNotFoundException. What is replaced is decided by the type of the file `path`
    /// names once its links are followed, never by where it is: a character or block device, a
    /// FIFO or a socket (/dev/null, a link to a device) is written in place from its start (a
    /// device cannot be replaced: a regular file would take the device's place; what can be
    /// truncated after the bytes is), and the link or device stays what it was; a FIFO is opened
    /// without blocking, and when no process opens it for reading within `fifoWait` the save is
    /// an IOException naming the path; a regular file anywhere (in /dev/shm too) is replaced as
    /// above. A path that is, or resolves through, one of the process's own descriptors
    /// (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/<pid|self>/fd/N) is appended to in place,
    /// whatever it stands for: `--out /dev/stdout >> log.txt` adds to log.txt, never replaces it;
    /// the process's standard output and error are written through their own descriptors (their
    /// offsets), so that with `> out.csv` what the process writes later follows the bytes.
    let writeAtomicWithOptions (options: SaveOptions) (wrap: Stream -> Stream) (path: string) (bytes: byte[]) =
        Check.notNull "path" path
        Check.notNull "bytes" bytes
        Check.notNull "options" (box options)
        if String.IsNullOrWhiteSpace path then Check.fail "path" "path is empty; give the file to write."
        let full = Path.GetFullPath path
        // /dev/stdout and the like are the process's own output, whatever they stand for (the
        // shell's regular file behind `>> log.txt` too): appended to, never replaced. Otherwise
        // stat follows the links, so a link to a device is a device here.
        let descriptor = FileType.ownDescriptor full
        if descriptor = Some 1 || descriptor = Some 2 then
            // The process's own standard output or error: written through that descriptor (its
            // open file, its offset), as the process's own output is, so that `> out.csv` gets
            // the bytes at the current end and what the process writes later follows them.
            use console = if descriptor = Some 1 then Console.OpenStandardOutput() else Console.OpenStandardError()
            use stream = wrap console
            stream.Write(bytes, 0, bytes.Length)
            stream.Flush()
        elif descriptor.IsSome then writeInPlace true wrap path full bytes
        elif FileType.isDeviceOrPipe full then writeInPlace false wrap path full bytes
        else
        let target =
            let info = FileInfo(full)
            if isNull info.LinkTarget then full
            else
                match info.ResolveLinkTarget(true) with
                | null -> full
                | t -> Path.GetFullPath t.FullName
        if Directory.Exists target then Check.fail "path" (sprintf "'%s' is a directory; a file cannot be saved in its place." path)
        let dir = Path.GetDirectoryName target
        if not (Directory.Exists dir) then
            // The nearest ancestor that exists: a file there (a.fnn/m.fnn with a.fnn a file) is
            // said to be a file, not reported as a missing folder.
            let rec nearestExistingFile (d: string) =
                if isNull d || d = "" then None
                elif File.Exists d then Some d
                elif Directory.Exists d then None
                else nearestExistingFile (Path.GetDirectoryName d)
            match nearestExistingFile dir with
            | Some file ->
                Check.fail "path" (sprintf "Cannot save '%s': '%s' is a file, not a folder, so no file can be saved under it." path file)
            | None ->
                raise (DirectoryNotFoundException(sprintf "The folder '%s' of the file '%s' does not exist." dir path))
        let existing = File.Exists target
        let mode = if existing && not (OperatingSystem.IsWindows()) then Some (File.GetUnixFileMode target) else None
        if existing then
            let readOnly =
                match mode with
                | Some m -> not (m.HasFlag UnixFileMode.UserWrite)
                | None -> File.GetAttributes(target).HasFlag FileAttributes.ReadOnly
            if readOnly && not options.OverwriteReadOnly then
                raise (UnauthorizedAccessException(sprintf "The file '%s' is read-only, so it was not replaced. Make it writable, or save with OverwriteReadOnly to replace it (its permissions are kept)." path))
        let temp = Path.Combine(dir, tempNameFor (Path.GetFileName target))
        let mention (e: exn) =
            let m = e.Message.Replace(temp, path)
            if m.Contains path then m else sprintf "%s (saving '%s')" m path
        try
            try
                do
                    use file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None)
                    use stream = wrap (file :> Stream)
                    let mutable offset = 0
                    while offset < bytes.Length do
                        let n = min writeChunk (bytes.Length - offset)
                        stream.Write(bytes, offset, n)
                        offset <- offset + n
                    stream.Flush()
                    file.Flush(true)
                match mode with
                | Some m -> File.SetUnixFileMode(temp, m)
                | None -> ()
                File.Move(temp, target, true)
            with _ ->
                (try File.Delete temp with _ -> ())
                reraise ()
        with
        | :? UnauthorizedAccessException as e ->
            raise (UnauthorizedAccessException(sprintf "Cannot save '%s': permission to write in its folder '%s' was denied." path dir, e))
        | :? PathTooLongException as e -> raise (PathTooLongException(mention e, e))
        | :? DirectoryNotFoundException as e -> raise (DirectoryNotFoundException(mention e, e))
        | :? IOException as e -> raise (IOException(mention e, e))

    /// `writeAtomicWithOptions SaveOptions.Default`.
    let writeAtomicWith (wrap: Stream -> Stream) (path: string) (bytes: byte[]) =
        writeAtomicWithOptions SaveOptions.Default wrap path bytes

    /// `writeAtomicWith id`: refuses to replace a read-only file.
    let writeAtomic (path: string) (bytes: byte[]) = writeAtomicWith id path bytes

    /// `writeAtomicWithOptions options id`.
    let writeAtomicOptions (options: SaveOptions) (path: string) (bytes: byte[]) = writeAtomicWithOptions options id path bytes
