// Every script here starts with #load "load.fsx": the Release build of the library. In a clone that
// is not built yet, F# Interactive stops at the first #r below with "error FS0078: Unable to find the
// file '...'", before any code of the script could run; so the instruction is written into that path.
// Its first folder need not exist: "A/../x" is resolved as text to "x", so once the library is built
// the reference is plain ../src/Core.FSharp/bin/Release/net10.0/MathNet.Numerics.dll.
#r "NOT BUILT YET - run 'dotnet build -c Release' in the repository's root first, then run the script again/../../src/Core.FSharp/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Core.FSharp/bin/Release/net10.0/Functional.NN.dll"
#r "../src/Core.FSharp/bin/Release/net10.0/Functional.NN.Kernels.dll"
