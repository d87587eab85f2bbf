// safetensors: round trips, a byte image written by the format's rules, and every kind
// of corrupt or hostile file.
#include "../test_util.hpp"

#include <tapegrad/io.hpp>
#include <tapegrad/nn.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace io_safetensors_test {

using Bytes = std::vector<unsigned char>;

// A file image from a header text and data bytes, as the format lays it out.
Bytes image(const std::string& header, const Bytes& data, std::uint64_t claimed_length = 0) {
  // Sized once and copied into (GCC 12 at -O3 warns falsely inside vector::insert here).
  Bytes out(8 + header.size() + data.size());
  const std::uint64_t n = claimed_length ? claimed_length : header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(n >> (8 * i));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  return out;
}
Bytes float_bytes(std::initializer_list<float> values) {
  Bytes out;
  for (float v : values) {
    unsigned char b[4];
    std::memcpy(b, &v, 4);
    out.insert(out.end(), b, b + 4);
  }
  return out;
}
tg::StateDict<double> read(const Bytes& b) { return tg::load_safetensors_from_memory<double>(b.data(), b.size(), "test.safetensors"); }

TEST_CASE("safetensors: save -> load round trips are bit-identical, keep dtype, shape and order") {
  tg::Generator gen(81);
  tg::StateDict<float> sd;
  sd.insert("encoder.0.weight", tg::randn<float>({3, 4}, gen));
  sd.insert("scalar", tg::scalar_tensor<float>(-0.0f));
  sd.insert("empty", tg::zeros<float>({0, 5}));
  sd.insert("special", tg::from_vector<float>({std::numeric_limits<float>::infinity(), 1e-45f, -3.5f}));
  const std::string path = "tapegrad_test_roundtrip.safetensors";
  tg::save(sd, path, {{"format", "pt"}});
  const auto back = tg::load<float>(path);
  REQUIRE(back.keys() == sd.keys());
  for (const auto& [name, t] : sd) {
    INFO(name);
    const auto& u = back.at(name);
    CHECK(u.shape() == t.shape());
    // memcmp of zero bytes still needs non-null pointers, and an empty tensor has none.
    if (t.numel() > 0) {
      CHECK(std::memcmp(u.data_ptr(), t.data_ptr(), sizeof(float) * static_cast<std::size_t>(t.numel())) == 0);
    }
  }
  // The header and the metadata as written.
  std::ifstream in(path, std::ios::binary);
  const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto header = tg::read_safetensors_header(bytes.data(), bytes.size());
  CHECK(header.metadata.at("format") == "pt");
  CHECK(header.data_start % 8 == 0);
  CHECK(header.entries[0].dtype == "F32");
  std::remove(path.c_str());

  tg::StateDict<double> d;
  d.insert("w", tg::randn<double>({2, 2}, gen));
  tg::save(d, path);
  CHECK(tg::load<double>(path).at("w").to_vector() == d.at("w").to_vector());
  std::remove(path.c_str());
}

TEST_CASE("safetensors: reads the image Python's safetensors writes for {\"a\": tensor([1., 2.])}") {
  // safetensors.torch.save({"a": torch.tensor([1.0, 2.0])}): this JSON, space-padded to a
  // multiple of 8, then 8 bytes of little-endian float32.
  std::string json = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  while (json.size() % 8) json += ' ';
  const auto sd = read(image(json, float_bytes({1.0f, 2.0f})));
  CHECK(sd.at("a").to_vector() == std::vector<double>{1.0, 2.0});
  // And tapegrad writes the same bytes for the same tensor.
  tg::StateDict<float> mine;
  mine.insert("a", tg::from_vector<float>({1, 2}));
  CHECK(tg::safetensors_bytes(mine) == image(json, float_bytes({1.0f, 2.0f})));
}

TEST_CASE("safetensors: other dtypes convert (I64 num_batches_tracked, F16, BF16, BOOL)") {
  Bytes data;
  auto push = [&](const void* p, std::size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    data.insert(data.end(), c, c + n);
  };
  const std::int64_t count = 42;
  push(&count, 8);
  const std::uint16_t half_1_5 = 0x3E00, bf16_minus_2 = 0xC000;
  push(&half_1_5, 2);
  push(&bf16_minus_2, 2);
  const unsigned char flag = 1;
  push(&flag, 1);
  const std::string json = R"({"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},)"
                           R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]},"f":{"dtype":"BOOL","shape":[1],"data_offsets":[12,13]}})";
  const auto sd = read(image(json, data));
  CHECK(sd.at("n").item() == 42.0);
  CHECK(sd.at("h").item() == 1.5);
  CHECK(sd.at("b").item() == -2.0);
  CHECK(sd.at("f").item() == 1.0);
}

TEST_CASE("safetensors: corrupt, truncated and hostile files are clear errors naming the file") {
  const std::string good = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const Bytes data = float_bytes({1, 2});
  CHECK_THROWS_WITH(read(Bytes{1, 2, 3}), TG_CONTAINS("test.safetensors: the file has 3 bytes, fewer than the 8-byte header length"));
  CHECK_THROWS_WITH(read(image(good, data, 1ull << 40)), TG_CONTAINS("exceeds the format's limit of 100 MB"));
  CHECK_THROWS_WITH(read(image(good, data, good.size() + 100)), TG_CONTAINS("runs past the end of the file"));
  CHECK_THROWS_WITH(read(image("{\"a\": [1,", data)), TG_CONTAINS("the header is not valid UTF-8 JSON"));
  CHECK_THROWS_WITH(read(image("{\"a\xff\": 1}", data)), TG_CONTAINS("not valid UTF-8 JSON"));
  CHECK_THROWS_WITH(read(image("[1, 2]", data)), TG_CONTAINS("the header is not a JSON object"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[2]}})", data)), TG_CONTAINS("tensor \"a\" needs an object with dtype, shape and data_offsets"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", data)), TG_CONTAINS("unknown dtype \"F33\""));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data)), TG_CONTAINS("non-negative integers"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data)),
                    TG_CONTAINS("element count overflows"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,80]}})", data)), TG_CONTAINS("out of the data section's 8 bytes"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data)), TG_CONTAINS("8 bytes for 3 F32 elements (12 expected)"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data)),
                    TG_CONTAINS("overlaps the previous tensor"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data)), TG_CONTAINS("(a gap)"));
  CHECK_THROWS_WITH(read(image(good, float_bytes({1, 2, 3}))), TG_CONTAINS("4 bytes after the last tensor"));
  CHECK_THROWS_WITH(read(image(R"({"__metadata__":{"k":1}})", {})), TG_CONTAINS("__metadata__ value of \"k\" is not a string"));
  CHECK_THROWS_WITH(tg::load<float>("/nonexistent/model.safetensors"), TG_CONTAINS("cannot open \"/nonexistent/model.safetensors\""));
  // A directory opens as a stream whose size reads as 2^63 - 1: an IOError, not a huge allocation.
  const std::string dir = "tapegrad_test_safetensors_dir.safetensors";
  std::filesystem::create_directory(dir);
  CHECK_THROWS_AS(tg::load<float>(dir), tg::IOError);
  CHECK_THROWS_WITH(tg::load<float>(dir), TG_CONTAINS("load: reading \"tapegrad_test_safetensors_dir.safetensors\" failed"));
  std::filesystem::remove(dir);
  // A truncated file: every prefix of a good image fails cleanly.
  const Bytes whole = image(good, data);
  for (std::size_t n = 0; n < whole.size(); ++n) CHECK_THROWS_AS(read(Bytes(whole.begin(), whole.begin() + n)), tg::IOError);
}

TEST_CASE("safetensors: hostile shapes found by fuzzing are errors, not huge allocations or negative dims") {
  // 2^61 F64 elements are 2^64 bytes, which wrapped to the 0 bytes claimed: a 2^64-byte allocation.
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})", {})),
                    TG_CONTAINS("0 bytes for 2305843009213693952 F64 elements (over 2^64 expected)"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"I32","shape":[2,2305843009213693952],"data_offsets":[0,0]}})", {})),
                    TG_CONTAINS("(over 2^64 expected)"));
  // A zero dimension made the rest unchecked: 2^64 - 1 became the dimension -1 (a
  // ShapeError from the tensor, not an IOError), and [0, 2^62, 2^62] has strides past int64.
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})", {})),
                    TG_CONTAINS("tensor \"a\": the shape's element count overflows"));
  CHECK_THROWS_WITH(read(image(R"({"a":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", {})),
                    TG_CONTAINS("tensor \"a\": the shape's element count overflows"));
  // Empty tensors with large (representable) dimensions still load.
  const auto sd = read(image(R"({"a":{"dtype":"F32","shape":[4611686018427387904,0],"data_offsets":[0,0]}})", {}));
  CHECK(sd.at("a").shape() == tg::Shape{4611686018427387904, 0});
  CHECK(sd.at("a").numel() == 0);
}

TEST_CASE("safetensors: a module's round trip is exact; a corrupt checkpoint leaves the model untouched") {
  tg::manual_seed(82);
  tg::nn::Sequential<float> a(std::make_shared<tg::nn::Linear<float>>(3, 4), std::make_shared<tg::nn::BatchNorm1d<float>>(4));
  tg::nn::Sequential<float> b(std::make_shared<tg::nn::Linear<float>>(3, 4), std::make_shared<tg::nn::BatchNorm1d<float>>(4));
  a.forward(tg::randn<float>({5, 3}));  // running statistics that differ from b's
  const std::string path = "tapegrad_test_module.safetensors";
  tg::save(a.state_dict(), path);
  b.load_state_dict(tg::load<float>(path));
  for (const auto& [name, t] : a.state_dict()) CHECK(b.state_dict().at(name).to_vector() == t.to_vector());
  // Truncate the file: load throws before anything reaches the model.
  tg::nn::Sequential<float> c(std::make_shared<tg::nn::Linear<float>>(3, 4), std::make_shared<tg::nn::BatchNorm1d<float>>(4));
  const auto before = c.state_dict().at("0.weight").to_vector();
  {
    std::ifstream in(path, std::ios::binary);
    const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() - 4));
  }
  CHECK_THROWS_WITH(c.load_state_dict(tg::load<float>(path)), TG_CONTAINS("tapegrad_test_module.safetensors"));
  CHECK(c.state_dict().at("0.weight").to_vector() == before);
  std::remove(path.c_str());
}

}  // namespace io_safetensors_test
