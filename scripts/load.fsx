#r "../src/Core.FSharp/bin/Release/net10.0/MathNet.Numerics.dll"
#r "../src/Core.FSharp/bin/Release/net10.0/Functional.NN.dll"
#r "../src/Core.FSharp/bin/Release/net10.0/Functional.NN.Kernels.dll"
