#!/usr/bin/python3
"""Generates configs/nets/<name>.json (format: predict/NET_FORMAT.md) from the PyTorch models in
tools/reference_models.py, so that the net.json files follow torchvision 0.14 exactly.

Usage: /usr/bin/python3 tools/torchvision_to_net_json.py [OUT_DIR] [NAME ...]
       (default OUT_DIR: configs/nets; default NAME: every model in reference_models.MODELS)

The module tree is walked in forward order: nn.Sequential (and torchvision's
Conv2dNormActivation) -> "sequential", ResNet BasicBlock -> "residual" with a "downsample"
shortcut, MobileNetV3 InvertedResidual -> "residual" when it uses its identity shortcut and
"sequential" otherwise, SqueezeExcitation -> "squeeze_excitation". The forward order of the
top-level models (AlexNet, VGG, ResNet, MobileNetV3) is written out below, with the
torch.flatten(x, 1) of their forward() as a "flatten" layer. Fields equal to the torch.nn
default are omitted. Needs Debian python3-torchvision 0.14.
"""
import json
import os
import sys

import torchvision
from torch import nn
from torchvision.models.mobilenetv3 import InvertedResidual
from torchvision.models.resnet import BasicBlock, Bottleneck
from torchvision.ops.misc import SqueezeExcitation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402

# Training settings and descriptions per net.
SETTINGS = {
    "lenet5": dict(batch_size=64, comment=(
        "LeNet-5 (LeCun et al. 1998) in its common PyTorch form: 1x32x32 input (MNIST padded "
        "to 32x32), ReLU instead of scaled tanh, max pooling instead of trainable "
        "subsampling, C5 as a 400->120 linear layer. 61,706 parameters.")),
    "alexnet": dict(batch_size=128, comment=(
        "torchvision 0.14 alexnet(num_classes=10), including its AdaptiveAvgPool2d((6, 6)); "
        "224x224 input as torchvision. 57,044,810 parameters.")),
    "alexnet_legacy": dict(batch_size=512, comment=(
        "The prototype's measured network: torchvision 0.14 alexnet(num_classes=1000) "
        "followed by an extra Linear(1000, 10), on 3x64x64 inputs (AdaptiveAvgPool2d((6, 6)) "
        "upsamples the 1x1 feature map). 61,110,850 parameters.")),
    "resnet18_legacy": dict(batch_size=512, comment=(
        "The prototype's measured ResNet-18: torchvision 0.14 resnet18(num_classes=1000) "
        "followed by an extra Linear(1000, 10), on 3x64x64 inputs (its src/nets/torch_nets.py). "
        "11,699,522 parameters.")),
    "mobilenet_v3_small_legacy": dict(batch_size=512, comment=(
        "The prototype's measured MobileNetV3-Small: torchvision 0.14 "
        "mobilenet_v3_small(num_classes=1000) followed by an extra Linear(1000, 10), on 3x64x64 "
        "inputs (its src/nets/torch_nets.py). 2,552,866 parameters.")),
    "vgg11": dict(batch_size=64, comment=(
        "torchvision 0.14 vgg11(num_classes=10) (configuration A, no batch norm); 224x224 "
        "input as torchvision. 128,807,306 parameters.")),
    "resnet18": dict(batch_size=64, comment=(
        "torchvision 0.14 resnet18(num_classes=10); 224x224 input as torchvision. "
        "11,181,642 parameters.")),
    "mobilenet_v3_small": dict(batch_size=64, comment=(
        "torchvision 0.14 mobilenet_v3_small(num_classes=10): BatchNorm eps 0.001 and "
        "momentum 0.01, hardswish, squeeze-excitation with hardsigmoid, dropout 0.2; 224x224 "
        "input as torchvision. 1,528,106 parameters.")),
}
DATASET_SIZE = 50000  # CIFAR-10 training set
EPOCHS = 10


def _sides(value):
    """torch.nn stores sizes as tuples: an integer when square, else [height, width] (conv2d's
    kernel_size and padding in net.json)."""
    if isinstance(value, (tuple, list)):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def _single(value, what):
    """net.json has square strides and pooling kernels."""
    side = _sides(value)
    if isinstance(side, list):
        raise ValueError(f"{what} {value} is not square")
    return side


def _conv(m: nn.Conv2d):
    if _single(m.dilation, "dilation") != 1 or m.padding_mode != "zeros":
        raise ValueError("dilated or non-zero-padded conv2d not supported")
    if isinstance(m.padding, str):
        raise ValueError(f"string padding '{m.padding}' not supported")
    d = {"type": "conv2d", "out_channels": m.out_channels,
         "kernel_size": _sides(m.kernel_size)}
    if _single(m.stride, "stride") != 1:
        d["stride"] = _single(m.stride, "stride")
    if _sides(m.padding) != 0:
        d["padding"] = _sides(m.padding)
    if m.groups != 1:
        d["groups"] = m.groups
    if m.bias is None:
        d["bias"] = False
    return d


def _pool(m, type_name):
    if type_name == "maxpool2d" and (_single(m.dilation, "dilation") != 1 or m.ceil_mode):
        raise ValueError("dilated or ceil_mode max pooling not supported")
    if type_name == "avgpool2d" and (m.ceil_mode or not m.count_include_pad):
        raise ValueError("avgpool2d with ceil_mode or count_include_pad=False not supported")
    k = _single(m.kernel_size, "kernel_size")
    d = {"type": type_name, "kernel_size": k}
    if _single(m.stride, "stride") != k:
        d["stride"] = _single(m.stride, "stride")
    if _single(m.padding, "padding") != 0:
        d["padding"] = _single(m.padding, "padding")
    return d


def _leaf(m: nn.Module):
    if isinstance(m, nn.Conv2d):
        return _conv(m)
    if isinstance(m, nn.MaxPool2d):
        return _pool(m, "maxpool2d")
    if isinstance(m, nn.AvgPool2d):
        return _pool(m, "avgpool2d")
    if isinstance(m, nn.AdaptiveAvgPool2d):
        size = m.output_size
        if isinstance(size, (tuple, list)) and len(set(size)) == 1:
            size = size[0]
        return {"type": "adaptive_avgpool2d",
                "output_size": list(size) if isinstance(size, (tuple, list)) else size}
    if isinstance(m, nn.Linear):
        d = {"type": "linear", "out_features": m.out_features}
        if m.bias is None:
            d["bias"] = False
        return d
    if isinstance(m, nn.BatchNorm2d):
        d = {"type": "batchnorm2d"}
        if m.eps != 1e-5:
            d["eps"] = m.eps
        if m.momentum != 0.1:
            d["momentum"] = m.momentum
        return d
    if isinstance(m, nn.LayerNorm) and len(m.normalized_shape) == 1 and m.elementwise_affine:
        # nn.LayerNorm over (N, F), or torchvision's LayerNorm2d (a subclass) over the channels
        # of (N, C, H, W): net.json's layer_norm is both.
        return {"type": "layer_norm"} if m.eps == 1e-5 else {"type": "layer_norm", "eps": m.eps}
    if isinstance(m, nn.Dropout):
        return {"type": "dropout"} if m.p == 0.5 else {"type": "dropout", "p": m.p}
    if isinstance(m, nn.Flatten):
        d = {"type": "flatten"}
        if m.start_dim != 1:
            d["start_dim"] = m.start_dim
        if m.end_dim != -1:
            d["end_dim"] = m.end_dim
        return d
    for cls, name in ((nn.ReLU, "relu"), (nn.ReLU6, "relu6"), (nn.Hardswish, "hardswish"),
                      (nn.Hardsigmoid, "hardsigmoid"), (nn.Sigmoid, "sigmoid"), (nn.SiLU, "silu"),
                      (nn.GELU, "gelu"), (nn.Tanh, "tanh")):
        if isinstance(m, cls):
            return {"type": name}
    if isinstance(m, nn.Softmax) and m.dim == -1:
        return {"type": "softmax"}
    raise ValueError(f"no net.json layer for {type(m).__name__}")


def _activation_name(m: nn.Module) -> str:
    return _leaf(m)["type"]


def _named(name, layer):
    return {"type": layer["type"], "name": name,
            **{k: v for k, v in layer.items() if k != "type"}}


def _children(module, names):
    return [convert(getattr(module, n), n) for n in names]


def convert(m: nn.Module, name=None):
    """One net.json layer (dict) for module m, named `name` (None at the top level)."""
    flatten = {"type": "flatten", "name": "flatten"}
    if isinstance(m, (torchvision.models.AlexNet, torchvision.models.VGG,
                      torchvision.models.MobileNetV3)):
        layers = _children(m, ["features", "avgpool"]) + [flatten] + _children(m, ["classifier"])
    elif isinstance(m, torchvision.models.ResNet):
        layers = (_children(m, ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3",
                                "layer4", "avgpool"]) + [flatten] + _children(m, ["fc"]))
    elif isinstance(m, nn.Sequential):
        layers = [convert(child, child_name) for child_name, child in m.named_children()]
    elif isinstance(m, Bottleneck):
        raise ValueError("Bottleneck blocks are not converted (add them like BasicBlock)")
    elif isinstance(m, BasicBlock):
        block = {"type": "residual", "name": name,
                 "layers": _children(m, ["conv1", "bn1", "relu", "conv2", "bn2"])}
        if m.downsample is not None:
            block["shortcut_name"] = "downsample"
            block["shortcut"] = [convert(c, n) for n, c in m.downsample.named_children()]
        block["activation"] = _activation_name(m.relu)
        return block
    elif isinstance(m, InvertedResidual):
        inner = [convert(m.block, "block")]
        if m.use_res_connect:
            return {"type": "residual", "name": name, "layers": inner, "activation": "none"}
        return {"type": "sequential", "name": name, "layers": inner}
    elif isinstance(m, SqueezeExcitation):
        return {"type": "squeeze_excitation", "name": name,
                "squeeze_channels": m.fc1.out_channels,
                "activation": _activation_name(m.activation),
                "scale_activation": _activation_name(m.scale_activation)}
    else:
        return _named(name, _leaf(m))
    if name is None:
        return layers
    return {"type": "sequential", "name": name, "layers": layers}


def _is_flat(value) -> bool:
    """True for scalars, lists of scalars and objects whose values are all of those."""
    if isinstance(value, dict):
        return all(not isinstance(v, dict) and (not isinstance(v, list) or _is_flat(v))
                   for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return True


def _format(value, indent=0) -> str:
    """JSON with each flat object (a leaf layer, "input", "optimizer") on one line."""
    if _is_flat(value):
        return json.dumps(value, separators=(", ", ": "))
    pad = "  " * indent
    if isinstance(value, dict):
        items = [f"{pad}  {json.dumps(k)}: {_format(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [pad + "  " + _format(v, indent + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"


def _drop_index_names(layers):
    """Removes "name" where it equals the layer's index in its list (the default path segment),
    as in torch.nn.Sequential."""
    for i, layer in enumerate(layers):
        if layer.get("name") == str(i):
            del layer["name"]
        for key in ("layers", "shortcut"):
            if key in layer:
                _drop_index_names(layer[key])
    return layers


def net_json(name: str) -> dict:
    model = reference_models.build(name)
    channels, height, width = reference_models.MODELS[name][1]
    settings = SETTINGS[name]
    return {
        "_comment": settings["comment"] + " Generated by tools/torchvision_to_net_json.py.",
        "name": name,
        "input": {"channels": channels, "height": height, "width": width},
        "batch_size": settings["batch_size"],
        "dataset_size": DATASET_SIZE,
        "epochs": EPOCHS,
        "optimizer": {"type": "sgd", "lr": 0.01, "momentum": 0.9},
        "num_classes": reference_models.NUM_CLASSES,
        "layers": _drop_index_names(convert(model)),
    }


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "configs", "nets")
    names = sys.argv[2:] or list(reference_models.MODELS)
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        path = os.path.join(out_dir, name + ".json")
        with open(path, "w") as f:
            f.write(_format(net_json(name)) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
