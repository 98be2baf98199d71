#pragma once
// An aten::einsum of two operands that is a batched matrix product, as MaxViT's relative
// attention writes it (torchvision 0.14 maxvit.py): the scores
//   "B G H I D, B G H J D -> B G H I J"   (q k^T: a batch B x G x H of (I, D) x (D, J))
// and the values
//   "B G H I J, B G H J D -> B G H I D"   (scores v: (I, J) x (J, D)).
// ATen's einsum runs such an equation as one bmm of the permuted operands (views, no copy), so
// predict costs it as the bmm layer type (core/layer_config.h) of the same shapes.
//
// Accepted: two operands of equal rank r >= 3 and an explicit output ("->"), one letter per
// dim (spaces ignored), no label repeated within an operand, no ellipsis; the first r - 2 labels
// of both operands and of the output are the batch labels, in the same order and of equal
// sizes (no broadcast); of the last two labels, the first operand has the row label and the
// contracted label (either order: a transposed operand is a view), the second the contracted
// label and the column label (either order), and the output ends with (row, column).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lj {

// The einsum's operands as the equivalent batched matmul's: a (b1, ..., bj, rows, inner) and
// b (b1, ..., bj, inner, columns).
struct EinsumMatmulShapes {
  std::vector<int64_t> a;
  std::vector<int64_t> b;
};

// `a` and `b` are the operands' sizes. Returns the equivalent matmul's operand shapes, or
// nullopt with the reason in *why (non-null), e.g. "equation 'bij,bjk' has no output ('->')" or
// "label 'k' of 'bik,bjk->bij' is summed out of one operand only".
std::optional<EinsumMatmulShapes> EinsumAsBatchedMatmul(std::string_view equation,
                                                        const std::vector<int64_t>& a,
                                                        const std::vector<int64_t>& b,
                                                        std::string* why);

}  // namespace lj
