// net/einsum_matmul.h: which two-operand einsum equations are a batched matrix product, and the
// equivalent matmul's operand shapes (no LibTorch).
#include "net/einsum_matmul.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lj {
namespace {

using Shape = std::vector<int64_t>;

// MaxViT's attention (torchvision 0.14 maxvit.py) on B 2, G 3 windows, H 4 heads, P 49
// positions, D 32: the scores are q k^T, a (49, 32) x (32, 49) product per (B, G, H).
TEST(EinsumMatmulTest, MaxVitScoresAndValuesAreBatchedMatmuls) {
  std::string why;
  const auto scores = EinsumAsBatchedMatmul("B G H I D, B G H J D -> B G H I J", {2, 3, 4, 49, 32},
                                            {2, 3, 4, 49, 32}, &why);
  ASSERT_TRUE(scores.has_value()) << why;
  EXPECT_EQ(scores->a, (Shape{2, 3, 4, 49, 32}));
  EXPECT_EQ(scores->b, (Shape{2, 3, 4, 32, 49}));

  const auto values =
      EinsumAsBatchedMatmul("BGHIJ,BGHJD->BGHID", {2, 3, 4, 49, 49}, {2, 3, 4, 49, 32}, &why);
  ASSERT_TRUE(values.has_value()) << why;
  EXPECT_EQ(values->a, (Shape{2, 3, 4, 49, 49}));
  EXPECT_EQ(values->b, (Shape{2, 3, 4, 49, 32}));

  // A transposed first operand, (k, n) stored: rows n = 5, inner k = 7.
  const auto transposed = EinsumAsBatchedMatmul("bki,bkj->bij", {6, 7, 5}, {6, 7, 3}, &why);
  ASSERT_TRUE(transposed.has_value()) << why;
  EXPECT_EQ(transposed->a, (Shape{6, 5, 7}));
  EXPECT_EQ(transposed->b, (Shape{6, 7, 3}));
}

TEST(EinsumMatmulTest, OtherEquationsSayWhy) {
  const auto reason = [](const std::string& equation, const Shape& a, const Shape& b) {
    std::string why;
    EXPECT_FALSE(EinsumAsBatchedMatmul(equation, a, b, &why).has_value()) << equation;
    return why;
  };
  EXPECT_EQ(reason("bij,bjk", {2, 3, 4}, {2, 4, 5}), "equation 'bij,bjk' has no output ('->')");
  EXPECT_EQ(reason("ij,jk->ik", {3, 4}, {4, 5}),
            "equation 'ij,jk->ik' is not a batched matrix product (two operands and an output of "
            "one rank >= 3)");
  EXPECT_EQ(reason("...ij,...jk->...ik", {2, 3, 4}, {2, 4, 5}),
            "equation '...ij,...jk->...ik' has '.' (an ellipsis or not a letter)");
  EXPECT_EQ(reason("bii,bij->bij", {2, 3, 3}, {2, 3, 3}),
            "label 'i' repeats within a term of 'bii,bij->bij' (a diagonal)");
  EXPECT_EQ(reason("bij,bjk->bi", {2, 3, 4}, {2, 4, 5}),
            "equation 'bij,bjk->bi' is not a batched matrix product (two operands and an output "
            "of one rank >= 3)");
  EXPECT_EQ(reason("bik,bjl->bij", {2, 3, 4}, {2, 5, 6}),
            "label 'k' of 'bik,bjl->bij' is summed out of one operand only");
  EXPECT_EQ(reason("bij,jbk->bik", {2, 3, 4}, {4, 2, 5}),
            "equation 'bij,jbk->bik' does not lead with the same batch labels in both operands "
            "and the output");
  EXPECT_EQ(reason("bij,bjk->bik", {1, 3, 4}, {2, 4, 5}),
            "batch label 'b' of 'bij,bjk->bik' has sizes 1 and 2 (a broadcast)");
  EXPECT_EQ(reason("bij,bjk->bki", {2, 3, 4}, {2, 4, 5}),
            "equation 'bij,bjk->bki' is not (rows, inner) x (inner, columns) -> (rows, columns) "
            "over its last two labels");
  EXPECT_EQ(reason("bij,bjk->bik", {2, 3, 4}, {2, 6, 5}),
            "contracted label 'j' of 'bij,bjk->bik' has sizes 4 and 6");
  EXPECT_EQ(reason("bij,bjk,bkl->bil", {2, 3, 4}, {2, 4, 5}),
            "equation 'bij,bjk,bkl->bil' does not have two operands");
  EXPECT_EQ(reason("bijk,bjk->bik", {2, 3, 4}, {2, 4, 5}),
            "equation 'bijk,bjk->bik' does not match the operands' ranks 3 and 3");
}

}  // namespace
}  // namespace lj
