// An MLP 784-256-128-10 on the real Fashion-MNIST: standardized pixels, Adam 1e-3 annealed
// along a cosine, batch 128, cross entropy. Short run (300 batches): test accuracy above 70%
// (chance is 10%); --full (5 epochs): at least 88%. bench/models_bench.cpp times the same
// model against libtorch (with plain Adam 1e-3 on both sides).
#include <tapegrad/models.hpp>

#include "fashion_mnist_classifier.hpp"

int main(int argc, char** argv) {
  const auto args = example::parse_model_args(argc, argv);
  tapegrad::manual_seed(1);
  tapegrad::models::FashionMLP<float> mlp;
  const double accuracy = example::train_fashion_classifier(mlp, args, "fashion_mnist_mlp", /*lr=*/1e-3);
  const double bar = args.full ? 0.88 : 0.70;
  example::check(accuracy >= bar, "test accuracy " + std::to_string(accuracy) + " >= " + std::to_string(bar));
  return example::finish();
}
