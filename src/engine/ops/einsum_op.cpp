// Einsum, general form: any number of operands, "..." broadcasting, repeated labels (diagonals),
// implicit output. Planned at load into per-operand strides over an output space and a
// contraction space; run() walks them. Straightforward rather than fast: the forms exporters emit
// are small batched matmuls ("bhqd,bhkd->bhqk") at the scale of seer's models.
#include <map>

#include "engine/ops/op_util.h"

namespace seer::engine {
namespace {
using namespace ops;

constexpr int kMaxOperands = 4;
constexpr int kMaxLabels = 24;

struct EinsumPlan {
  int operands = 0;
  int out_labels = 0, sum_labels = 0;
  int64_t out_dims[kMaxLabels] = {}, sum_dims[kMaxLabels] = {};
  int64_t out_strides[kMaxOperands][kMaxLabels] = {}, sum_strides[kMaxOperands][kMaxLabels] = {};
  Shape out;
};

Status plan_einsum(const NodeContext& c, EinsumPlan* p) {
  std::string eq;
  for (char ch : c.node().attr_string("equation")) if (ch != ' ') eq += ch;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t s = 0;;) {
    size_t comma = lhs.find(',', s);
    terms.push_back(lhs.substr(s, comma == std::string::npos ? std::string::npos : comma - s));
    if (comma == std::string::npos) break;
    s = comma + 1;
  }
  if (static_cast<int>(terms.size()) != c.num_inputs()) return c.error("equation has {} terms for {} inputs", terms.size(), c.num_inputs());
  if (c.num_inputs() > kMaxOperands) return c.unsupported("more than {} operands", kMaxOperands);
  p->operands = c.num_inputs();
  // Labels: letters keep their char; ellipsis dims get '0'+k counted from the right.
  int ell_rank = 0;
  std::vector<std::vector<char>> labels(terms.size());
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string& term = terms[t];
    const size_t e = term.find("...");
    const int letters = static_cast<int>(term.size()) - (e == std::string::npos ? 0 : 3);
    const int rank = c.input_shape(static_cast<int>(t)).rank();
    const int er = e == std::string::npos ? 0 : rank - letters;
    if (er < 0 || (e == std::string::npos && letters != rank)) return c.error("term '{}' vs rank {}", term, rank);
    ell_rank = std::max(ell_rank, er);
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '.') {
        for (int k = er; k > 0; --k) labels[t].push_back(static_cast<char>('0' + k - 1));
        i += 2;
      } else {
        labels[t].push_back(term[i]);
      }
    }
  }
  std::map<char, int64_t> size;
  std::map<char, int> count;
  for (size_t t = 0; t < labels.size(); ++t)
    for (size_t i = 0; i < labels[t].size(); ++i) {
      const int64_t d = c.input_shape(static_cast<int>(t))[static_cast<int>(i)];
      int64_t& s = size[labels[t][i]];
      if (s > 1 && d > 1 && s != d) return c.error("label '{}' has sizes {} and {}", labels[t][i], s, d);
      s = std::max(s, d);
      ++count[labels[t][i]];
    }
  std::vector<char> out;
  if (arrow != std::string::npos) {
    const std::string rhs = eq.substr(arrow + 2);
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs[i] == '.') {
        for (int k = ell_rank; k > 0; --k) out.push_back(static_cast<char>('0' + k - 1));
        i += 2;
      } else {
        out.push_back(rhs[i]);
      }
    }
  } else {
    for (int k = ell_rank; k > 0; --k) out.push_back(static_cast<char>('0' + k - 1));
    for (const auto& [l, n] : count)
      if (n == 1 && !(l >= '0' && l <= '9')) out.push_back(l);
  }
  std::vector<char> sum;
  for (const auto& [l, n] : size)
    if (std::find(out.begin(), out.end(), l) == out.end()) sum.push_back(l);
  if (out.size() > static_cast<size_t>(kMaxRank) || sum.size() > static_cast<size_t>(kMaxLabels)) return c.unsupported("too many labels");
  p->out_labels = static_cast<int>(out.size());
  p->sum_labels = static_cast<int>(sum.size());
  p->out = Shape();
  for (char l : out) p->out.push_back(size.count(l) ? size[l] : 1);
  for (int i = 0; i < p->out_labels; ++i) p->out_dims[i] = p->out[i];
  for (int i = 0; i < p->sum_labels; ++i) p->sum_dims[i] = size[sum[i]];
  for (int t = 0; t < p->operands; ++t) {
    int64_t st[kMaxRank];
    const Shape& s = c.input_shape(t);
    strides_of(s, st);
    for (size_t i = 0; i < labels[t].size(); ++i) {
      if (s[static_cast<int>(i)] == 1) continue;  // broadcast: stride 0
      const char l = labels[t][i];
      auto o = std::find(out.begin(), out.end(), l);
      if (o != out.end()) p->out_strides[t][o - out.begin()] += st[i];
      else p->sum_strides[t][std::find(sum.begin(), sum.end(), l) - sum.begin()] += st[i];
    }
  }
  return Status();
}

template <typename T>
void run_einsum(const EinsumPlan& p, const T* const* in, T* y) {
  const int64_t total = p.out.numel();
  int64_t sum_total = 1;
  for (int i = 0; i < p.sum_labels; ++i) sum_total *= p.sum_dims[i];
#pragma omp parallel for if (total * sum_total > (1 << 14))
  for (int64_t o = 0; o < total; ++o) {
    int64_t base[kMaxOperands] = {};
    int64_t rem = o;
    for (int d = p.out_labels - 1; d >= 0; --d) {
      const int64_t idx = rem % p.out_dims[d];
      rem /= p.out_dims[d];
      for (int t = 0; t < p.operands; ++t) base[t] += idx * p.out_strides[t][d];
    }
    double acc = 0;
    for (int64_t s = 0; s < sum_total; ++s) {
      int64_t r = s;
      double prod = 1;
      int64_t off[kMaxOperands];
      for (int t = 0; t < p.operands; ++t) off[t] = base[t];
      for (int d = p.sum_labels - 1; d >= 0; --d) {
        const int64_t idx = r % p.sum_dims[d];
        r /= p.sum_dims[d];
        for (int t = 0; t < p.operands; ++t) off[t] += idx * p.sum_strides[t][d];
      }
      for (int t = 0; t < p.operands; ++t) prod *= static_cast<double>(in[t][off[t]]);
      acc += prod;
    }
    y[o] = static_cast<T>(acc);
  }
}

}  // namespace

SEER_REGISTER_OPS(einsum) {
  registry.add({.name = "Einsum", .domain = "", .min_opset = 12, .attributes = {"equation"},
                .infer = [](InferContext& c) -> Status {
                  const DataType t = c.input_dtype(0);
                  if (!(t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kInt64 || t == DataType::kInt32))
                    return c.unsupported("dtype {}", to_string(t));
                  EinsumPlan p;
                  SEER_RETURN_IF_ERROR(plan_einsum(c, &p));
                  c.set_output(0, t, p.out);
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  EinsumPlan p;
                  SEER_RETURN_IF_ERROR(plan_einsum(c, &p));
                  return make_kernel([p](RunContext& ctx) {
                    bool ok = dispatch_numeric(ctx.output(0).dtype, [&](auto tag) {
                      using T = decltype(tag);
                      const T* in[kMaxOperands] = {};
                      for (int t = 0; t < p.operands; ++t) in[t] = ctx.input(t).data<T>();
                      run_einsum<T>(p, in, ctx.output(0).data<T>());
                    });
                    return ok ? Status() : Status::internal("Einsum dtype");
                  });
                }});
}

}  // namespace seer::engine
