// The pieces the checkpoint formats share: whole-file reads, atomic writes, half and
// bfloat16 conversion.
#include "../test_util.hpp"

#include <tapegrad/io/file.hpp>

#include <filesystem>
#include <fstream>

namespace io_file_test {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

TEST_CASE("io files: write_file_atomically then read_file round trips; failures are IOErrors", "[io_file]") {
  const std::string path = "tapegrad_test_io_file.bin";
  const Bytes bytes{0, 1, 2, 255, 128};
  tg::detail::write_file_atomically(bytes, path, "save");
  CHECK(tg::detail::read_file(path, "load") == bytes);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  // Overwriting replaces the whole file, also with fewer bytes.
  tg::detail::write_file_atomically(Bytes{7}, path, "save");
  CHECK(tg::detail::read_file(path, "load") == Bytes{7});
  // More than one read chunk (1 MiB).
  const Bytes big((std::size_t(1) << 20) + 3, 9);
  tg::detail::write_file_atomically(big, path, "save");
  CHECK(tg::detail::read_file(path, "load") == big);
  fs::remove(path);

  CHECK_THROWS_WITH(tg::detail::read_file("/nonexistent/x", "load"), TG_CONTAINS("load: cannot open \"/nonexistent/x\" for reading"));
  CHECK_THROWS_WITH(tg::detail::write_file_atomically(bytes, "/nonexistent/x", "save"),
                    TG_CONTAINS("save: cannot open \"/nonexistent/x.tmp\" for writing"));
  const std::string dir = "tapegrad_test_io_file_dir";
  fs::create_directory(dir);
  CHECK_THROWS_AS(tg::detail::read_file(dir, "load"), tg::IOError);
  fs::remove(dir);
}

TEST_CASE("io files: half and bfloat16 to float", "[io_file]") {
  CHECK(tg::detail::half_to_float(0x3C00) == 1.0f);
  CHECK(tg::detail::half_to_float(0xC000) == -2.0f);
  CHECK(tg::detail::half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(tg::detail::half_to_float(0x7BFF) == 65504.0f);               // largest finite
  CHECK(std::isinf(tg::detail::half_to_float(0x7C00)));
  CHECK(std::isnan(tg::detail::half_to_float(0x7E00)));
  CHECK(tg::detail::bf16_to_float(0x3F80) == 1.0f);
  CHECK(tg::detail::bf16_to_float(0xC0A0) == -5.0f);
}

}  // namespace io_file_test
