// Fashion-MNIST: the directory lookup (argument, environment, Debian's default), a small
// fake dataset written here (one split plain, one gzip'd), the errors for missing files,
// mismatched counts and bad labels, and, when Debian's dataset-fashion-mnist is
// installed, the real files.
#include "../test_util.hpp"

#include <tapegrad/data/fashion_mnist.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace data_fashion_mnist_test {

namespace td = tg::data;
namespace fs = std::filesystem;

// A tg::IOError whose message contains `text`.
#define FASHION_CHECK_FAILS(expr, text) TG_CHECK_THROWS(expr, tg::IOError, text)

// A fresh directory under the temp directory, removed at the end of the test.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) : path((fs::temp_directory_path() / ("tapegrad_fmnist_" + name)).string()) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Sets an environment variable for a scope, then restores what it was.
struct EnvVar {
  std::string name, old;
  bool had;
  EnvVar(const std::string& n, const char* value) : name(n) {
    const char* o = std::getenv(n.c_str());
    had = o != nullptr;
    if (had) old = o;
    if (value) setenv(n.c_str(), value, 1);
    else unsetenv(n.c_str());
  }
  ~EnvVar() {
    if (had) setenv(name.c_str(), old.c_str(), 1);
    else unsetenv(name.c_str());
  }
};

// n images of 2x3 pixels, image i holding i * 10 + pixel, and labels i % 10.
void write_split(const std::string& dir, const std::string& split, int n, bool gzip, int labels = -1) {
  std::vector<double> pixels, ys;
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < 6; ++p) pixels.push_back(i * 10 + p);
  for (int i = 0; i < (labels < 0 ? n : labels); ++i) ys.push_back(i % 10);
  const std::string ext = gzip ? ".gz" : "";
  td::save_idx(values(pixels, {n, 2, 3}), dir + "/" + split + "-images-idx3-ubyte" + ext, td::IdxType::U8, gzip);
  td::save_idx(values(ys, {static_cast<std::int64_t>(ys.size())}), dir + "/" + split + "-labels-idx1-ubyte" + ext,
               td::IdxType::U8, gzip);
}

TEST_CASE("fashion_mnist: the ten class names", "[data][fashion_mnist]") {
  const auto& names = td::FashionMNIST<float>::classes();
  CHECK(names.size() == 10);
  CHECK(names[0] == "T-shirt/top");
  CHECK(names[5] == "Sandal");
  CHECK(names[9] == "Ankle boot");
}

TEST_CASE("fashion_mnist: the directory is the argument, else the environment, else Debian's", "[data][fashion_mnist]") {
  {
    EnvVar env("TAPEGRAD_FASHION_MNIST", nullptr);
    CHECK(td::fashion_mnist_dir() == "/usr/share/datasets/fashion-mnist");
    CHECK(td::fashion_mnist_dir("/data/fm") == "/data/fm");
  }
  EnvVar env("TAPEGRAD_FASHION_MNIST", "/elsewhere");
  CHECK(td::fashion_mnist_dir() == "/elsewhere");
  CHECK(td::fashion_mnist_dir("/data/fm") == "/data/fm");
}

TEST_CASE("fashion_mnist: loads a small dataset, plain and gzip'd files alike", "[data][fashion_mnist]") {
  TempDir dir("small");
  write_split(dir.path, "train", 3, false);
  write_split(dir.path, "t10k", 2, true);
  const td::FashionMNIST<double> data(dir.path);
  CHECK(data.train.images.shape() == tg::Shape{3, 2, 3});
  CHECK(data.test.images.shape() == tg::Shape{2, 2, 3});
  CHECK(data.train.images.data_ptr()[0] == 0.0);
  CHECK(data.train.images.data_ptr()[17] == Approx(25.0 / 255));  // image 2, pixel 5
  CHECK(data.test.images.data_ptr()[7] == Approx(11.0 / 255));    // image 1, pixel 1
  CHECK(std::vector<std::int64_t>(data.train.labels.data_ptr(), data.train.labels.data_ptr() + 3) ==
        std::vector<std::int64_t>{0, 1, 2});
  // Through the environment variable, with a channel dimension.
  EnvVar env("TAPEGRAD_FASHION_MNIST", dir.path.c_str());
  const td::ImageSplit<float> test = td::load_fashion_mnist<float>("t10k", "", true);
  CHECK(test.images.shape() == tg::Shape{2, 1, 2, 3});
  CHECK(test.labels.numel() == 2);
  CHECK_THROWS_AS(td::load_fashion_mnist<float>("test", dir.path), tg::ValueError);
}

TEST_CASE("fashion_mnist: a missing file says which and how to install the data", "[data][fashion_mnist]") {
  TempDir dir("missing");
  write_split(dir.path, "train", 2, false);
  fs::remove(dir.path + "/train-labels-idx1-ubyte");
  FASHION_CHECK_FAILS(td::load_fashion_mnist<float>("train", dir.path),
                      "no train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz in \"" + dir.path + "\"");
  FASHION_CHECK_FAILS(td::load_fashion_mnist<float>("train", dir.path), "apt-get install dataset-fashion-mnist");
  FASHION_CHECK_FAILS(td::FashionMNIST<float>(dir.path), "TAPEGRAD_FASHION_MNIST");
}

TEST_CASE("fashion_mnist: images and labels must pair up, labels must be classes", "[data][fashion_mnist]") {
  TempDir dir("mismatch");
  write_split(dir.path, "train", 2, true, 3);
  FASHION_CHECK_FAILS(td::load_fashion_mnist<float>("train", dir.path), "train-images-idx3-ubyte.gz\" has 2 images but");
  FASHION_CHECK_FAILS(td::load_fashion_mnist<float>("train", dir.path), "has 3 labels");
  td::save_idx(values({0, 10}, {2}), dir.path + "/train-labels-idx1-ubyte.gz", td::IdxType::U8, true);
  FASHION_CHECK_FAILS(td::load_fashion_mnist<float>("train", dir.path), "label 1 is 10, not a class 0..9");
}

// The real data, when Debian's dataset-fashion-mnist is installed (else skipped).
TEST_CASE("fashion_mnist: Debian's files hold 60000 + 10000 balanced 28x28 images", "[data][fashion_mnist]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/t10k-labels-idx1-ubyte.gz") && !fs::exists(dir + "/t10k-labels-idx1-ubyte")) {
    WARN("skipped: " << dir << " has no Fashion-MNIST (apt-get install dataset-fashion-mnist)");
    return;
  }
  // Counts per class; the first label of both splits is 9 (an ankle boot).
  const auto check_labels = [](const tg::Tensor<std::int64_t>& y, std::int64_t n) {
    REQUIRE(y.shape() == tg::Shape{n});
    std::array<std::int64_t, 10> count{};
    for (std::int64_t i = 0; i < n; ++i) ++count[static_cast<std::size_t>(y.data_ptr()[i])];
    for (std::int64_t c : count) CHECK(c == n / 10);
    CHECK(y.data_ptr()[0] == 9);
  };
  // The 47 MB of training images are only sized (their header), to keep the test fast.
  const std::string train_images = dir + "/train-images-idx3-ubyte.gz";
  if (fs::exists(train_images)) {
    const td::IdxHeader h = td::read_idx_header(train_images);
    CHECK(h.type == td::IdxType::U8);
    CHECK(h.dims == tg::Shape{60000, 28, 28});
  }
  const std::string train_labels = dir + "/train-labels-idx1-ubyte";
  check_labels(td::read_idx_labels(fs::exists(train_labels) ? train_labels : train_labels + ".gz"), 60000);
  const td::ImageSplit<float> test = td::load_fashion_mnist<float>("t10k", dir);
  CHECK(test.images.shape() == tg::Shape{10000, 28, 28});
  check_labels(test.labels, 10000);
  // The test pixels' mean: their byte sum 573469082 (Python's gzip module) / (7840000 * 255).
  double sum = 0, lo = 1, hi = 0;
  const float* x = test.images.data_ptr();
  for (std::int64_t i = 0; i < test.images.numel(); ++i) {
    sum += x[i];
    lo = std::min<double>(lo, x[i]);
    hi = std::max<double>(hi, x[i]);
  }
  CHECK(sum / 7840000.0 == Approx(573469082.0 / (7840000.0 * 255.0)).epsilon(1e-6));
  CHECK(lo == 0.0);
  CHECK(hi == 1.0);
}

}  // namespace data_fashion_mnist_test
