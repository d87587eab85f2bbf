// A CNN on the real Fashion-MNIST: conv3x3(32) relu maxpool2, conv3x3(64) relu maxpool2,
// linear 3136->128 relu, linear 10 (padding 1); Adam 1e-3, batch 128, cross entropy.
// Short run (300 batches): test accuracy above 75% (chance is 10%); --full (5 epochs): at
// least 91%. bench/models_bench.cpp times the same model against libtorch.
#include <tapegrad/models.hpp>

#include "fashion_mnist_classifier.hpp"

int main(int argc, char** argv) {
  const auto args = example::parse_model_args(argc, argv);
  tapegrad::manual_seed(1);
  tapegrad::models::FashionCNN<float> cnn;
  const double accuracy = example::train_fashion_classifier(cnn, args, "fashion_mnist_cnn");
  const double bar = args.full ? 0.91 : 0.75;
  example::check(accuracy >= bar, "test accuracy " + std::to_string(accuracy) + " >= " + std::to_string(bar));
  return example::finish();
}
