# Runs onnx.checker.check_model (full_check=True: also ONNX's shape inference) on every .onnx file
# of a folder, with Debian's python3-onnx (1.12). OnnxTests.fs writes the library's exports (every
# activation in float32 and float64, opsets 13 and 17, and every kind of pipeline) to a temporary
# folder and runs this script on it; it can also be run by hand:
#   /usr/bin/python3 tests/reference/onnx_check.py FOLDER
# Prints one line per file and a summary "checked N models, M failed"; exits 1 if any failed.
import glob, os, sys
import onnx

folder = sys.argv[1]
files = sorted(glob.glob(os.path.join(folder, "*.onnx")))
failed = 0
for path in files:
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        print("ok", os.path.basename(path))
    except Exception as e:  # the checker raises ValidationError, shape inference InferenceError
        failed += 1
        print("FAILED", os.path.basename(path), type(e).__name__, str(e).replace("\n", " ")[:500])
print("onnx %s: checked %d models, %d failed" % (onnx.__version__, len(files), failed))
sys.exit(1 if failed or not files else 0)
