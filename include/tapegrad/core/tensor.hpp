#pragma once
// Tensor<T>: a cheap handle with shared ownership of a TensorImpl. Copying a handle
// aliases the same tensor, as with torch::Tensor. Dense, row-major, contiguous.
//
// Methods that run ops (x.exp(), x.sum(1), ...) are declared here and defined in
// tensor_methods.hpp, once the ops exist.

#include <Eigen/Core>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "error.hpp"
#include "grad_mode.hpp"
#include "shape.hpp"
#include "tensor_impl.hpp"

namespace tapegrad {

template <typename T>
struct MaxResult;  // values and indices of max/min over a dim

// Options for factories: tg::ones<double>({2, 2}, tg::requires_grad()). Not an
// aggregate on purpose, so a braced shape like {2} never converts to options.
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions requires_grad(bool value) const {
    TensorOptions o = *this;
    o.requires_grad_ = value;
    return o;
  }
  bool requires_grad() const { return requires_grad_; }

 private:
  bool requires_grad_ = false;
};
inline TensorOptions requires_grad(bool value = true) { return TensorOptions().requires_grad(value); }

template <typename T = double>
class Tensor {
  static_assert(std::is_arithmetic_v<T>, "tapegrad::Tensor<T> holds arithmetic types (float, double)");

 public:
  using Scalar = T;

  Tensor() = default;  // an undefined tensor, like a default torch::Tensor
  explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const std::shared_ptr<TensorImpl<T>>& impl() const { return impl_; }

  // ---- shape ----
  const Shape& shape() const { return checked().shape; }
  const Shape& sizes() const { return shape(); }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape().size()); }
  std::int64_t numel() const { return checked().numel; }
  std::int64_t size(std::int64_t d) const {
    if (shape().empty())
      detail::fail<IndexError>("size: dimension ", d, " is out of range for a 0-d tensor (it has no dimensions)");
    return shape()[detail::wrap_dim("size", d, shape().size())];
  }

  // ---- data ----
  // Raw contiguous row-major buffer. Writing through it bypasses version counting:
  // use it in no-grad code on tensors no graph has saved.
  T* data_ptr() { return checked().data(); }
  const T* data_ptr() const { return checked().data(); }
  T item() const {
    if (numel() != 1)
      detail::fail<ValueError>("item: a tensor with ", numel(), " elements (shape ", detail::show(shape()),
                               ") cannot be converted to a scalar; select one element with at({...}) or "
                               "reduce it first");
    return data_ptr()[0];
  }
  std::vector<T> to_vector() const { return std::vector<T>(data_ptr(), data_ptr() + numel()); }
  // A 0-d or 1-D tensor becomes a column vector, a 2-D tensor a matrix.
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> to_eigen() const;

  // Element access by full index (negative indices count from the end).
  T at(std::initializer_list<std::int64_t> index) const { return data_ptr()[offset_of("at", index)]; }
  // Writes one element; refused on tensors that require grad while grad mode is on
  // (the graph could not see the write). Bumps the version counter.
  void set(std::initializer_list<std::int64_t> index, T value) {
    check_inplace("set");
    data_ptr()[offset_of("set", index)] = value;
    checked().storage->bump_version();
  }

  // ---- autograd ----
  bool requires_grad() const { return defined() && impl_->requires_grad; }
  // Leaves only: a computed tensor's requires_grad follows from its inputs (asking
  // for true again is allowed, as in PyTorch; turning it off is not).
  Tensor& requires_grad_(bool value = true) {
    if (!is_leaf()) {
      if (value) return *this;
      detail::fail<GraphError>("requires_grad_: only leaf tensors can turn requires_grad off; this tensor was "
                               "computed by ", grad_fn_name(), ". Use detach() for a tensor cut from the graph");
    }
    if (value && !std::is_floating_point_v<T>)
      detail::fail<ValueError>("requires_grad_: only floating-point tensors can require gradients");
    checked().requires_grad = value;
    return *this;
  }
  bool is_leaf() const { return !checked().grad_fn; }
  const std::shared_ptr<Node<T>>& grad_fn() const { return checked().grad_fn; }
  std::uint32_t output_nr() const { return checked().output_nr; }
  // Gradient accumulated by backward(); undefined until one reaches this leaf. On a
  // non-leaf that does not retain_grad() it stays undefined: reading it warns once per
  // process, as in PyTorch (defined in hooks.hpp, next to retains_grad).
  Tensor grad() const;
  // Replaces .grad (an undefined tensor clears it); the shape must match.
  void set_grad(const Tensor& g) {
    if (g.defined() && g.shape() != shape())
      detail::fail<ShapeError>("set_grad: a gradient of shape ", detail::show(g.shape()),
                               " does not match the tensor's shape ", detail::show(shape()));
    checked().grad = g.impl_;
  }
  // Zeroes the accumulated gradient in place (keeps handles to it valid), or drops
  // it so the next backward() starts a fresh buffer.
  void zero_grad(bool set_to_none = false);

  void backward(const Tensor& gradient = Tensor(), std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;

  // Shares storage with this tensor but is cut from the graph (a new leaf).
  Tensor detach() const { return Tensor(detail::alias_impl(checked(), shape())); }
  // Counts in-place writes to the storage this tensor shares.
  std::uint32_t version() const { return checked().version(); }

  // hooks (core/hooks.hpp)
  // hook(grad) runs when the gradient of this tensor is computed and may return a
  // replacement (an undefined tensor keeps it; a callable returning void only looks).
  template <typename F>
  RemovableHandle register_hook(F&& hook) const;
  // Non-leaves: backward() also accumulates this tensor's gradient into grad().
  void retain_grad() const;
  bool retains_grad() const;
  // end hooks

  // ---- ops as methods (defined in tensor_methods.hpp) ----
  Tensor clone() const;
  Tensor operator-() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor sign() const;
  Tensor pow(T exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor sum() const;
  Tensor sum(std::int64_t dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(std::int64_t dim, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  MaxResult<T> max(std::int64_t dim, bool keepdim = false) const;
  MaxResult<T> min(std::int64_t dim, bool keepdim = false) const;
  Tensor norm() const;
  Tensor matmul(const Tensor& other) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;
  Tensor permute(const std::vector<std::int64_t>& dims) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor expand(const Shape& shape) const;
  Tensor sum_to(const Shape& shape) const;

  // ---- more ops as methods: declared here, each defined in its op's header ----
  // elementwise (ops/unary.hpp, ops/activation.hpp)
  Tensor clamp(std::optional<T> min, std::optional<T> max = std::nullopt) const;
  Tensor clamp_min(T min) const;
  Tensor clamp_max(T max) const;
  Tensor floor() const;
  Tensor ceil() const;
  Tensor round() const;
  Tensor round(std::int64_t decimals) const;
  Tensor trunc() const;
  Tensor expm1() const;
  Tensor log1p() const;
  Tensor log2() const;
  Tensor log10() const;
  Tensor exp2() const;
  Tensor rsqrt() const;
  Tensor reciprocal() const;
  Tensor square() const;
  Tensor tan() const;
  Tensor asin() const;
  Tensor acos() const;
  Tensor atan() const;
  Tensor atan2(const Tensor& other) const;
  Tensor sinh() const;
  Tensor cosh() const;
  Tensor asinh() const;
  Tensor acosh() const;
  Tensor atanh() const;
  Tensor erf() const;
  Tensor erfc() const;
  Tensor lgamma() const;
  Tensor digamma() const;
  Tensor polygamma(std::int64_t n) const;
  // end elementwise
  // reductions (ops/reduction.hpp, ops/softmax.hpp, ops/cumulative.hpp)
  // A braced list of dims picks the list overload: x.sum({0, 1}); {} means every dim.
  Tensor sum(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor sum(std::initializer_list<std::int64_t> dims, bool keepdim = false) const;
  Tensor mean(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor mean(std::initializer_list<std::int64_t> dims, bool keepdim = false) const;
  Tensor prod() const;
  Tensor prod(std::int64_t dim, bool keepdim = false) const;
  // x.var(true) is the unbiased flag, x.var(1) dim 1 (any integer type).
  Tensor var(bool unbiased = true) const;
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Tensor var(I dim, bool unbiased = true, bool keepdim = false) const;
  Tensor var(const std::vector<std::int64_t>& dims, bool unbiased = true, bool keepdim = false) const;
  Tensor var(std::initializer_list<std::int64_t> dims, bool unbiased = true, bool keepdim = false) const;
  Tensor std(bool unbiased = true) const;
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Tensor std(I dim, bool unbiased = true, bool keepdim = false) const;
  Tensor std(const std::vector<std::int64_t>& dims, bool unbiased = true, bool keepdim = false) const;
  Tensor std(std::initializer_list<std::int64_t> dims, bool unbiased = true, bool keepdim = false) const;
  Tensor amax() const;
  Tensor amax(std::int64_t dim, bool keepdim = false) const;
  Tensor amax(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor amax(std::initializer_list<std::int64_t> dims, bool keepdim = false) const;
  Tensor amin() const;
  Tensor amin(std::int64_t dim, bool keepdim = false) const;
  Tensor amin(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor amin(std::initializer_list<std::int64_t> dims, bool keepdim = false) const;
  Tensor<std::int64_t> argmax() const;
  Tensor<std::int64_t> argmax(std::int64_t dim, bool keepdim = false) const;
  Tensor<std::int64_t> argmin() const;
  Tensor<std::int64_t> argmin(std::int64_t dim, bool keepdim = false) const;
  // p: a number (0, 1, 2, inf, -inf, any real) or "fro".
  template <typename S, std::enable_if_t<std::is_arithmetic_v<S>, int> = 0>
  Tensor norm(S p) const;
  template <typename S, std::enable_if_t<std::is_arithmetic_v<S>, int> = 0>
  Tensor norm(S p, std::int64_t dim, bool keepdim = false) const;
  template <typename S, std::enable_if_t<std::is_arithmetic_v<S>, int> = 0>
  Tensor norm(S p, const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  template <typename S, std::enable_if_t<std::is_arithmetic_v<S>, int> = 0>
  Tensor norm(S p, std::initializer_list<std::int64_t> dims, bool keepdim = false) const;
  Tensor norm(const char* p) const;
  Tensor norm(const char* p, std::int64_t dim, bool keepdim = false) const;
  Tensor norm(const char* p, const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor norm(const char* p, std::initializer_list<std::int64_t> dims, bool keepdim = false) const;
  Tensor logsumexp(std::int64_t dim, bool keepdim = false) const;
  Tensor logsumexp(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor logsumexp(std::initializer_list<std::int64_t> dims, bool keepdim = false) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;
  Tensor cumsum(std::int64_t dim) const;
  Tensor cumprod(std::int64_t dim) const;
  // end reductions
  // indexing and comparison (ops/indexing.hpp, ops/compare.hpp)
  Tensor masked_fill(const Tensor<bool>& mask, T value) const;
  Tensor maximum(const Tensor& other) const;
  Tensor minimum(const Tensor& other) const;
  template <typename U>
  Tensor<U> to() const;  // a copy with element type U (not recorded)
  Tensor slice(std::int64_t dim, std::int64_t start = 0, std::int64_t end = std::numeric_limits<std::int64_t>::max(),
               std::int64_t step = 1) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  std::vector<Tensor> split(std::int64_t split_size, std::int64_t dim = 0) const;
  std::vector<Tensor> chunk(std::int64_t chunks, std::int64_t dim = 0) const;
  std::vector<Tensor> unbind(std::int64_t dim = 0) const;
  Tensor index_select(std::int64_t dim, const Tensor<std::int64_t>& index) const;
  Tensor gather(std::int64_t dim, const Tensor<std::int64_t>& index) const;
  Tensor repeat(const std::vector<std::int64_t>& repeats) const;
  Tensor flip(const std::vector<std::int64_t>& dims) const;
  // end indexing
  // linear algebra (ops/linalg.hpp, ops/decomposition.hpp)
  Tensor mm(const Tensor& other) const;
  Tensor bmm(const Tensor& other) const;
  Tensor mv(const Tensor& vec) const;
  Tensor dot(const Tensor& other) const;
  Tensor outer(const Tensor& other) const;
  Tensor trace() const;
  Tensor diag(std::int64_t offset = 0) const;
  Tensor diagonal(std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1) const;
  Tensor diag_embed(std::int64_t offset = 0, std::int64_t dim1 = -2, std::int64_t dim2 = -1) const;
  Tensor triu(std::int64_t k = 0) const;
  Tensor tril(std::int64_t k = 0) const;
  // (ops/decomposition.hpp, which core.hpp includes)
  Tensor inverse() const;
  Tensor det() const;
  Tensor logdet() const;
  Tensor matrix_exp() const;
  Tensor cholesky(bool upper = false) const;
  Tensor cholesky_solve(const Tensor& factor, bool upper = false) const;
  // end linear algebra

  // in-place (ops/inplace.hpp). Recorded in the graph as in PyTorch; refused on a leaf
  // that requires grad while grad mode is on (update parameters under NoGradGuard).
  // The right side broadcasts to this tensor's shape; x += y is x.add_(y).
  Tensor& add_(const Tensor& other, T alpha = T(1));
  Tensor& add_(T value);
  Tensor& sub_(const Tensor& other, T alpha = T(1));
  Tensor& sub_(T value);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(T value);
  Tensor& div_(const Tensor& other);
  Tensor& div_(T value);
  Tensor& zero_();
  Tensor& fill_(T value);
  Tensor& clamp_(std::optional<T> min, std::optional<T> max = std::nullopt);
  Tensor& copy_(const Tensor& src);
  Tensor& relu_();
  Tensor& operator+=(const Tensor& other) { return add_(other); }
  Tensor& operator-=(const Tensor& other) { return sub_(other); }
  Tensor& operator*=(const Tensor& other) { return mul_(other); }
  Tensor& operator/=(const Tensor& other) { return div_(other); }
  Tensor& operator+=(T value) { return add_(value); }
  Tensor& operator-=(T value) { return sub_(value); }
  Tensor& operator*=(T value) { return mul_(value); }
  Tensor& operator/=(T value) { return div_(value); }
  // end in-place

  // Throws if an in-place write to this tensor could not be seen by autograd.
  void check_inplace(const char* op) const {
    if (requires_grad() && is_grad_enabled())
      detail::fail<GraphError>(op, ": in-place modification of a tensor that requires grad is not recorded by "
                               "autograd; do it inside a tg::NoGradGuard scope (e.g. for a parameter update) "
                               "or use the out-of-place op");
  }

 private:
  TensorImpl<T>& checked() const {
    if (!impl_) detail::fail<ValueError>("tensor is undefined (default-constructed); create it with a factory");
    return *impl_;
  }
  std::string grad_fn_name() const;
  std::size_t offset_of(const char* op, std::initializer_list<std::int64_t> index) const {
    const Shape& s = shape();
    if (index.size() != s.size())
      detail::fail<IndexError>(op, ": ", index.size(), " indices given for a tensor of shape ", detail::show(s),
                               " (expected ", s.size(), ")");
    std::size_t offset = 0, i = 0;
    for (std::int64_t idx : index) {
      const std::int64_t n = s[i];
      if (idx < -n || idx >= n)
        detail::fail<IndexError>(op, ": index ", idx, " is out of range for dimension ", i, " of size ", n,
                                 " (shape ", detail::show(s), ")");
      offset = offset * static_cast<std::size_t>(n) + static_cast<std::size_t>(idx < 0 ? idx + n : idx);
      ++i;
    }
    return offset;
  }

  std::shared_ptr<TensorImpl<T>> impl_;
};

template <typename T>
struct MaxResult {
  Tensor<T> values;
  Tensor<std::int64_t> indices;
};

namespace detail {

// Flat Eigen views of a contiguous buffer: element-wise work goes through these so
// Eigen vectorises and fuses the expression.
template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatrixMap = Eigen::Map<RowMatrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;

template <typename T>
ArrayMap<T> vec(Tensor<T>& t) {
  return ArrayMap<T>(t.data_ptr(), static_cast<Eigen::Index>(t.numel()));
}
template <typename T>
ConstArrayMap<T> vec(const Tensor<T>& t) {
  return ConstArrayMap<T>(t.data_ptr(), static_cast<Eigen::Index>(t.numel()));
}

// A new tensor, uninitialised; every kernel writes all of it.
template <typename T>
Tensor<T> empty(Shape shape) {
  return Tensor<T>(make_impl<T>(std::move(shape)));
}

template <typename T>
struct type_identity {
  using type = T;
};
template <typename T>
using type_identity_t = typename type_identity<T>::type;

}  // namespace detail

template <typename T>
Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> Tensor<T>::to_eigen() const {
  if (dim() > 2)
    detail::fail<ShapeError>("to_eigen: a tensor of shape ", detail::show(shape()),
                             " has more than 2 dimensions; reshape it to 2-D first");
  const Eigen::Index rows = dim() == 2 ? shape()[0] : numel();
  const Eigen::Index cols = dim() == 2 ? shape()[1] : 1;
  return detail::ConstMatrixMap<T>(data_ptr(), rows, cols);
}

}  // namespace tapegrad
