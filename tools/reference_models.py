"""Reference PyTorch models for the networks in configs/nets/ (Debian python3-torchvision 0.14).

Shared by tools/export_torchscript.py, tools/torchvision_param_counts.py and
tools/torchvision_to_net_json.py. Each entry builds the torch.nn.Module that the net.json file of
the same name describes; module names (and so parameter paths such as "layer1.0.conv1") match
the "name" fields in the net.json files.

Run with the Debian interpreter (/usr/bin/python3), which has python3-torch and
python3-torchvision; a pyenv or venv python3 usually has neither.
"""
from collections import OrderedDict

import torch
import torchvision
from torch import nn

NUM_CLASSES = 10


def lenet5() -> nn.Module:
    """LeNet-5 (LeCun et al. 1998) in its common PyTorch form: 1x32x32 input (MNIST padded to
    32x32), ReLU instead of the scaled tanh, max pooling instead of trainable subsampling and a
    fully connected C5 (400 -> 120). 61,706 parameters."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 6, kernel_size=5)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(kernel_size=2, stride=2)),
        ("conv2", nn.Conv2d(6, 16, kernel_size=5)),
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(kernel_size=2, stride=2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(16 * 5 * 5, 120)),
        ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(120, 84)),
        ("relu4", nn.ReLU()),
        ("fc3", nn.Linear(84, NUM_CLASSES)),
    ]))


def with_cifar_head(model: nn.Module, name: str) -> nn.Module:
    """The prototype's networks (its src/nets/torch_nets.py): a torchvision model with its
    1000-class head, followed by an extra Linear(1000, 10) for CIFAR-10 resized to 64x64."""
    return nn.Sequential(OrderedDict([(name, model), ("fc", nn.Linear(1000, NUM_CLASSES))]))


def alexnet_legacy() -> nn.Module:
    """The prototype's measured AlexNet."""
    return with_cifar_head(torchvision.models.alexnet(num_classes=1000), "alexnet")


def text_transformer() -> nn.Module:
    """configs/nets/text_transformer.json: a Transformer-encoder text classifier about the size
    of MobileBERT. Token ids (N, 128) of a 30522-word vocabulary, nn.Embedding(30522, 256), 4
    nn.TransformerEncoderLayer(256, 4, 1024, dropout 0.1, batch_first=True), flatten, and
    Linear(128 * 256, 2). 11,038,210 parameters."""
    return nn.Sequential(OrderedDict([
        ("embedding", nn.Embedding(30522, 256)),
        ("encoder", nn.Sequential(*[
            nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.1,
                                       batch_first=True) for _ in range(4)])),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(128 * 256, 2)),
    ]))


class MeanPooledClassifier(nn.Module):
    """Embedding, an encoder stack, a LayerNorm, the mean over the sequence, a Linear head."""

    def __init__(self, embedding: nn.Module, encoder: nn.Module, norm: nn.Module, fc: nn.Module):
        super().__init__()
        self.embedding, self.encoder, self.norm, self.fc = embedding, encoder, norm, fc

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(self.encoder(self.embedding(ids))).mean(dim=1))


def text_transformer_prenorm() -> nn.Module:
    """configs/nets/text_transformer_prenorm.json: text_transformer's pre-norm variant. 4
    nn.TransformerEncoderLayer(256, 4, 1024, dropout 0.1, activation "gelu", batch_first=True,
    norm_first=True), a final LayerNorm(256), the mean over the 128 tokens and Linear(256, 2).
    10,973,698 parameters."""
    return MeanPooledClassifier(
        nn.Embedding(30522, 256),
        nn.Sequential(*[
            nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.1,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(4)]),
        nn.LayerNorm(256),
        nn.Linear(256, 2))


# Models on token ids: name -> (constructor, sequence_length, vocabulary). They are traced in
# training mode (tools/export_torchscript.py): nn.MultiheadAttention applies its attention
# dropout only in training, and in eval mode without autograd it takes a fused inference path
# that training never runs.
TEXT_MODELS = {
    "text_transformer": (text_transformer, 128, 30522),
    "text_transformer_prenorm": (text_transformer_prenorm, 128, 30522),
}

# name -> (constructor, default input (C, H, W))
MODELS = {
    "lenet5": (lenet5, (1, 32, 32)),
    "alexnet": (lambda: torchvision.models.alexnet(num_classes=NUM_CLASSES), (3, 224, 224)),
    "alexnet_legacy": (alexnet_legacy, (3, 64, 64)),
    "vgg11": (lambda: torchvision.models.vgg11(num_classes=NUM_CLASSES), (3, 224, 224)),
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=NUM_CLASSES), (3, 224, 224)),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(num_classes=NUM_CLASSES),
                           (3, 224, 224)),
    "resnet18_legacy": (lambda: with_cifar_head(torchvision.models.resnet18(num_classes=1000),
                                                "resnet18"), (3, 64, 64)),
    "mobilenet_v3_small_legacy": (
        lambda: with_cifar_head(torchvision.models.mobilenet_v3_small(num_classes=1000),
                                "mobilenet_v3_small"), (3, 64, 64)),
}


def build(name: str) -> nn.Module:
    """Builds model `name` (a key of MODELS or TEXT_MODELS) with torch's default initialisation,
    in eval mode (MODELS) or training mode (TEXT_MODELS)."""
    torch.manual_seed(0)
    if name in TEXT_MODELS:
        return TEXT_MODELS[name][0]().train()
    if name not in MODELS:
        raise KeyError(f"unknown model '{name}' (expected {', '.join(list(MODELS) + list(TEXT_MODELS))})")
    return MODELS[name][0]().eval()


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameter elements (weights and biases; BatchNorm running statistics
    are buffers and not counted), as sum(p.numel() for p in model.parameters())."""
    return sum(p.numel() for p in model.parameters())
