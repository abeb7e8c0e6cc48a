#!/usr/bin/env bash
# Regenerates OnnxProto.cs from onnx.proto with the protoc that the Google.Protobuf.Tools package
# ships (the version pinned in Directory.Packages.props), so the generated C# matches the
# Google.Protobuf runtime it is compiled against.
#
# onnx.proto comes from the ONNX python package (Debian's python3-onnx 1.12: IR version 8, opsets up
# to 17). It is copied here with one added line, `option csharp_namespace`, so that the classes
# live in Functional.NN.OnnxProto instead of a bare `Onnx` namespace. Both onnx.proto (the copy)
# and OnnxProto.cs are committed; run this script only to move to another onnx.proto or protoc.
#
# Usage: src/Onnx.CSharp/generate.sh   (needs `dotnet restore` of this project and python3-onnx; PYTHON overrides the interpreter)
set -euo pipefail
python="${PYTHON:-/usr/bin/python3}"  # Debian's python, which has python3-onnx
cd "$(dirname "$0")"
packages="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')"
version="$(sed -n 's:.*"Google.Protobuf.Tools" Version="\([^"]*\)".*:\1:p' ../../Directory.Packages.props)"
protoc="$packages/google.protobuf.tools/$version/tools/linux_x64/protoc"
[ -f "$protoc" ] || { echo "generate.sh: no protoc at $protoc; run dotnet restore on this project first" >&2; exit 1; }
onnx_dir="$("$python" -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')"
onnx_version="$("$python" -c 'import onnx; print(onnx.__version__)')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$protoc" "$work/protoc" && chmod +x "$work/protoc"
{
    echo "// Copied from the ONNX python package $onnx_version (onnx/onnx.proto) by generate.sh, which added the csharp_namespace option."
    sed 's/^package onnx;$/package onnx;\noption csharp_namespace = "Functional.NN.OnnxProto";/' "$onnx_dir/onnx.proto"
} > onnx.proto
grep -q 'csharp_namespace = "Functional.NN.OnnxProto"' onnx.proto || { echo "generate.sh: could not add the namespace option" >&2; exit 1; }
"$work/protoc" --proto_path=. --proto_path="$packages/google.protobuf.tools/$version/tools" \
    --csharp_out=. --csharp_opt=file_extension=.cs onnx.proto
mv Onnx.cs OnnxProto.cs
echo "generate.sh: OnnxProto.cs made from onnx.proto (onnx $onnx_version) by protoc $("$work/protoc" --version)"
