#!/usr/bin/env bash
# Packs the five packages (kernels, ONNX file classes, core, facade, the fnn tool) into a temporary folder, checks that each
# carries its README, licence and XML documentation, installs the tool from that folder with
# `dotnet tool install --tool-path` and runs it: with no arguments it must train on Iris and print
# a test accuracy of at least 0.93. Slow (about a minute): run it from CI, or through the test
# "packaging" with FNN_SLOW_TESTS=1. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
feed="$work/feed"
for project in src/Kernels.CSharp src/Onnx.CSharp src/Core.FSharp src/Facade.CSharp src/Cli.CSharp; do
    dotnet pack "$project" -c Release -o "$feed" --nologo -v quiet
done
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)"
check() { # package, files it must hold
    local name="$1" package="$feed/$1.$version.nupkg"; shift
    [ -f "$package" ] || { echo "pack-tool: $package was not made" >&2; exit 1; }
    local listing; listing="$(unzip -l "$package")"
    for f in README.md LICENSE "$@"; do
        grep -q " $f\$" <<<"$listing" || { echo "pack-tool: $name lacks $f" >&2; exit 1; }
    done
}
check Functional.NN.Kernels lib/net10.0/Functional.NN.Kernels.dll lib/net10.0/Functional.NN.Kernels.xml
check Functional.NN.Onnx.Proto lib/net10.0/Functional.NN.Onnx.Proto.dll lib/net10.0/Functional.NN.Onnx.Proto.xml
check Functional.NN lib/net10.0/Functional.NN.dll lib/net10.0/Functional.NN.xml
check Functional.NN.Facade lib/net10.0/Functional.NN.Facade.dll lib/net10.0/Functional.NN.Facade.xml
check Functional.NN.Cli tools/net10.0/linux-x64/fnn.dll tools/net10.0/linux-x64/DotnetToolSettings.xml
dotnet tool install Functional.NN.Cli --version "$version" --tool-path "$work/tools" --add-source "$feed" >/dev/null
output="$(cd "$work" && "$work/tools/fnn")"
accuracy="$(sed -n 's/^test accuracy: \([0-9.]*\).*/\1/p' <<<"$output")"
[ -n "$accuracy" ] || { echo "pack-tool: the installed fnn printed no test accuracy:" >&2; echo "$output" >&2; exit 1; }
awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.93) }' || { echo "pack-tool: test accuracy $accuracy < 0.93" >&2; exit 1; }
"$work/tools/fnn" --version
echo "pack-tool: packed Functional.NN.Kernels, Functional.NN.Onnx.Proto, Functional.NN, Functional.NN.Facade and Functional.NN.Cli $version; the installed fnn reached test accuracy $accuracy"
