# Makes the PyTorch fixtures of OnnxTests.fs: small nn.Sequential models exported by
# torch.onnx.export (Debian's python3-torch 1.13, CPU), each beside a JSON file holding the inputs
# and what PyTorch predicted for them (eval mode, full precision: json writes repr of each value,
# float32 results widened exactly to float64). Run from the repository root:
#   /usr/bin/python3 tests/reference/onnx_torch_fixtures.py
# It rewrites tests/fixtures/onnx/torch_*.onnx and torch_*.json (deterministic seeds).
import json, os, sys
import torch
from torch import nn

out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "onnx")
os.makedirs(out_dir, exist_ok=True)
torch.set_num_threads(1)

def family(d_in, bias=True):
    # Every activation of the library once, a Dropout (identity in eval mode) and a trailing Softmax.
    return nn.Sequential(
        nn.Linear(d_in, 8, bias=bias), nn.ReLU(),
        nn.Linear(8, 6), nn.Tanh(),
        nn.Linear(6, 5), nn.Sigmoid(),
        nn.Linear(5, 5), nn.LeakyReLU(0.1),
        nn.Linear(5, 4), nn.Softplus(), nn.Dropout(0.3),
        nn.Linear(4, 3), nn.Softmax(dim=1))

def export(name, model, x, opset=17, dynamic=True):
    model.eval()
    with torch.no_grad():
        y = model(x)
        # The README's ONNX quick start prints the logits of the row [1, 2, 3, 4] (the model without
        # its Softmax); models of another input width have none.
        row = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=x.dtype)
        logits = (model[:-1] if isinstance(model[-1], nn.Softmax) else model)(row) if x.shape[1] == 4 else None
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], opset_version=opset,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump({"producer": "torch " + torch.__version__, "dtype": str(x.dtype).replace("torch.", ""),
                   "x": x.double().tolist(), "y": y.double().tolist(),
                   **({"logits_1234": logits.double().tolist()[0]} if logits is not None else {})}, f)
    print(name, tuple(x.shape), "->", tuple(y.shape), os.path.getsize(path), "bytes")

torch.manual_seed(15)
x = torch.randn(7, 4) * 2.0
export("torch_family_f32", family(4), x)
torch.manual_seed(16)
export("torch_family_f64", family(4).double(), x.double())
# No bias on the first layer: torch writes MatMul for it instead of Gemm.
torch.manual_seed(17)
export("torch_nobias_f32", family(4, bias=False), x, opset=13)
# Without the Softmax, a plain regressor-style head (logits out).
torch.manual_seed(18)
export("torch_mlp_f32", nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)), x, dynamic=False)
# LayerNorm (LayerNormalization at opset 17): a layer normalisation block.
torch.manual_seed(19)
export("torch_layernorm_f32", nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.ReLU(), nn.Linear(6, 2)), x)
# BatchNorm1d right after a Linear, at inference: a batch normalisation block with its running statistics.
torch.manual_seed(20)
bn = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))
with torch.no_grad():
    bn[1].running_mean.copy_(torch.randn(6)); bn[1].running_var.copy_(torch.rand(6) + 0.5)
    bn[1].weight.copy_(torch.randn(6)); bn[1].bias.copy_(torch.randn(6))
export("torch_batchnorm_f64", bn.double(), x.double())
# A residual block x + f(x) (torch writes the Add of the block's input and f's output), with a
# LayerNorm inside and a Dropout (eval mode: torch leaves it out of the graph).
class Residual(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f
    def forward(self, x):
        return x + self.f(x)
torch.manual_seed(21)
res = nn.Sequential(nn.Linear(4, 6), nn.ReLU(),
                    Residual(nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.LayerNorm(6), nn.Dropout(0.2))),
                    nn.Linear(6, 2))
with torch.no_grad():
    res[2].f[2].weight.copy_(torch.randn(6)); res[2].f[2].bias.copy_(torch.randn(6))
export("torch_residual_f32", res, x)
# Two parameters of equal values: torch.onnx.export keeps one initialiser and writes the other as an
# alias, Identity(<first>) -> <second> (here: the zero biases of layers 0 and 2, 0.bias and 2.bias).
torch.manual_seed(22)
alias = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
with torch.no_grad():
    nn.init.zeros_(alias[0].bias); nn.init.zeros_(alias[2].bias)
x5 = torch.randn(7, 5) * 2.0
export("torch_alias_f32", alias, x5)
# A fresh BatchNorm1d in eval mode: its running_var (ones) equals its weight (ones), and its
# running_mean (zeros) its bias (zeros), so the statistics are aliases of the parameters.
torch.manual_seed(23)
export("torch_bnfresh_f32", nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU()), x5)
