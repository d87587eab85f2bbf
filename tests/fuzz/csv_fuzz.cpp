// libFuzzer target for the CSV reader (include/tapegrad/data/csv.hpp).
// Built and run by scripts/run_fuzz.sh; see docs/fuzzing.md.
//
// The contract under test: any text either parses or throws a tg::Error (the reader's
// tg::IOError). Anything else is a finding: another exception (reported, then abort()),
// a crash, a sanitizer report, a leak, a timeout (the reader is linear in its input).
// Each input is read three ways, so one corpus covers the options: the defaults; ';'
// with "NA" as missing and filling on; no header, tab-separated, filling on. A table
// that parses is checked further:
//   - every column has rows() values of its type, and the names are distinct;
//   - to_tensor() is [rows, numeric columns] holding those values; codes() index
//     categories();
//   - csv_string writes it back, and parse_csv (given the columns' types) reads the
//     same table: names, types, strings, and numbers bit for bit (NaN for NaN).
#include <tapegrad/data/csv.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <string>
#include <typeinfo>

namespace tg = tapegrad;
namespace td = tapegrad::data;

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "csv_fuzz: %s\n", what);
  std::abort();
}

bool same_number(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

void check_shape(const td::CsvTable& t) {
  std::set<std::string> names;
  std::int64_t numeric = 0;
  for (const td::CsvColumn& c : t.columns()) {
    if (!names.insert(c.name).second) finding("two columns of one name");
    const bool is_numeric = c.type == td::ColumnType::Numeric;
    if (!is_numeric && c.type != td::ColumnType::Categorical) finding("a column of type Auto");
    const std::size_t n = is_numeric ? c.numbers.size() : c.strings.size();
    if (n != static_cast<std::size_t>(t.rows()) || (is_numeric ? c.strings.size() : c.numbers.size()) != 0)
      finding("a column whose length is not rows()");
    numeric += is_numeric;
  }
  const tg::Tensor<double> x = t.to_tensor();
  if (x.shape() != tg::Shape{t.rows(), numeric}) finding("to_tensor's shape is not [rows, numeric columns]");
  std::int64_t k = 0;
  for (const td::CsvColumn& c : t.columns()) {
    if (c.type != td::ColumnType::Numeric) {
      const std::vector<std::string> categories = t.categories(c.name);
      const tg::Tensor<std::int64_t> codes = t.codes(c.name);
      for (std::int64_t r = 0; r < t.rows(); ++r) {
        const std::int64_t code = codes.data_ptr()[r];
        if (code < 0 || code >= static_cast<std::int64_t>(categories.size()) ||
            categories[static_cast<std::size_t>(code)] != c.strings[static_cast<std::size_t>(r)])
          finding("codes() does not index categories()");
      }
      continue;
    }
    for (std::int64_t r = 0; r < t.rows(); ++r)
      if (!same_number(x.data_ptr()[r * numeric + k], c.numbers[static_cast<std::size_t>(r)]))
        finding("to_tensor holds another value");
    ++k;
  }
}

void check_round_trip(const td::CsvTable& t, td::CsvOptions options) {
  const std::string text = td::csv_string(t, options);
  options.header = true;
  options.types.clear();
  for (const td::CsvColumn& c : t.columns()) options.types.emplace_back(c.name, c.type);
  td::CsvTable back;
  try {
    back = td::parse_csv(text, options, "round trip");
  } catch (const tg::Error& e) {
    if (t.cols() == 0) return;  // nothing to write: a header line of no names reads as empty
    std::fprintf(stderr, "csv_fuzz: %s\n", e.what());
    finding("csv_string wrote what parse_csv refuses");
  }
  if (back.rows() != t.rows() || back.names() != t.names()) finding("the round trip changed the rows or names");
  for (std::size_t c = 0; c < t.columns().size(); ++c) {
    const td::CsvColumn &a = t.columns()[c], &b = back.columns()[c];
    if (a.type != b.type || a.strings != b.strings || a.numbers.size() != b.numbers.size())
      finding("the round trip changed a column");
    for (std::size_t r = 0; r < a.numbers.size(); ++r)
      if (!same_number(a.numbers[r], b.numbers[r])) finding("the round trip changed a number");
  }
}

void run(const std::string& text, const td::CsvOptions& options) {
  td::CsvTable t;
  try {
    t = td::parse_csv(text, options, "fuzz.csv");
  } catch (const tg::Error& e) {
    if (std::strncmp(e.what(), "csv: fuzz.csv: line ", 20) != 0) finding("an error not naming the source and line");
    return;
  }
  check_shape(t);
  check_round_trip(t, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    run(text, td::CsvOptions{});
    td::CsvOptions filled;
    filled.delimiter = ';';
    filled.missing = {"", "NA"};
    filled.fill_missing = true;
    filled.fill_category = "?";
    run(text, filled);
    td::CsvOptions headless;
    headless.delimiter = '\t';
    headless.header = false;
    headless.fill_missing = true;
    headless.fill_number = -1;
    run(text, headless);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "csv_fuzz: unexpected %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}
