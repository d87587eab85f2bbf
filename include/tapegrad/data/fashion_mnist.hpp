#pragma once
// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 70000 greyscale 28x28 images of clothing
// in 10 classes, 60000 to train and 10000 to test, as four IDX files.
//
//   tg::data::FashionMNIST<float> data;          // $TAPEGRAD_FASHION_MNIST, or Debian's directory
//   data.train.images;  // [60000, 28, 28] in [0, 1] (channel_dim: [60000, 1, 28, 28])
//   data.train.labels;  // [60000] int64 in 0..9;  tg::data::fashion_mnist_classes()[label]
//
// The directory is the argument if given, else the environment variable
// TAPEGRAD_FASHION_MNIST, else /usr/share/datasets/fashion-mnist, where Debian's package
// dataset-fashion-mnist installs the files. Each file may be plain or gzip'd
// (train-images-idx3-ubyte or train-images-idx3-ubyte.gz, and the same for the others).

#include "idx.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tapegrad {
namespace data {

inline const std::array<std::string, 10>& fashion_mnist_classes() {
  static const std::array<std::string, 10> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

// The directory to read: the argument, else $TAPEGRAD_FASHION_MNIST, else Debian's.
inline std::string fashion_mnist_dir(const std::string& dir = "") {
  if (!dir.empty()) return dir;
  const char* env = std::getenv("TAPEGRAD_FASHION_MNIST");
  if (env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

namespace detail {
namespace fashion {

inline bool readable(const std::string& path) { return static_cast<bool>(std::ifstream(path, std::ios::binary)); }

// dir/name, or dir/name.gz; an error saying what is missing and how to get it otherwise.
inline std::string find_file(const std::string& dir, const std::string& name) {
  for (const std::string& candidate : {dir + "/" + name, dir + "/" + name + ".gz"})
    if (readable(candidate)) return candidate;
  throw IOError("fashion_mnist: no " + name + " or " + name + ".gz in \"" + dir +
                "\"; install the data with `apt-get install dataset-fashion-mnist` (Debian, into "
                "/usr/share/datasets/fashion-mnist), or download the four files from "
                "https://github.com/zalandoresearch/fashion-mnist and pass their directory (or set TAPEGRAD_FASHION_MNIST)");
}

}  // namespace fashion
}  // namespace detail

template <typename T = float>
struct ImageSplit {
  Tensor<T> images;              // [N, 28, 28] (or [N, 1, 28, 28]) in [0, 1]
  Tensor<std::int64_t> labels;   // [N] in 0..9
};

// One split, "train" (60000 images) or "t10k" (10000, the test set), from the directory
// chosen by fashion_mnist_dir(dir).
template <typename T = float>
ImageSplit<T> load_fashion_mnist(const std::string& split, const std::string& dir = "", bool channel_dim = false) {
  if (split != "train" && split != "t10k")
    tapegrad::detail::fail<ValueError>("load_fashion_mnist: split \"", split, "\" is not \"train\" or \"t10k\" (the test set)");
  const std::string root = fashion_mnist_dir(dir);
  const std::string images_path = detail::fashion::find_file(root, split + "-images-idx3-ubyte");
  const std::string labels_path = detail::fashion::find_file(root, split + "-labels-idx1-ubyte");
  ImageSplit<T> out{read_idx_images<T>(images_path, channel_dim), read_idx_labels(labels_path)};
  check_same_count(out.images, out.labels, "\"" + images_path + "\"", "\"" + labels_path + "\"");
  const std::int64_t* label = out.labels.data_ptr();
  for (std::int64_t i = 0; i < out.labels.numel(); ++i)
    if (label[i] < 0 || label[i] > 9)
      throw IOError("fashion_mnist: \"" + labels_path + "\": label " + std::to_string(i) + " is " +
                    std::to_string(label[i]) + ", not a class 0..9");
  return out;
}

// Both splits.
template <typename T = float>
struct FashionMNIST {
  ImageSplit<T> train, test;

  explicit FashionMNIST(const std::string& dir = "", bool channel_dim = false)
      : train(load_fashion_mnist<T>("train", dir, channel_dim)), test(load_fashion_mnist<T>("t10k", dir, channel_dim)) {}

  static const std::array<std::string, 10>& classes() { return fashion_mnist_classes(); }
};

}  // namespace data
}  // namespace tapegrad
