#pragma once
// The layers of one Transformer encoder layer as torch.nn.TransformerEncoderLayer(d_model,
// nhead, dim_feedforward, dropout, activation, batch_first=True, norm_first) runs them in
// training (PyTorch 1.13, torch/nn/modules/transformer.py and
// torch.nn.functional.multi_head_attention_forward; Vaswani et al. 2017, § 3.2-3.3): the
// net.json block "transformer_encoder_layer" (predict/NET_FORMAT.md). No LibTorch: net_shapes
// and net_builder both take the block's layers from here, and tests/net check that a traced
// PyTorch encoder gives the same layers through net/torchscript_layers.h.
//
// On x (N, S, D), h heads of d = D / h, feed-forward width F, dropout p:
//   self_attn.in_proj     linear (N x S rows, D -> 3 D) of x viewed as (S, N, D)
//   self_attn.contiguous_q, _k, _v
//                         the copies of the three (S, N, D) slices of the packed projection
//                         (chunk along the last dim, then .contiguous()); the chunk's backward
//                         pass concatenates their gradients: a cat of (S, N, 3 D) with 3 inputs,
//                         charged to contiguous_v
//   self_attn.scale       q / sqrt(d) on (N h, S, d)
//   self_attn.bmm         scores q k^T: (N h, S, d) x (N h, d, S)
//   self_attn.softmax     over the last dim of (N h, S, S)
//   self_attn.dropout     p on the attention weights (omitted when p = 0: not run)
//   self_attn.bmm_values  (N h, S, S) x (N h, S, d)
//   self_attn.contiguous_out
//                         the copy of the heads' output transposed to (S, N h, d)
//   self_attn.out_proj    linear (S x N rows, D -> D)
//   dropout1, add1 (x + attention; x also fed the attention: one grad accumulation of (N, S, D)),
//   norm1 (layer_norm over D), linear1 (D -> F), activation (relu or gelu), dropout,
//   linear2 (F -> D), dropout2, add2 (with its grad accumulation), norm2.
// With norm_first (pre-norm: x = x + sa(norm1(x)); x = x + ff(norm2(x))) the same layers of the
// same shapes, each norm moved before its sublayer: norm1, self_attn.*, dropout1, add1, norm2,
// linear1, ..., add2. x still feeds the sublayer (through the norm) and the sum: the same grad
// accumulations.
// Shapes at the net's batch size. Parameters: in_proj 3 D^2 + 3 D, out_proj D^2 + D, linear1
// D F + F, linear2 F D + D, norm1 and norm2 2 D each: 12 tensors.
#include <cstdint>
#include <string>
#include <vector>

#include "net/layer_instance.h"

namespace lj {

struct TransformerEncoderLayerShape {
  int64_t batch_size = 0;       // N
  int64_t sequence_length = 0;  // S
  int64_t d_model = 0;          // D, the input's last dim
  int64_t nhead = 0;            // h, dividing D
  int64_t dim_feedforward = 0;  // F
  double dropout = 0.1;         // p in [0, 1)
  std::string activation = "relu";
  bool norm_first = false;  // pre-norm (see above)
};

// The layers above, in forward order, paths under `path`, `source` as LayerInstance::source.
// Throws ConfigError "<context>: d_model 250 is not divisible by nhead 4" and, for an input
// that is not (N, S, D), "<context>: expects a 3-D input (N, S, D), got [...]" (the form of
// TransformerEncoderLayerShapeOf).
std::vector<LayerInstance> TransformerEncoderLayerInstances(
    const TransformerEncoderLayerShape& block, const std::string& path, const std::string& source,
    const std::string& context);

// The block's shape on `input` (N, S, D) at the net's batch size. Throws ConfigError as above.
TransformerEncoderLayerShape TransformerEncoderLayerShapeOf(const std::vector<int64_t>& input,
                                                            int64_t nhead, int64_t dim_feedforward,
                                                            double dropout,
                                                            const std::string& activation,
                                                            const std::string& context);

}  // namespace lj
