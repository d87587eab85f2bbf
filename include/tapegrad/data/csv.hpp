#pragma once
// CSV tables (RFC 4180): a header row of column names, then one record per line.
//
//   tg::data::CsvOptions options;
//   options.types = {{"rating", tg::data::ColumnType::Numeric}, {"genre", tg::data::ColumnType::Categorical}};
//   tg::data::CsvTable table = tg::data::read_csv("ratings.csv", options);
//   tg::Tensor<float> x = table.to_tensor<float>({"age", "rating"});   // [rows, 2]
//   tg::Tensor<std::int64_t> g = table.codes("genre");                // category indices, for an Embedding
//
// Fields are separated by the delimiter (',' unless told); a field in double quotes may
// hold delimiters, line breaks and quotes (doubled: "say ""hi"""); records end with LF,
// CRLF or CR. A UTF-8 byte order mark is skipped, and so are blank lines. Columns are
// numeric (double) or categorical (string): as given in CsvOptions::types, else numeric
// when every present value parses as a number. A missing value (an unquoted field equal
// to one of CsvOptions::missing, by default only the empty one) is an error unless
// CsvOptions::fill_missing is set. Every malformed input is a tg::IOError naming the
// source, the line and the column (1-based) and the fix.

#include "../core.hpp"
#include "../io/file.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tapegrad {
namespace data {

enum class ColumnType { Auto, Numeric, Categorical };

struct CsvOptions {
  char delimiter = ',';
  bool header = true;  // false: the columns are named col1, col2, ...
  // Types by column name; a column not named here is detected (ColumnType::Auto).
  std::vector<std::pair<std::string, ColumnType>> types;
  // Unquoted fields that mean "no value" ("" is an empty field; add "NA", "?" as needed).
  std::vector<std::string> missing = {""};
  // Missing values are an error unless this is set; then numeric ones become
  // fill_number and categorical ones fill_category.
  bool fill_missing = false;
  double fill_number = std::numeric_limits<double>::quiet_NaN();
  std::string fill_category;
};

struct CsvColumn {
  std::string name;
  ColumnType type = ColumnType::Numeric;  // Numeric or Categorical, never Auto
  std::vector<double> numbers;            // Numeric: one per row
  std::vector<std::string> strings;       // Categorical: one per row
};

class CsvTable {
 public:
  CsvTable() = default;
  explicit CsvTable(std::vector<CsvColumn> columns, std::int64_t rows) : columns_(std::move(columns)), rows_(rows) {}

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return static_cast<std::int64_t>(columns_.size()); }
  const std::vector<CsvColumn>& columns() const { return columns_; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const CsvColumn& c : columns_) out.push_back(c.name);
    return out;
  }
  bool has(const std::string& name) const { return find(name) != nullptr; }

  const CsvColumn& column(const std::string& name) const {
    const CsvColumn* c = find(name);
    if (!c) fail_unknown("CsvTable::column", name);
    return *c;
  }
  const std::vector<double>& numbers(const std::string& name) const {
    const CsvColumn& c = column(name);
    if (c.type != ColumnType::Numeric)
      tapegrad::detail::fail<ValueError>("CsvTable::numbers: column \"", name,
                                         "\" is categorical; use strings() or codes(), or declare it numeric");
    return c.numbers;
  }
  const std::vector<std::string>& strings(const std::string& name) const {
    const CsvColumn& c = column(name);
    if (c.type != ColumnType::Categorical)
      tapegrad::detail::fail<ValueError>("CsvTable::strings: column \"", name, "\" is numeric; use numbers()");
    return c.strings;
  }

  // The distinct values of a categorical column, in order of first appearance.
  std::vector<std::string> categories(const std::string& name) const {
    std::vector<std::string> out;
    std::unordered_map<std::string, std::int64_t> seen;
    for (const std::string& s : strings(name))
      if (seen.emplace(s, static_cast<std::int64_t>(out.size())).second) out.push_back(s);
    return out;
  }
  // Each row's index into categories(name): [rows] int64, the input of an Embedding.
  Tensor<std::int64_t> codes(const std::string& name) const {
    const std::vector<std::string>& values = strings(name);
    std::unordered_map<std::string, std::int64_t> index;
    Tensor<std::int64_t> t = empty<std::int64_t>({rows_});
    for (std::int64_t r = 0; r < rows_; ++r)
      t.data_ptr()[r] = index.emplace(values[static_cast<std::size_t>(r)], static_cast<std::int64_t>(index.size())).first->second;
    return t;
  }

  // Numeric columns as a [rows, columns] tensor, in the order named (all numeric
  // columns, in table order, when none are named).
  template <typename T = double>
  Tensor<T> to_tensor(const std::vector<std::string>& names = {}) const {
    static_assert(std::is_floating_point_v<T>, "CsvTable::to_tensor: T must be float or double");
    std::vector<const CsvColumn*> chosen;
    for (const std::string& name : names) {
      const CsvColumn* c = find(name);
      if (!c) fail_unknown("CsvTable::to_tensor", name);
      if (c->type != ColumnType::Numeric)
        tapegrad::detail::fail<ValueError>("CsvTable::to_tensor: column \"", name,
                                           "\" is categorical; take codes() for an Embedding instead");
      chosen.push_back(c);
    }
    if (names.empty())
      for (const CsvColumn& c : columns_)
        if (c.type == ColumnType::Numeric) chosen.push_back(&c);
    const std::int64_t n = static_cast<std::int64_t>(chosen.size());
    Tensor<T> t = empty<T>({rows_, n});
    T* out = t.data_ptr();
    for (std::int64_t r = 0; r < rows_; ++r)
      for (std::int64_t c = 0; c < n; ++c) out[r * n + c] = static_cast<T>(chosen[static_cast<std::size_t>(c)]->numbers[static_cast<std::size_t>(r)]);
    return t;
  }

 private:
  const CsvColumn* find(const std::string& name) const {
    for (const CsvColumn& c : columns_)
      if (c.name == name) return &c;
    return nullptr;
  }
  [[noreturn]] void fail_unknown(const char* op, const std::string& name) const {
    std::string list;
    for (const CsvColumn& c : columns_) list += (list.empty() ? "\"" : ", \"") + c.name + "\"";
    tapegrad::detail::fail<ValueError>(op, ": no column \"", name, "\"; the columns are ", list.empty() ? "(none)" : list);
  }

  std::vector<CsvColumn> columns_;
  std::int64_t rows_ = 0;
};

namespace detail {
namespace csv {

struct Field {
  std::string text;
  std::int64_t line = 0;  // where the field starts, 1-based
  bool quoted = false;
};

[[noreturn]] inline void fail(const std::string& source, std::int64_t line, std::int64_t column, const std::string& problem) {
  throw IOError("csv: " + source + ": line " + std::to_string(line) + (column > 0 ? ", column " + std::to_string(column) : "") +
                ": " + problem);
}

// Splits the text into records of fields (RFC 4180, with LF, CRLF or CR line ends).
class Splitter {
 public:
  Splitter(const std::string& text, char delimiter, const std::string& source)
      : text_(text), delimiter_(delimiter), source_(source) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) at_ = 3;  // a UTF-8 byte order mark
  }

  // The next non-blank record; false at the end of the text.
  bool next(std::vector<Field>& record) {
    record.clear();
    while (at_ < text_.size() && line_end()) skip_line_end();  // blank lines
    if (at_ >= text_.size()) return false;
    for (;;) {
      record.push_back(field(static_cast<std::int64_t>(record.size()) + 1));
      if (at_ < text_.size() && text_[at_] == delimiter_) {
        ++at_;
        continue;
      }
      if (at_ < text_.size()) skip_line_end();  // field() stops only at a delimiter, a line end or the end
      return true;
    }
  }

 private:
  bool line_end() const { return text_[at_] == '\n' || text_[at_] == '\r'; }
  void skip_line_end() {
    if (text_[at_] == '\r' && at_ + 1 < text_.size() && text_[at_ + 1] == '\n') ++at_;
    ++at_;
    ++line_;
  }

  Field field(std::int64_t column) {
    Field f;
    f.line = line_;
    if (at_ < text_.size() && text_[at_] == '"') return quoted(column, f);
    const std::size_t start = at_;
    while (at_ < text_.size() && text_[at_] != delimiter_ && !line_end()) {
      if (text_[at_] == '"')
        fail(source_, line_, column, "a quote inside an unquoted field; quote the whole field and double the quote (\"a \"\"b\"\"\")");
      ++at_;
    }
    f.text.assign(text_, start, at_ - start);
    return f;
  }

  Field quoted(std::int64_t column, Field& f) {
    f.quoted = true;
    ++at_;
    for (;;) {
      if (at_ >= text_.size())
        fail(source_, f.line, column, "a quoted field is not closed before the end of the input (an unterminated quote)");
      const char c = text_[at_];
      if (c == '"' && at_ + 1 < text_.size() && text_[at_ + 1] == '"') {
        f.text += '"';
        at_ += 2;
      } else if (c == '"') {
        ++at_;
        break;
      } else {
        if (c == '\n' || (c == '\r' && !(at_ + 1 < text_.size() && text_[at_ + 1] == '\n'))) ++line_;
        f.text += c;
        ++at_;
      }
    }
    if (at_ < text_.size() && text_[at_] != delimiter_ && !line_end())
      fail(source_, line_, column, "text after the closing quote of a field; a quote inside a quoted field is doubled (\"\")");
    return std::move(f);
  }

  const std::string& text_;
  char delimiter_;
  const std::string& source_;
  std::size_t at_ = 0;
  std::int64_t line_ = 1;
};

// A number as C++ writes it ("-1.5e3", "inf", "nan"), spaces around it allowed; false
// for anything else, including values beyond double's range.
inline bool parse_number(const std::string& s, double& out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  while (begin != end && (*begin == ' ' || *begin == '\t')) ++begin;
  while (end != begin && (end[-1] == ' ' || end[-1] == '\t')) --end;
  const bool plus = begin != end && *begin == '+';  // from_chars takes '-' but not '+'
  if (plus) ++begin;
  if (begin == end || (plus && *begin == '-')) return false;
  const auto result = std::from_chars(begin, end, out);
  return result.ec == std::errc() && result.ptr == end;
}

inline bool is_missing(const Field& f, const CsvOptions& options) {
  if (f.quoted) return false;
  for (const std::string& m : options.missing)
    if (f.text == m) return true;
  return false;
}

// The raw fields of one column with what is needed for its errors.
struct RawColumn {
  std::string name;
  ColumnType type = ColumnType::Auto;
  std::vector<Field> fields;
};

inline std::vector<RawColumn> header_columns(Splitter& split, const CsvOptions& options, const std::string& source,
                                             std::vector<Field>& first) {
  std::vector<RawColumn> columns;
  const bool any = split.next(first);
  if (options.header && !any) fail(source, 1, 0, "the input is empty; expected a header row of column names");
  for (std::size_t c = 0; c < first.size(); ++c) {
    RawColumn col;
    col.name = options.header ? first[c].text : "col" + std::to_string(c + 1);
    for (const RawColumn& other : columns)
      if (other.name == col.name)
        fail(source, first[c].line, static_cast<std::int64_t>(c) + 1, "the column name \"" + col.name + "\" appears twice in the header");
    columns.push_back(std::move(col));
  }
  if (options.header) first.clear();
  return columns;
}

inline void apply_types(std::vector<RawColumn>& columns, const CsvOptions& options, const std::string& source) {
  for (const auto& [name, type] : options.types) {
    RawColumn* target = nullptr;
    for (RawColumn& c : columns)
      if (c.name == name) target = &c;
    if (!target) {
      std::string list;
      for (const RawColumn& c : columns) list += (list.empty() ? "\"" : ", \"") + c.name + "\"";
      fail(source, 1, 0, "CsvOptions::types names the column \"" + name + "\", which the " +
                             (options.header ? "header" : "table (no header: col1, col2, ...)") + " does not have; the columns are " +
                             (list.empty() ? "(none)" : list));
    }
    target->type = type;
  }
}

inline void add_record(std::vector<RawColumn>& columns, std::vector<Field>& record, const std::string& source) {
  if (record.size() != columns.size()) {
    const std::int64_t line = record.size() > columns.size() ? record[columns.size()].line : record.back().line;
    // The column of the first extra field, or of the first absent one.
    fail(source, line, static_cast<std::int64_t>(std::min(record.size(), columns.size())) + 1,
         std::to_string(record.size()) + " fields, but the header has " + std::to_string(columns.size()) +
             " columns (a field holding the delimiter must be quoted)");
  }
  for (std::size_t c = 0; c < record.size(); ++c) columns[c].fields.push_back(std::move(record[c]));
}

// Numeric or categorical, from the raw text; missing values as the options say.
inline CsvColumn convert(RawColumn& raw, std::int64_t index, const CsvOptions& options, const std::string& source) {
  CsvColumn out;
  out.name = raw.name;
  double number = 0;
  if (raw.type == ColumnType::Auto) {
    raw.type = ColumnType::Numeric;
    for (const Field& f : raw.fields)
      if (!is_missing(f, options) && !parse_number(f.text, number)) raw.type = ColumnType::Categorical;
  }
  out.type = raw.type;
  const std::string where = " (\"" + raw.name + "\")";
  for (const Field& f : raw.fields) {
    if (is_missing(f, options)) {
      if (!options.fill_missing)
        fail(source, f.line, index, "a missing value" + where +
                                        "; set CsvOptions::fill_missing (with fill_number / fill_category) to fill it");
      if (out.type == ColumnType::Numeric) out.numbers.push_back(options.fill_number);
      else out.strings.push_back(options.fill_category);
    } else if (out.type == ColumnType::Numeric) {
      if (!parse_number(f.text, number))
        fail(source, f.line, index, "\"" + f.text + "\" is not a number, but the column" + where +
                                        " is numeric; declare it ColumnType::Categorical in CsvOptions::types, or fix the value");
      out.numbers.push_back(number);
    } else {
      out.strings.push_back(f.text);
    }
  }
  return out;
}

// Quoted: what holds a quote, a delimiter or a line break, what would read back as
// missing, the empty string (an empty one-column record would be a blank line) and a
// leading byte order mark (the reader skips one at the start).
inline bool needs_quotes(const std::string& s, char delimiter, const CsvOptions& options) {
  if (s.empty() || s.compare(0, 3, "\xEF\xBB\xBF") == 0) return true;
  for (const std::string& m : options.missing)
    if (s == m) return true;
  return s.find_first_of(std::string("\"\r\n") + delimiter) != std::string::npos;
}
inline void put_field(std::string& out, const std::string& s, char delimiter, const CsvOptions& options) {
  if (!needs_quotes(s, delimiter, options)) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  out += '"';
}

}  // namespace csv
}  // namespace detail

// Parses CSV text; `source` names it in errors.
inline CsvTable parse_csv(const std::string& text, const CsvOptions& options = {}, const std::string& source = "<string>") {
  const char d = options.delimiter;
  if (d == '"' || d == '\n' || d == '\r')
    tapegrad::detail::fail<ValueError>("parse_csv: the delimiter cannot be a quote or a line break");
  detail::csv::Splitter split(text, d, source);
  std::vector<detail::csv::Field> record;
  std::vector<detail::csv::RawColumn> raw = detail::csv::header_columns(split, options, source, record);
  detail::csv::apply_types(raw, options, source);
  std::int64_t rows = 0;
  if (!record.empty()) {  // no header: the first record is data
    detail::csv::add_record(raw, record, source);
    ++rows;
  }
  while (split.next(record)) {
    detail::csv::add_record(raw, record, source);
    ++rows;
  }
  std::vector<CsvColumn> columns;
  for (std::size_t c = 0; c < raw.size(); ++c) {
    columns.push_back(detail::csv::convert(raw[c], static_cast<std::int64_t>(c) + 1, options, source));
    raw[c].fields = {};  // free the text as soon as it is converted
  }
  return CsvTable(std::move(columns), rows);
}

inline CsvTable read_csv(const std::string& path, const CsvOptions& options = {}) {
  const std::vector<unsigned char> bytes = tapegrad::detail::read_file(path, "read_csv");
  return parse_csv(std::string(bytes.begin(), bytes.end()), options, "\"" + path + "\"");
}

// The table as CSV text that parse_csv reads back to the same table (given the same
// delimiter, missing markers and the columns' types): a header, numbers with 17
// significant digits (exact for a double), fields quoted where needed.
inline std::string csv_string(const CsvTable& table, const CsvOptions& options = {}) {
  const char d = options.delimiter;
  std::string out;
  for (std::int64_t c = 0; c < table.cols(); ++c) {
    if (c) out += d;
    detail::csv::put_field(out, table.columns()[static_cast<std::size_t>(c)].name, d, options);
  }
  out += '\n';
  char buf[32];
  for (std::int64_t r = 0; r < table.rows(); ++r) {
    for (std::int64_t c = 0; c < table.cols(); ++c) {
      const CsvColumn& col = table.columns()[static_cast<std::size_t>(c)];
      if (c) out += d;
      if (col.type == ColumnType::Numeric) {
        std::snprintf(buf, sizeof buf, "%.17g", col.numbers[static_cast<std::size_t>(r)]);
        detail::csv::put_field(out, buf, d, options);  // quoted if the delimiter is a digit, '.', 'e' ...
      } else {
        detail::csv::put_field(out, col.strings[static_cast<std::size_t>(r)], d, options);
      }
    }
    out += '\n';
  }
  return out;
}

}  // namespace data
}  // namespace tapegrad
