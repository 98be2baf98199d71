#include "net/einsum_matmul.h"

#include <algorithm>
#include <cctype>

namespace lj {
namespace {

// The labels of one einsum term (of `equation`, spaces already removed); "" and the reason in
// *why when a character is not a letter or a label repeats.
std::string Labels(std::string_view term, const std::string& equation, std::string* why) {
  std::string labels;
  for (char ch : term) {
    if (!std::isalpha(static_cast<unsigned char>(ch))) {
      *why = "equation '" + equation + "' has '" + std::string(1, ch) +
             "' (an ellipsis or not a letter)";
      return "";
    }
    if (labels.find(ch) != std::string::npos) {
      *why = "label '" + std::string(1, ch) + "' repeats within a term of '" + equation +
             "' (a diagonal)";
      return "";
    }
    labels += ch;
  }
  return labels;
}

bool Has(const std::string& labels, char label) { return labels.find(label) != std::string::npos; }

}  // namespace

std::optional<EinsumMatmulShapes> EinsumAsBatchedMatmul(std::string_view equation,
                                                        const std::vector<int64_t>& a,
                                                        const std::vector<int64_t>& b,
                                                        std::string* why) {
  std::string compact;
  for (char ch : equation) {
    if (ch != ' ') compact += ch;
  }
  const size_t arrow = compact.find("->");
  if (arrow == std::string::npos) {
    *why = "equation '" + compact + "' has no output ('->')";
    return std::nullopt;
  }
  const std::string inputs = compact.substr(0, arrow);
  const size_t comma = inputs.find(',');
  if (comma == std::string::npos || inputs.find(',', comma + 1) != std::string::npos) {
    *why = "equation '" + compact + "' does not have two operands";
    return std::nullopt;
  }
  const std::string la = Labels(inputs.substr(0, comma), compact, why);
  if (!why->empty()) return std::nullopt;
  const std::string lb = Labels(inputs.substr(comma + 1), compact, why);
  if (!why->empty()) return std::nullopt;
  const std::string lo = Labels(compact.substr(arrow + 2), compact, why);
  if (!why->empty()) return std::nullopt;
  if (la.size() != a.size() || lb.size() != b.size()) {
    *why = "equation '" + compact + "' does not match the operands' ranks " +
           std::to_string(a.size()) + " and " + std::to_string(b.size());
    return std::nullopt;
  }
  const size_t r = la.size();
  if (r < 3 || lb.size() != r || lo.size() != r) {
    *why = "equation '" + compact +
           "' is not a batched matrix product (two operands and an output of one rank >= 3)";
    return std::nullopt;
  }
  for (char label : la + lb) {
    if (!Has(lo, label) && !(Has(la, label) && Has(lb, label))) {
      *why = "label '" + std::string(1, label) + "' of '" + compact +
             "' is summed out of one operand only";
      return std::nullopt;
    }
  }
  const size_t j = r - 2;  // batch labels
  if (la.compare(0, j, lb, 0, j) != 0 || la.compare(0, j, lo, 0, j) != 0) {
    *why = "equation '" + compact +
           "' does not lead with the same batch labels in both operands and the output";
    return std::nullopt;
  }
  for (size_t i = 0; i < j; ++i) {
    if (a[i] != b[i]) {
      *why = "batch label '" + std::string(1, la[i]) + "' of '" + compact + "' has sizes " +
             std::to_string(a[i]) + " and " + std::to_string(b[i]) + " (a broadcast)";
      return std::nullopt;
    }
  }
  const char row = lo[j];
  const char column = lo[j + 1];
  const std::string a_tail = la.substr(j);
  const std::string b_tail = lb.substr(j);
  // The contracted label: in both operands' last two, not in the output.
  const auto inner_it = std::find_if(a_tail.begin(), a_tail.end(),
                                     [&](char l) { return Has(b_tail, l) && !Has(lo, l); });
  if (inner_it == a_tail.end() || !Has(a_tail, row) || Has(b_tail, row) || !Has(b_tail, column) ||
      Has(a_tail, column)) {
    *why = "equation '" + compact +
           "' is not (rows, inner) x (inner, columns) -> (rows, columns) over its last two "
           "labels";
    return std::nullopt;
  }
  const char inner = *inner_it;
  const auto size_of = [&](const std::string& labels, const std::vector<int64_t>& sizes,
                           char label) { return sizes[labels.find(label)]; };
  if (size_of(la, a, inner) != size_of(lb, b, inner)) {
    *why = "contracted label '" + std::string(1, inner) + "' of '" + compact + "' has sizes " +
           std::to_string(size_of(la, a, inner)) + " and " + std::to_string(size_of(lb, b, inner));
    return std::nullopt;
  }
  EinsumMatmulShapes shapes;
  shapes.a.assign(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(j));
  shapes.b = shapes.a;
  shapes.a.push_back(size_of(la, a, row));
  shapes.a.push_back(size_of(la, a, inner));
  shapes.b.push_back(size_of(lb, b, inner));
  shapes.b.push_back(size_of(lb, b, column));
  return shapes;
}

}  // namespace lj
