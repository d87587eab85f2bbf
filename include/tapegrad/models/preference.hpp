#pragma once
// A model of customer-product preferences in four parts:
//
//   u = customer_encoder(customer features)        [B, d]
//   p = product_encoder(product features)          [B, d]
//   r = comparator([u, p, u * p, |u - p|])          [B, preference_dim]  (the preference vector)
//   logit = predictor(r)                            [B]  (purchase propensity, sigmoid -> probability)
//
//   tg::models::PreferenceOptions opt;
//   opt.customer_features = 12; opt.product_features = 30;
//   auto model = std::make_shared<tg::models::PreferenceModel<float>>(opt);
//   tg::optim::Adam<float> adam(model->parameters(), tg::optim::AdamOptions(1e-3));
//   auto loss = model->loss(customers, products, bought);   // BCE with logits, mean
//   tg::Tensor<float> U = model->customer_embeddings(all_customers);  // [N, d], e.g. tg::save_npy(U, "u.npy")
//
// The comparator's input holds both embeddings, their element-wise product (agreement
// per dimension) and absolute difference (distance per dimension), as in InferSent's
// sentence-pair features: a symmetric, order-aware summary an MLP learns from easily.

#include "deepfm.hpp"  // make_mlp

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tapegrad::models {

struct PreferenceOptions {
  std::int64_t customer_features = 0;             // width of a customer's feature vector
  std::int64_t product_features = 0;              // width of a product's feature vector
  std::int64_t embed_dim = 32;                    // d, shared by both encoders
  std::vector<std::int64_t> encoder_hidden = {64};
  std::vector<std::int64_t> comparator_hidden = {64};
  std::int64_t preference_dim = 16;
  std::vector<std::int64_t> predictor_hidden = {};
  double dropout = 0.0;
};

// features [B, in] -> embedding [B, d]: an MLP whose last layer is linear.
template <typename T>
class PreferenceEncoder : public nn::Module<T> {
 public:
  std::shared_ptr<nn::Sequential<T>> mlp;
  PreferenceEncoder(std::string role, std::int64_t in_features, const PreferenceOptions& options)
      : nn::Module<T>("PreferenceEncoder"), role_(std::move(role)), in_features_(in_features) {
    detail::check_positive_size(role_.c_str(), "the feature count", in_features);
    detail::check_positive_size(role_.c_str(), "embed_dim", options.embed_dim);
    mlp = this->register_module("mlp", make_mlp<T>(in_features, options.encoder_hidden, options.embed_dim,
                                                   options.dropout));
  }
  Tensor<T> forward(const Tensor<T>& features) override {
    if (features.dim() != 2 || features.size(1) != in_features_)
      detail::fail<ShapeError>(role_, ": expected features of shape [B, ", in_features_, "], got ",
                               detail::show(features.shape()));
    return mlp->forward(features);
  }

 private:
  std::string role_;
  std::int64_t in_features_;
};

// (u, p) -> relu(MLP([u, p, u * p, |u - p|])) [B, preference_dim].
template <typename T>
class PreferenceComparator : public nn::Module<T> {
 public:
  std::shared_ptr<nn::Sequential<T>> mlp;
  explicit PreferenceComparator(const PreferenceOptions& options) : nn::Module<T>("PreferenceComparator") {
    detail::check_positive_size("PreferenceComparator", "preference_dim", options.preference_dim);
    std::vector<std::int64_t> layers = options.comparator_hidden;
    layers.push_back(options.preference_dim);
    mlp = this->register_module("mlp", make_mlp<T>(4 * options.embed_dim, layers, 0, options.dropout));
  }
  using nn::Module<T>::forward;
  Tensor<T> forward(const Tensor<T>& u, const Tensor<T>& p) {
    if (u.shape() != p.shape() || u.dim() != 2)
      detail::fail<ShapeError>("PreferenceComparator: the customer and product embeddings must both be [B, d], got ",
                               detail::show(u.shape()), " and ", detail::show(p.shape()));
    return mlp->forward(cat<T>({u, p, u * p, abs(u - p)}, 1));
  }
};

template <typename T>
class PreferenceModel : public nn::Module<T> {
 public:
  std::shared_ptr<PreferenceEncoder<T>> customer_encoder, product_encoder;
  std::shared_ptr<PreferenceComparator<T>> comparator;
  std::shared_ptr<nn::Sequential<T>> predictor;  // r -> predictor_hidden... -> 1

  explicit PreferenceModel(const PreferenceOptions& options) : nn::Module<T>("PreferenceModel") {
    customer_encoder = this->register_module(
        "customer_encoder",
        std::make_shared<PreferenceEncoder<T>>("PreferenceModel (customers)", options.customer_features, options));
    product_encoder = this->register_module(
        "product_encoder",
        std::make_shared<PreferenceEncoder<T>>("PreferenceModel (products)", options.product_features, options));
    comparator = this->register_module("comparator", std::make_shared<PreferenceComparator<T>>(options));
    predictor = this->register_module("predictor", make_mlp<T>(options.preference_dim, options.predictor_hidden, 1,
                                                               options.dropout));
  }

  using nn::Module<T>::forward;
  // The preference vector r of each (customer, product) pair [B, preference_dim].
  Tensor<T> preference(const Tensor<T>& customers, const Tensor<T>& products) {
    check_pairs(customers, products);
    return comparator->forward(customer_encoder->forward(customers), product_encoder->forward(products));
  }
  // Purchase-propensity logits [B].
  Tensor<T> forward(const Tensor<T>& customers, const Tensor<T>& products) {
    return predictor->forward(preference(customers, products)).reshape({-1});
  }
  // Mean binary cross-entropy of the logits against labels [B] in {0, 1} (or soft labels).
  Tensor<T> loss(const Tensor<T>& customers, const Tensor<T>& products, const Tensor<T>& labels) {
    return binary_cross_entropy_with_logits(forward(customers, products), labels);
  }

  // Embeddings for export: [N, d], computed in eval mode without a graph (the mode is
  // restored afterwards).
  Tensor<T> customer_embeddings(const Tensor<T>& customers) { return embed(*customer_encoder, customers); }
  Tensor<T> product_embeddings(const Tensor<T>& products) { return embed(*product_encoder, products); }

 private:
  static void check_pairs(const Tensor<T>& customers, const Tensor<T>& products) {
    if (customers.dim() != 2 || products.dim() != 2 || customers.size(0) != products.size(0))
      detail::fail<ShapeError>("PreferenceModel: customers [B, Fc] and products [B, Fp] must pair row by row, got ",
                               detail::show(customers.shape()), " and ", detail::show(products.shape()));
  }
  // Switches to eval mode for its lifetime and back, also when the forward throws.
  struct EvalScope {
    nn::Module<T>& module;
    bool was_training;
    explicit EvalScope(nn::Module<T>& m) : module(m), was_training(m.is_training()) { m.eval(); }
    ~EvalScope() { module.train(was_training); }
  };
  Tensor<T> embed(PreferenceEncoder<T>& encoder, const Tensor<T>& features) {
    EvalScope eval_mode(*this);
    NoGradGuard no_grad;
    return encoder.forward(features);
  }
};

}  // namespace tapegrad::models
