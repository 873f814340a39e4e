// A tensor shape with inline storage (no heap), so shapes can be built on the run path.
//
//   Shape s{2, 3, 4};
//   s.numel();             // 24
//   s[0] = 5;  s.rank();   // 3
//   s.push_back(7);        // rank 4 (at most kMaxRank)
//   Shape::from(std::vector<int64_t>{1, 2});
//
// Dimensions are concrete (>= 0) once a graph is specialised for a batch; before that the
// graph's Value keeps symbolic dims as kDynamicDim. Plain value; thread-safe to copy.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace seer::engine {

inline constexpr int kMaxRank = 8;
inline constexpr int64_t kDynamicDim = -1;  // an unknown (symbolic) dimension

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) {
    assert(dims.size() <= kMaxRank);
    for (int64_t d : dims) dims_[rank_++] = d;
  }
  // Callers check rank <= kMaxRank first (fits()); asserts otherwise.
  static Shape from(std::span<const int64_t> dims) {
    Shape s;
    assert(dims.size() <= kMaxRank);
    for (int64_t d : dims) s.dims_[s.rank_++] = d;
    return s;
  }
  static bool fits(size_t rank) { return rank <= static_cast<size_t>(kMaxRank); }

  int rank() const { return rank_; }
  bool empty() const { return rank_ == 0; }  // a scalar
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  // Dimension with a negative index counted from the back (-1 = last).
  int64_t dim(int i) const { return dims_[i < 0 ? i + rank_ : i]; }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + rank_; }
  int64_t* begin() { return dims_; }
  int64_t* end() { return dims_ + rank_; }
  std::span<const int64_t> dims() const { return {dims_, static_cast<size_t>(rank_)}; }
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }

  void push_back(int64_t d) { assert(rank_ < kMaxRank); dims_[rank_++] = d; }
  void resize(int rank, int64_t fill = 1) {
    assert(rank <= kMaxRank);
    for (int i = rank_; i < rank; ++i) dims_[i] = fill;
    rank_ = rank;
  }
  void insert(int pos, int64_t d) {
    assert(rank_ < kMaxRank);
    for (int i = rank_; i > pos; --i) dims_[i] = dims_[i - 1];
    dims_[pos] = d;
    ++rank_;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < rank_; ++i) dims_[i] = dims_[i + 1];
    --rank_;
  }

  // Product of all dims (1 for a scalar); meaningless while a dim is dynamic.
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  // Product of dims [from, to).
  int64_t numel(int from, int to) const {
    int64_t n = 1;
    for (int i = std::max(from, 0); i < std::min(to, rank_); ++i) n *= dims_[i];
    return n;
  }
  bool is_concrete() const {
    return std::all_of(begin(), end(), [](int64_t d) { return d >= 0; });
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }

  // "[2,3,?]"
  std::string to_string() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ',';
      s += dims_[i] < 0 ? std::string("?") : std::to_string(dims_[i]);
    }
    return s + "]";
  }

 private:
  int64_t dims_[kMaxRank] = {};
  int rank_ = 0;
};

}  // namespace seer::engine
