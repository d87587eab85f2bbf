#pragma once
// Split learning of DeepFM between two parties (SplitNN / SplitRec style):
//
//   alice: the user fields and her base model   ids_a -> cut activation a = [h_a, s_a, l_a]
//   bob:   the movie fields, his base model, the fuse model and the labels
//
// Only the cut activations (alice -> bob) and their gradients (bob -> alice) cross, as
// Packets through a Channel (shape + dtype + bytes, so a socket or MPI channel can carry
// them unchanged). Each party has its own parameters and its own Adam.
//
//   tg::models::InProcessChannel channel;
//   tg::models::AliceParty<float> alice(alice_model, channel, tg::optim::AdamOptions(1e-3));
//   tg::models::BobParty<float> bob(bob_model, channel, tg::optim::AdamOptions(1e-3));
//   alice.forward_and_send(user_ids);
//   tg::Tensor<float> loss = bob.train_step(movie_ids, genres, labels);   // sends the gradient back
//   alice.backward_and_step();
//
// The cut keeps DeepFM's FM term exact across the parties: with s = sum of a party's field
// embeddings and fm, l its own FM term and first-order sum,
//   FM(all fields) = fm_a + fm_b + <s_a, s_b>,
// so alice sends [h_a (her DNN's output), s_a, fm_a + l_a] and bob computes
//   logit = fuse([h_a, h_b]) + (fm_a + l_a) + (fm_b + l_b) + <s_a, s_b>.
//
// At the cut, as SplitRec: top-k sparsification (indices + values), fp16 quantization
// and Gaussian noise on the activations (the differential-privacy knob).

#include "deepfm.hpp"
#include "../io/file.hpp"  // detail::half_to_float, detail::float_to_half
#include "../optim.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace tapegrad::models {

// ============================================================== the wire format

// One named tensor on the wire. Dense: every value in row-major order. Top-k: for each
// row (dim 0; or the whole tensor) the k kept column indices as little-endian uint32,
// ascending, then after all indices the kept values; the rest decode as zeros.
struct Packet {
  std::string name;
  std::string dtype = "F32";   // element type of the tensor carried: "F32" or "F64"
  Shape shape;
  std::string values = "F32";  // how values are stored: "F32", "F64", or "F16" (IEEE half)
  std::int64_t top_k = 0;      // 0: dense; else k kept per row (per_row) or per tensor
  bool per_row = true;
  std::vector<unsigned char> bytes;  // the payload
};

enum class TopKScope { per_row, per_tensor };

// What a party does to a tensor before sending it.
struct Compression {
  std::int64_t top_k = 0;  // keep the k largest |values| (per row or per tensor) and zero the rest; 0 = all
  TopKScope scope = TopKScope::per_row;
  bool fp16 = false;       // values rounded to IEEE half on the wire (and back to T on receipt)
};

namespace wire {

// A packet larger than this many elements is refused on decode: a corrupt or hostile
// header must not make the receiver allocate gigabytes (1 GiB of floats).
constexpr std::int64_t kMaxElements = std::int64_t(1) << 28;

// x rounded to half and back: what the receiver of an fp16 packet sees.
inline float round_to_half(float x) { return tapegrad::detail::half_to_float(tapegrad::detail::float_to_half(x)); }

template <typename T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "F32" : "F64";
}
inline std::size_t value_size(const std::string& values) { return values == "F16" ? 2 : values == "F32" ? 4 : 8; }

inline void put_le(std::vector<unsigned char>& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xffu));
}
inline std::uint64_t get_le(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}
template <typename T>
void put_value(std::vector<unsigned char>& out, T x, const std::string& values) {
  if (values == "F16") return put_le(out, tapegrad::detail::float_to_half(static_cast<float>(x)), 2);
  if (values == "F32") {
    const float f = static_cast<float>(x);
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return put_le(out, bits, 4);
  }
  const double d = static_cast<double>(x);
  std::uint64_t bits;
  std::memcpy(&bits, &d, 8);
  put_le(out, bits, 8);
}
template <typename T>
T get_value(const unsigned char* p, const std::string& values) {
  if (values == "F16") return static_cast<T>(tapegrad::detail::half_to_float(static_cast<std::uint16_t>(get_le(p, 2))));
  if (values == "F32") {
    const auto bits = static_cast<std::uint32_t>(get_le(p, 4));
    float f;
    std::memcpy(&f, &bits, 4);
    return static_cast<T>(f);
  }
  const std::uint64_t bits = get_le(p, 8);
  double d;
  std::memcpy(&d, &bits, 8);
  return static_cast<T>(d);
}

// Rows of the top-k layout: dim 0 per row, one row for the whole tensor (or a 0-d one).
inline std::int64_t topk_rows(const Shape& shape, bool per_row, std::int64_t numel) {
  return per_row && !shape.empty() && shape[0] > 0 ? shape[0] : (numel > 0 ? 1 : 0);
}

// The (ascending) positions of the k largest |x| in x[0:n]; ties keep the lower index.
template <typename T>
std::vector<std::uint32_t> largest_k(const T* x, std::int64_t n, std::int64_t k) {
  std::vector<std::uint32_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0u);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [x](std::uint32_t a, std::uint32_t b) {
    const T fa = x[a] < 0 ? -x[a] : x[a], fb = x[b] < 0 ? -x[b] : x[b];
    return fa > fb || (fa == fb && a < b);
  });
  order.resize(static_cast<std::size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace wire

// Packs `t` (values only, no graph) as `compression` says. k larger than a row keeps the
// whole row.
template <typename T>
Packet encode(const std::string& name, const Tensor<T>& t, const Compression& compression = {}) {
  if (!t.defined()) detail::fail<ValueError>("encode: the tensor for \"", name, "\" is undefined");
  if (compression.top_k < 0) detail::fail<ValueError>("encode: top_k must be >= 0, got ", compression.top_k);
  if (t.numel() >= (std::int64_t(1) << 32))
    detail::fail<ValueError>("encode: \"", name, "\" has ", t.numel(), " elements; packets hold fewer than 2^32");
  Packet p;
  p.name = name;
  p.dtype = wire::dtype_name<T>();
  p.shape = t.shape();
  p.values = compression.fp16 ? "F16" : p.dtype;
  p.per_row = compression.scope == TopKScope::per_row;
  const T* x = t.data_ptr();
  if (compression.top_k == 0) {
    for (std::int64_t i = 0; i < t.numel(); ++i) wire::put_value(p.bytes, x[i], p.values);
    return p;
  }
  const std::int64_t rows = wire::topk_rows(p.shape, p.per_row, t.numel());
  const std::int64_t row_len = rows ? t.numel() / rows : 0;
  p.top_k = std::min(compression.top_k, row_len);
  std::vector<std::uint32_t> kept;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::uint32_t j : wire::largest_k(x + r * row_len, row_len, p.top_k)) kept.push_back(j);
  for (std::uint32_t j : kept) wire::put_le(p.bytes, j, 4);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    const std::int64_t row = static_cast<std::int64_t>(i) / std::max<std::int64_t>(p.top_k, 1);
    wire::put_value(p.bytes, x[row * row_len + kept[i]], p.values);
  }
  return p;
}

namespace wire {
// Validates a packet's header against its payload before anything is allocated;
// returns the element count.
template <typename T>
std::int64_t checked_numel(const Packet& p, const char* op) {
  if (p.dtype != dtype_name<T>())
    detail::fail<ValueError>(op, ": packet \"", p.name, "\" carries a ", p.dtype, " tensor, the receiver expects ",
                             dtype_name<T>(), "; build both parties with the same element type");
  if (p.values != "F16" && p.values != "F32" && p.values != "F64")
    detail::fail<ValueError>(op, ": packet \"", p.name, "\" has value type \"", p.values,
                             "\"; expected F16, F32 or F64");
  std::int64_t numel = 1;
  for (std::int64_t d : p.shape) {
    if (d < 0 || (d > 0 && numel > kMaxElements / d))
      detail::fail<ValueError>(op, ": packet \"", p.name, "\" has shape ", detail::show(p.shape),
                               " (negative or more than 2^28 elements)");
    numel *= d;
  }
  const std::int64_t rows = topk_rows(p.shape, p.per_row, numel), row_len = rows ? numel / rows : 0;
  if (p.top_k < 0 || p.top_k > row_len)
    detail::fail<ValueError>(op, ": packet \"", p.name, "\" keeps top_k = ", p.top_k, " of rows of ", row_len);
  const std::size_t entries = static_cast<std::size_t>(p.top_k ? rows * p.top_k : numel);
  const std::size_t expected = entries * (value_size(p.values) + (p.top_k ? 4 : 0));
  if (p.bytes.size() != expected)
    detail::fail<ValueError>(op, ": packet \"", p.name, "\" has ", p.bytes.size(), " payload bytes, its header (shape ",
                             detail::show(p.shape), ", ", p.values, ", top_k ", p.top_k, ") needs ", expected);
  return numel;
}
// Calls visit(flat_position, entry) for each kept entry of a top-k packet, after
// checking that each row's indices ascend strictly within the row.
template <typename F>
void for_each_kept(const Packet& p, std::int64_t numel, const char* op, F visit) {
  const std::int64_t rows = topk_rows(p.shape, p.per_row, numel), row_len = rows ? numel / rows : 0;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t i = 0; i < p.top_k; ++i) {
      const std::int64_t entry = r * p.top_k + i;
      const auto j = static_cast<std::int64_t>(get_le(p.bytes.data() + 4 * entry, 4));
      const auto previous = i ? static_cast<std::int64_t>(get_le(p.bytes.data() + 4 * (entry - 1), 4)) : -1;
      if (j >= row_len || j <= previous)
        detail::fail<ValueError>(op, ": packet \"", p.name, "\" has index ", j, " in row ", r,
                                 " (indices must ascend within [0, ", row_len, "))");
      visit(r * row_len + j, entry);
    }
}
}  // namespace wire

// The tensor a packet carries (a new leaf without grad); dropped entries are zero.
template <typename T>
Tensor<T> decode(const Packet& p) {
  const std::int64_t numel = wire::checked_numel<T>(p, "decode");
  Tensor<T> out = zeros<T>(p.shape);
  T* o = out.data_ptr();
  const std::size_t width = wire::value_size(p.values);
  if (p.top_k == 0) {
    for (std::int64_t i = 0; i < numel; ++i) o[i] = wire::get_value<T>(p.bytes.data() + width * i, p.values);
    return out;
  }
  const unsigned char* values = p.bytes.data() + 4 * (p.bytes.size() / (4 + width));
  wire::for_each_kept(p, numel, "decode", [&](std::int64_t at, std::int64_t entry) {
    o[at] = wire::get_value<T>(values + width * entry, p.values);
  });
  return out;
}

// 1 where a packet kept the value, 0 where top-k dropped it (all ones for a dense packet):
// the derivative of the sparsification, which the sender applies to the returning gradient.
template <typename T>
Tensor<T> kept_mask(const Packet& p) {
  const std::int64_t numel = wire::checked_numel<T>(p, "kept_mask");
  if (p.top_k == 0) return ones<T>(p.shape);
  Tensor<T> mask = zeros<T>(p.shape);
  wire::for_each_kept(p, numel, "kept_mask", [&](std::int64_t at, std::int64_t) { mask.data_ptr()[at] = T(1); });
  return mask;
}

// ============================================================== channels

// Carries packets between the parties and counts the payload bytes sent (per packet
// name and in total). The headers (name, shape, dtype: a few dozen bytes) are not
// counted, so compression ratios read exactly.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual void send(const Packet& packet) = 0;
  // The next packet, which must be called `name` (the protocol is a fixed alternation).
  virtual Packet recv(const std::string& name) = 0;

  std::uint64_t bytes_sent() const { return total_bytes_; }
  std::uint64_t bytes_sent(const std::string& name) const {
    const auto it = bytes_by_name_.find(name);
    return it == bytes_by_name_.end() ? 0 : it->second;
  }
  std::uint64_t messages_sent() const { return messages_; }
  void reset_counters() {
    total_bytes_ = messages_ = 0;
    bytes_by_name_.clear();
  }

 protected:
  void count(const Packet& p) {
    total_bytes_ += p.bytes.size();
    bytes_by_name_[p.name] += p.bytes.size();
    ++messages_;
  }

 private:
  std::uint64_t total_bytes_ = 0, messages_ = 0;
  std::map<std::string, std::uint64_t> bytes_by_name_;
};

// Both parties in one process: a FIFO queue.
class InProcessChannel : public Channel {
 public:
  void send(const Packet& packet) override {
    count(packet);
    queue_.push_back(packet);
  }
  Packet recv(const std::string& name) override {
    if (queue_.empty())
      detail::fail<ValueError>("InProcessChannel::recv: no packet waiting (expected \"", name,
                               "\"); the other party must send first");
    if (queue_.front().name != name)
      detail::fail<ValueError>("InProcessChannel::recv: expected \"", name, "\", the next packet is \"",
                               queue_.front().name, "\" (the parties are out of step)");
    Packet p = std::move(queue_.front());
    queue_.pop_front();
    return p;
  }
  std::size_t pending() const { return queue_.size(); }

 private:
  std::deque<Packet> queue_;
};

// ============================================================== the models

struct SplitDeepFMOptions {
  FieldEmbeddingOptions alice_fields;            // e.g. user id, gender, age, occupation
  FieldEmbeddingOptions bob_fields;              // e.g. movie id, year; genres as the multi-valued field
  std::vector<std::int64_t> base_hidden = {256};  // each base DNN's hidden layers before the cut
  std::int64_t cut_dim = 64;                     // width of each base DNN's output h (ReLU)
  std::vector<std::int64_t> fuse_hidden = {256, 256, 32};
  double dropout = 0.0;
};

// A party's base model: ids -> [h, s, fm + l] of width cut_dim + k + 1 (see the top).
template <typename T>
class SplitBase : public nn::Module<T> {
 public:
  std::shared_ptr<FieldEmbedding<T>> fields;
  std::shared_ptr<nn::Sequential<T>> dnn;

  SplitBase(const FieldEmbeddingOptions& field_options, const SplitDeepFMOptions& options, const std::string& name)
      : nn::Module<T>("SplitBase"), cut_dim_(options.cut_dim) {
    detail::check_positive_size("SplitBase", "cut_dim", options.cut_dim);
    fields = this->register_module("fields", std::make_shared<FieldEmbedding<T>>(field_options, name));
    std::vector<std::int64_t> layers = options.base_hidden;
    layers.push_back(options.cut_dim);
    dnn = this->register_module("dnn", make_mlp<T>(fields->num_fields() * fields->embed_dim(), layers, 0,
                                                   options.dropout));
  }
  std::int64_t cut_dim() const { return cut_dim_; }
  std::int64_t cut_width() const { return cut_dim_ + fields->embed_dim() + 1; }

  using nn::Module<T>::forward;
  Tensor<T> forward(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot = Tensor<T>()) {
    const FieldEmbeddingOutput<T> e = fields->forward(ids, multi_hot);
    const Tensor<T> own_terms = (fm_interaction(e.embeddings) + e.first_order).unsqueeze(1);
    return cat<T>({dnn->forward(e.embeddings.flatten(1)), e.embeddings.sum(1), own_terms}, 1);
  }

 private:
  std::int64_t cut_dim_;
};

// Bob's side: his base model and the fuse model; forward(alice's cut, his inputs) -> logits [B].
template <typename T>
class SplitBob : public nn::Module<T> {
 public:
  std::shared_ptr<SplitBase<T>> base;
  std::shared_ptr<nn::Sequential<T>> fuse;  // [h_a, h_b] -> fuse_hidden... -> 1

  explicit SplitBob(const SplitDeepFMOptions& options) : nn::Module<T>("SplitBob") {
    if (options.alice_fields.embed_dim != options.bob_fields.embed_dim)
      detail::fail<ValueError>("SplitDeepFM: alice's embed_dim (", options.alice_fields.embed_dim,
                               ") and bob's (", options.bob_fields.embed_dim,
                               ") must be equal: the FM term takes inner products across the parties");
    base = this->register_module("base", std::make_shared<SplitBase<T>>(options.bob_fields, options, "SplitDeepFM (bob)"));
    fuse = this->register_module("fuse", make_mlp<T>(2 * options.cut_dim, options.fuse_hidden, 1, options.dropout));
  }

  using nn::Module<T>::forward;
  Tensor<T> forward(const Tensor<T>& alice_cut, const Tensor<std::int64_t>& ids,
                    const Tensor<T>& multi_hot = Tensor<T>()) {
    const std::int64_t d = base->cut_dim(), k = base->fields->embed_dim();
    const Tensor<T> bob_cut = base->forward(ids, multi_hot);
    if (alice_cut.dim() != 2 || alice_cut.size(0) != bob_cut.size(0) || alice_cut.size(1) != bob_cut.size(1))
      detail::fail<ShapeError>("SplitBob: alice's cut activation must be [", bob_cut.size(0), ", ", bob_cut.size(1),
                               "] (cut_dim + embed_dim + 1, one row per sample), got ",
                               detail::show(alice_cut.shape()));
    const Tensor<T> h = cat<T>({alice_cut.slice(1, 0, d), bob_cut.slice(1, 0, d)}, 1);
    const Tensor<T> cross = (alice_cut.slice(1, d, d + k) * bob_cut.slice(1, d, d + k)).sum(1);  // <s_a, s_b>
    const Tensor<T> own = alice_cut.select(1, d + k) + bob_cut.select(1, d + k);
    return fuse->forward(h).reshape({-1}) + own + cross;
  }
};

// Alice's base model for these options (what AliceParty takes).
template <typename T>
std::shared_ptr<SplitBase<T>> make_split_alice(const SplitDeepFMOptions& options) {
  return std::make_shared<SplitBase<T>>(options.alice_fields, options, "SplitDeepFM (alice)");
}

// The same architecture as one Module: alice's base ("alice") and bob's side ("bob").
// Parties built from its state dicts start from the same initialisation:
//   alice_model->load_state_dict(whole.alice->state_dict());
template <typename T>
class SplitDeepFM : public nn::Module<T> {
 public:
  std::shared_ptr<SplitBase<T>> alice;
  std::shared_ptr<SplitBob<T>> bob;

  explicit SplitDeepFM(const SplitDeepFMOptions& options) : nn::Module<T>("SplitDeepFM") {
    alice = this->register_module("alice", make_split_alice<T>(options));
    bob = this->register_module("bob", std::make_shared<SplitBob<T>>(options));
  }

  using nn::Module<T>::forward;
  Tensor<T> forward(const Tensor<std::int64_t>& alice_ids, const Tensor<std::int64_t>& bob_ids,
                    const Tensor<T>& bob_multi_hot = Tensor<T>(), const Tensor<T>& alice_multi_hot = Tensor<T>()) {
    return bob->forward(alice->forward(alice_ids, alice_multi_hot), bob_ids, bob_multi_hot);
  }
};

// ============================================================== the parties

struct CutOptions {
  Compression activations;      // alice -> bob
  Compression gradients;        // bob -> alice
  double noise_std = 0.0;       // N(0, noise_std^2) added to every sent activation
  std::uint64_t noise_seed = 0;
};

inline constexpr const char* kCutActivation = "cut_activation";
inline constexpr const char* kCutGradient = "cut_gradient";

// Alice: her base model and optimizer. Her gradient through top-k is the mask of what
// she kept (the sparsification is x -> x * mask); through fp16 rounding and noise it
// passes unchanged (both are treated as the identity, a straight-through estimate).
template <typename T>
class AliceParty {
 public:
  AliceParty(std::shared_ptr<SplitBase<T>> model, Channel& channel, optim::AdamOptions adam = optim::AdamOptions(),
             CutOptions cut = {})
      : model_(std::move(model)), channel_(channel), optimizer_(model_->parameters(), adam), cut_(cut),
        noise_(cut.noise_seed) {
    if (!(cut.noise_std >= 0)) detail::fail<ValueError>("AliceParty: noise_std must be >= 0, got ", cut.noise_std);
  }

  // Forward pass, recorded, and the (noised, compressed) activation sent to bob.
  void forward_and_send(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot = Tensor<T>()) {
    optimizer_.zero_grad();
    activation_ = model_->forward(ids, multi_hot);
    const Packet p = encode(kCutActivation, noised(activation_), cut_.activations);
    mask_ = cut_.activations.top_k ? kept_mask<T>(p) : Tensor<T>();
    channel_.send(p);
  }
  // Inference: the activation only, without a graph.
  void send(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot = Tensor<T>()) {
    NoGradGuard no_grad;
    channel_.send(encode(kCutActivation, noised(model_->forward(ids, multi_hot)), cut_.activations));
  }
  // Receives dL/d(activation) from bob, back-propagates it and steps.
  void backward_and_step() {
    if (!activation_.defined())
      detail::fail<ValueError>("AliceParty::backward_and_step: no forward pass is waiting; call forward_and_send first");
    Tensor<T> grad = decode<T>(channel_.recv(kCutGradient));
    if (grad.shape() != activation_.shape())
      detail::fail<ShapeError>("AliceParty: the gradient from bob has shape ", detail::show(grad.shape()),
                               ", the activation ", detail::show(activation_.shape()));
    if (mask_.defined()) grad = grad * mask_;
    activation_.backward(grad);
    activation_ = Tensor<T>();
    optimizer_.step();
  }

  SplitBase<T>& model() { return *model_; }
  optim::Adam<T>& optimizer() { return optimizer_; }

 private:
  Tensor<T> noised(const Tensor<T>& a) {
    NoGradGuard no_grad;
    if (cut_.noise_std == 0) return a.detach();
    return a.detach() + randn<T>(a.shape(), noise_) * static_cast<T>(cut_.noise_std);
  }

  std::shared_ptr<SplitBase<T>> model_;
  Channel& channel_;
  optim::Adam<T> optimizer_;
  CutOptions cut_;
  Generator noise_;
  Tensor<T> activation_, mask_;
};

// Bob: his base, the fuse model, the labels and his optimizer.
template <typename T>
class BobParty {
 public:
  BobParty(std::shared_ptr<SplitBob<T>> model, Channel& channel, optim::AdamOptions adam = optim::AdamOptions(),
           CutOptions cut = {})
      : model_(std::move(model)), channel_(channel), optimizer_(model_->parameters(), adam), cut_(cut) {}

  // Receives alice's activation (a leaf requiring grad on bob's side), computes the mean
  // binary cross-entropy of the logits against labels [B] in {0, 1}, sends the gradient
  // of the activation back and steps. Returns the loss (detached).
  Tensor<T> train_step(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot, const Tensor<T>& labels) {
    Tensor<T> received = decode<T>(channel_.recv(kCutActivation));
    received.requires_grad_(true);
    optimizer_.zero_grad();
    const Tensor<T> loss = binary_cross_entropy_with_logits(model_->forward(received, ids, multi_hot), labels);
    loss.backward();
    channel_.send(encode(kCutGradient, received.grad(), cut_.gradients));
    optimizer_.step();
    return loss.detach();
  }
  // Logits [B] from the activation alice sent with AliceParty::send.
  Tensor<T> predict(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot = Tensor<T>()) {
    NoGradGuard no_grad;
    return model_->forward(decode<T>(channel_.recv(kCutActivation)), ids, multi_hot);
  }

  SplitBob<T>& model() { return *model_; }
  optim::Adam<T>& optimizer() { return optimizer_; }

 private:
  std::shared_ptr<SplitBob<T>> model_;
  Channel& channel_;
  optim::Adam<T> optimizer_;
  CutOptions cut_;
};

// One training step of both parties in one process: alice forward and send, bob forward,
// loss, backward to the cut and send, alice backward; both step. Returns bob's loss.
template <typename T>
Tensor<T> split_train_step(AliceParty<T>& alice, BobParty<T>& bob, const Tensor<std::int64_t>& alice_ids,
                           const Tensor<std::int64_t>& bob_ids, const Tensor<T>& bob_multi_hot,
                           const Tensor<T>& labels) {
  alice.forward_and_send(alice_ids);
  Tensor<T> loss = bob.train_step(bob_ids, bob_multi_hot, labels);
  alice.backward_and_step();
  return loss;
}

}  // namespace tapegrad::models
