#pragma once
// DeepFM (Guo et al., IJCAI 2017): a factorization machine and a DNN sharing one set of
// field embeddings, for click-through / rating prediction on categorical tables.
//
//   tg::models::DeepFMOptions opt;
//   opt.field_dims = {num_users, num_movies, 2 /*gender*/, 7 /*age*/};
//   opt.field_names = {"user", "movie", "gender", "age"};
//   opt.multi_hot_dim = 18;                                  // genres, a [B, 18] 0/1 matrix
//   auto model = std::make_shared<tg::models::DeepFM<float>>(opt);
//   tg::Tensor<float> logit = model->forward(ids, genres);  // ids Tensor<int64_t> [B, 4] -> [B]
//   auto loss = tg::binary_cross_entropy_with_logits(logit, labels);
//
//   logit = b + sum_i w_i                               (first order)
//         + 0.5 sum_k [(sum_i v_ik)^2 - sum_i v_ik^2]   (FM: sum_{i<j} <v_i, v_j>)
//         + DNN(concat_i v_i)                           (deep part)
// where i runs over the fields (the multi-valued field counts as one, its pooled row).

#include "../nn.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tapegrad::models {

// Linear -> ReLU (-> Dropout) for each hidden size, then Linear -> out (out = 0: no
// output layer, the last hidden activation is the output).
template <typename T>
std::shared_ptr<nn::Sequential<T>> make_mlp(std::int64_t in_features, const std::vector<std::int64_t>& hidden,
                                            std::int64_t out_features, double dropout = 0.0) {
  auto net = std::make_shared<nn::Sequential<T>>();
  std::int64_t width = in_features;
  for (std::int64_t h : hidden) {
    net->push_back(std::make_shared<nn::Linear<T>>(width, h));
    net->push_back(std::make_shared<nn::ReLU<T>>());
    if (dropout > 0) net->push_back(std::make_shared<nn::Dropout<T>>(dropout));
    width = h;
  }
  if (out_features > 0) net->push_back(std::make_shared<nn::Linear<T>>(width, out_features));
  return net;
}

// The FM second-order term of field embeddings E [B, F, k], one value per row [B]:
//   0.5 sum_k [(sum_f E_bfk)^2 - sum_f E_bfk^2] = sum_{f<g} <E_bf, E_bg>
// (Rendle's O(F k) identity instead of the O(F^2 k) pairwise sum).
template <typename T>
Tensor<T> fm_interaction(const Tensor<T>& embeddings) {
  if (embeddings.dim() != 3)
    detail::fail<ShapeError>("fm_interaction: expected field embeddings [B, F, k], got shape ",
                             detail::show(embeddings.shape()));
  const Tensor<T> field_sum = embeddings.sum(1);  // [B, k]
  return (field_sum * field_sum - (embeddings * embeddings).sum(1)).sum(1) * T(0.5);
}

// What the embedding layer of a categorical table is made of.
struct FieldEmbeddingOptions {
  std::vector<std::int64_t> field_dims;   // vocabulary size of each categorical field
  std::vector<std::string> field_names;   // optional, for error messages ("user", "movie", ...)
  std::int64_t multi_hot_dim = 0;         // G of an optional multi-valued field [B, G]; 0 = none
  std::string multi_hot_name = "multi_hot";
  nn::EmbeddingBagMode multi_hot_mode = nn::EmbeddingBagMode::mean;  // sum or mean pooling
  std::int64_t embed_dim = 8;             // k
  double init_std = 1e-4;                 // embeddings and first-order weights ~ N(0, init_std^2) (DeepCTR)
};

// Embedded rows of one batch.
template <typename T>
struct FieldEmbeddingOutput {
  Tensor<T> embeddings;   // [B, F', k]: one row per field, the pooled multi-valued field last
  Tensor<T> first_order;  // [B]: sum of the fields' scalar weights (no bias)
};

// Per-field embeddings v (dim k) and first-order weights w (dim 1). All categorical
// fields share one table each, field f's ids shifted by the sizes of the fields before
// it (torchfm's FeaturesEmbedding): one lookup per batch instead of one per field.
template <typename T>
class FieldEmbedding : public nn::Module<T> {
 public:
  std::shared_ptr<nn::Embedding<T>> embedding;      // v: [sum of field_dims, k]
  std::shared_ptr<nn::Embedding<T>> weight;         // w: [sum of field_dims, 1]
  std::shared_ptr<nn::EmbeddingBag<T>> bag_embedding, bag_weight;  // the multi-valued field's v and w

  explicit FieldEmbedding(FieldEmbeddingOptions options, std::string owner = "FieldEmbedding")
      : nn::Module<T>("FieldEmbedding"), options_(std::move(options)), owner_(std::move(owner)) {
    check_options();
    std::int64_t total = 0;
    for (std::int64_t d : options_.field_dims) {
      offsets_.push_back(total);
      total += d;
    }
    embedding = this->register_module("embedding", std::make_shared<nn::Embedding<T>>(total, options_.embed_dim));
    weight = this->register_module("weight", std::make_shared<nn::Embedding<T>>(total, 1));
    nn::init::normal_(embedding->weight, 0.0, options_.init_std);
    nn::init::normal_(weight->weight, 0.0, options_.init_std);
    if (options_.multi_hot_dim > 0) {
      const auto mode = options_.multi_hot_mode;
      bag_embedding = this->register_module(
          "bag_embedding", std::make_shared<nn::EmbeddingBag<T>>(options_.multi_hot_dim, options_.embed_dim, mode));
      bag_weight =
          this->register_module("bag_weight", std::make_shared<nn::EmbeddingBag<T>>(options_.multi_hot_dim, 1, mode));
      nn::init::normal_(bag_embedding->weight, 0.0, options_.init_std);
      nn::init::normal_(bag_weight->weight, 0.0, options_.init_std);
    }
  }

  // F' = number of categorical fields + 1 if there is a multi-valued field.
  std::int64_t num_fields() const {
    return static_cast<std::int64_t>(options_.field_dims.size()) + (options_.multi_hot_dim > 0 ? 1 : 0);
  }
  std::int64_t embed_dim() const { return options_.embed_dim; }
  const FieldEmbeddingOptions& options() const { return options_; }

  using nn::Module<T>::forward;
  // ids [B, F] (column f holds ids in [0, field_dims[f])); multi_hot [B, G] when the
  // options have a multi-valued field, else undefined.
  FieldEmbeddingOutput<T> forward(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot = Tensor<T>()) {
    const Tensor<std::int64_t> global = global_ids(ids);
    Tensor<T> v = embedding->forward(global);                // [B, F, k]
    Tensor<T> first = weight->forward(global).sum({1, 2});   // [B]
    if (options_.multi_hot_dim > 0) {
      check_multi_hot(multi_hot, ids.size(0));
      v = cat<T>({v, bag_embedding->forward_multi_hot(multi_hot).unsqueeze(1)}, 1);
      first = first + bag_weight->forward_multi_hot(multi_hot).reshape({-1});
    } else if (multi_hot.defined()) {
      detail::fail<ValueError>(owner_, ": got a multi-hot matrix but the model has no multi-valued field; set "
                               "multi_hot_dim in the options or pass no matrix");
    }
    return {v, first};
  }

 private:
  std::string field_name(std::size_t f) const {
    return f < options_.field_names.size() ? "\"" + options_.field_names[f] + "\"" : "#" + std::to_string(f);
  }
  void check_options() const {
    if (options_.field_dims.empty() && options_.multi_hot_dim <= 0)
      detail::fail<ValueError>(owner_, ": no fields; set field_dims (one vocabulary size per field)");
    for (std::size_t f = 0; f < options_.field_dims.size(); ++f)
      if (options_.field_dims[f] <= 0)
        detail::fail<ValueError>(owner_, ": field ", field_name(f), " has vocabulary size ", options_.field_dims[f],
                                 "; every field needs at least one id");
    if (!options_.field_names.empty() && options_.field_names.size() != options_.field_dims.size())
      detail::fail<ValueError>(owner_, ": ", options_.field_names.size(), " field names for ",
                               options_.field_dims.size(), " fields");
    if (options_.multi_hot_dim < 0)
      detail::fail<ValueError>(owner_, ": multi_hot_dim must be >= 0, got ", options_.multi_hot_dim);
    if (options_.multi_hot_mode == nn::EmbeddingBagMode::max)
      detail::fail<ValueError>(owner_, ": multi_hot_mode must be sum or mean (max has no first-order weight)");
    detail::check_positive_size(owner_.c_str(), "embed_dim", options_.embed_dim);
  }
  // Validates every id against its field's vocabulary, then shifts it into the shared table.
  Tensor<std::int64_t> global_ids(const Tensor<std::int64_t>& ids) const {
    const auto fields = static_cast<std::int64_t>(options_.field_dims.size());
    if (!ids.defined() || ids.dim() != 2 || ids.size(1) != fields)
      detail::fail<ShapeError>(owner_, ": expected ids of shape [B, ", fields, "] (one column per field), got ",
                               ids.defined() ? detail::show(ids.shape()) : detail::show(Shape{}));
    Tensor<std::int64_t> out = empty<std::int64_t>(ids.shape());
    const std::int64_t* in = ids.data_ptr();
    std::int64_t* o = out.data_ptr();
    for (std::int64_t b = 0; b < ids.size(0); ++b)
      for (std::int64_t f = 0; f < fields; ++f) {
        const std::int64_t id = in[b * fields + f], vocab = options_.field_dims[static_cast<std::size_t>(f)];
        if (id < 0 || id >= vocab)
          detail::fail<IndexError>(owner_, ": field ", field_name(static_cast<std::size_t>(f)), " has id ", id,
                                   " in row ", b, ", out of range [0, ", vocab, ") (its vocabulary size is ", vocab,
                                   ")");
        o[b * fields + f] = offsets_[static_cast<std::size_t>(f)] + id;
      }
    return out;
  }
  void check_multi_hot(const Tensor<T>& m, std::int64_t batch) const {
    if (!m.defined())
      detail::fail<ValueError>(owner_, ": the multi-valued field \"", options_.multi_hot_name,
                               "\" needs its [B, ", options_.multi_hot_dim, "] multi-hot matrix");
    if (m.dim() != 2 || m.size(0) != batch || m.size(1) != options_.multi_hot_dim)
      detail::fail<ShapeError>(owner_, ": the multi-valued field \"", options_.multi_hot_name, "\" expects a [",
                               batch, ", ", options_.multi_hot_dim, "] matrix, got ", detail::show(m.shape()));
  }

  FieldEmbeddingOptions options_;
  std::string owner_;
  std::vector<std::int64_t> offsets_;
};

struct DeepFMOptions : FieldEmbeddingOptions {
  std::vector<std::int64_t> hidden = {256, 32};  // the DNN's hidden layers (ReLU)
  double dropout = 0.0;                          // after each hidden ReLU
};

template <typename T>
class DeepFM : public nn::Module<T> {
 public:
  std::shared_ptr<FieldEmbedding<T>> fields;
  std::shared_ptr<nn::Sequential<T>> dnn;  // [F' k] -> hidden... -> 1
  Tensor<T> bias;                          // the global bias b, 0 at start

  explicit DeepFM(const DeepFMOptions& options) : nn::Module<T>("DeepFM") {
    fields = this->register_module("fields", std::make_shared<FieldEmbedding<T>>(options, "DeepFM"));
    dnn = this->register_module("dnn", make_mlp<T>(fields->num_fields() * fields->embed_dim(), options.hidden, 1,
                                                   options.dropout));
    bias = this->register_parameter("bias", zeros<T>({1}));
  }

  using nn::Module<T>::forward;
  // ids [B, F], multi_hot [B, G] (or undefined) -> logits [B].
  Tensor<T> forward(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot = Tensor<T>()) {
    const FieldEmbeddingOutput<T> e = fields->forward(ids, multi_hot);
    const Tensor<T> deep = dnn->forward(e.embeddings.flatten(1)).reshape({-1});
    return e.first_order + fm_interaction(e.embeddings) + deep + bias;
  }
  Tensor<T> operator()(const Tensor<std::int64_t>& ids, const Tensor<T>& multi_hot = Tensor<T>()) {
    return forward(ids, multi_hot);
  }
};

}  // namespace tapegrad::models
