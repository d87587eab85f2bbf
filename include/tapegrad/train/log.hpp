#pragma once
// A training log: one record per epoch (or step) of named values, appended to a CSV file
// and/or a JSON Lines file, each record flushed as soon as it is written, so a run that
// crashes keeps every record it logged.
//
//   tg::train::TrainingLog log(tg::train::TrainingLogOptions().csv("run.csv").jsonl("run.jsonl"));
//   log.log({{"epoch", 1}, {"train_loss", 0.4321}, {"test_acc", 0.8812}});
//
//   run.csv:    epoch,train_loss,test_acc          run.jsonl: {"epoch": 1, "train_loss": 0.4321, "test_acc": 0.8812}
//               1,0.4321,0.8812
//
// Columns. The first record fixes the columns and their order (the CSV header, written
// once); every later record must have the same names (in any order; values are written
// in the columns' order), otherwise a tg::ValueError lists the missing and unexpected
// names and nothing is written. Log a value you do not have as NaN.
// Values: integers are written exactly ("3"), floating point in the shortest form that
// reads back to the same double (%.15g, else %.17g), strings quoted as CSV (RFC 4180:
// only when they hold a comma, quote, newline or edge blank) and escaped as JSON. NaN and
// infinities are "nan", "inf", "-inf" in CSV (what pandas and numpy read as floats) and
// null in JSONL (JSON has no NaN; pandas reads null as NaN).
// Files: by default a new log replaces an old one; with append(true) records are added
// after the existing ones and the columns are taken from the CSV's existing header, so a
// resumed run continues the same table. A file that cannot be opened or written is a
// tg::IOError naming it.

#include "../core/error.hpp"
#include "../io/file.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad::train {

// A logged value: an integer (kept exact), a floating-point number or a string.
class LogValue {
 public:
  enum class Kind { integer, real, text };

  template <typename N, std::enable_if_t<std::is_arithmetic_v<N>, int> = 0>
  LogValue(N value) {  // NOLINT: implicit, so {"epoch", 1} and {"loss", 0.5} read naturally
    if constexpr (std::is_integral_v<N>) {
      kind_ = Kind::integer;
      integer_ = static_cast<long long>(value);
    } else {
      kind_ = Kind::real;
      real_ = static_cast<double>(value);
    }
  }
  LogValue(const char* text) : kind_(Kind::text), text_(text ? text : "") {}  // NOLINT
  LogValue(std::string text) : kind_(Kind::text), text_(std::move(text)) {}   // NOLINT

  Kind kind() const { return kind_; }
  long long integer() const { return integer_; }
  double real() const { return real_; }
  const std::string& text() const { return text_; }

 private:
  Kind kind_ = Kind::real;
  long long integer_ = 0;
  double real_ = 0;
  std::string text_;
};

struct LogField {
  std::string name;
  LogValue value;
};
using LogRecord = std::vector<LogField>;

namespace detail {

// The shortest of %.15g and %.17g that reads back to v (15 digits always survive a
// decimal round trip, 17 always identify a double).
inline std::string format_real(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline std::string csv_quote(const std::string& s) {
  const bool needs = s.find_first_of(",\"\r\n") != std::string::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!needs) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

inline std::string csv_value(const LogValue& v) {
  switch (v.kind()) {
    case LogValue::Kind::integer: return std::to_string(v.integer());
    case LogValue::Kind::text: return csv_quote(v.text());
    case LogValue::Kind::real: break;
  }
  if (std::isnan(v.real())) return "nan";
  if (std::isinf(v.real())) return v.real() > 0 ? "inf" : "-inf";
  return format_real(v.real());
}

// JSON string: quotes, backslashes and control characters escaped; UTF-8 passes through.
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

inline std::string json_value(const LogValue& v) {
  switch (v.kind()) {
    case LogValue::Kind::integer: return std::to_string(v.integer());
    case LogValue::Kind::text: return json_string(v.text());
    case LogValue::Kind::real: break;
  }
  return std::isfinite(v.real()) ? format_real(v.real()) : "null";
}

// The names of a CSV header line (RFC 4180 quoting).
inline std::vector<std::string> parse_csv_header(const std::string& line) {
  std::vector<std::string> names(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      names.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      names.emplace_back();
    } else if (c != '\r' || quoted) {
      names.back() += c;
    }
  }
  return names;
}

inline std::string join_names(const std::vector<std::string>& names) {
  std::string s = "[";
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s + "]";
}

// One output file, flushed after every record.
class LogFile {
 public:
  LogFile(std::string path, bool append) : path_(std::move(path)) {
    out_.open(path_, append ? std::ios::app : std::ios::trunc);
    if (!out_)
      tapegrad::detail::fail<IOError>("TrainingLog: cannot open '", path_, "' for writing (", std::strerror(errno),
                                      "); check that the directory exists and is writable");
  }
  void write(const std::string& text) {
    out_ << text;
    out_.flush();
    if (!out_) tapegrad::detail::fail<IOError>("TrainingLog: writing '", path_, "' failed (is the disk full?)");
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace detail

// Chainable options: TrainingLogOptions().csv("run.csv").jsonl("run.jsonl").append(true).
class TrainingLogOptions {
 public:
  TrainingLogOptions& csv(std::string path) {
    csv_ = std::move(path);
    return *this;
  }
  TrainingLogOptions& jsonl(std::string path) {
    jsonl_ = std::move(path);
    return *this;
  }
  TrainingLogOptions& append(bool v) {
    append_ = v;
    return *this;
  }
  const std::string& csv() const { return csv_; }
  const std::string& jsonl() const { return jsonl_; }
  bool append() const { return append_; }

 private:
  std::string csv_, jsonl_;
  bool append_ = false;
};

class TrainingLog {
 public:
  explicit TrainingLog(TrainingLogOptions options) {
    if (options.csv().empty() && options.jsonl().empty())
      tapegrad::detail::fail<ValueError>("TrainingLog: no file given; set TrainingLogOptions().csv(path) and/or .jsonl(path)");
    if (!options.csv().empty()) {
      if (options.append()) columns_ = existing_header(options.csv());
      header_written_ = !columns_.empty();
      csv_ = std::make_unique<detail::LogFile>(options.csv(), options.append());
    }
    if (!options.jsonl().empty()) jsonl_ = std::make_unique<detail::LogFile>(options.jsonl(), options.append());
  }

  // Appends one record to every file, then flushes them. Checked first: nothing is
  // written for a record that is refused.
  void log(const LogRecord& record) {
    check_names(record);
    if (columns_.empty())
      for (const LogField& f : record) columns_.push_back(f.name);
    const std::vector<const LogValue*> ordered = in_column_order(record);
    if (csv_) {
      std::string text;
      if (!header_written_) text += header_line();
      text += csv_line(ordered);
      csv_->write(text);
      header_written_ = true;
    }
    if (jsonl_) jsonl_->write(jsonl_line(ordered));
    ++records_;
  }

  // The column names (empty before the first record, unless appending to a CSV).
  const std::vector<std::string>& columns() const { return columns_; }
  // Records written by this object.
  std::int64_t records() const { return records_; }

 private:
  static std::vector<std::string> existing_header(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty()) return {};
    return detail::parse_csv_header(line);
  }

  void check_names(const LogRecord& record) const {
    if (record.empty()) tapegrad::detail::fail<ValueError>("TrainingLog::log: the record has no fields");
    std::vector<std::string> names;
    for (const LogField& f : record) {
      if (f.name.empty()) tapegrad::detail::fail<ValueError>("TrainingLog::log: field ", names.size(), " has an empty name");
      for (const std::string& seen : names)
        if (seen == f.name) tapegrad::detail::fail<ValueError>("TrainingLog::log: field '", f.name, "' appears twice");
      names.push_back(f.name);
    }
    if (columns_.empty()) return;
    std::vector<std::string> missing, unexpected;
    for (const std::string& c : columns_)
      if (!contains(names, c)) missing.push_back(c);
    for (const std::string& n : names)
      if (!contains(columns_, n)) unexpected.push_back(n);
    if (!missing.empty() || !unexpected.empty())
      tapegrad::detail::fail<ValueError>("TrainingLog::log: record ", records_ + 1, " has fields ", detail::join_names(names),
                                         " but the log's columns are ", detail::join_names(columns_), " (missing ",
                                         detail::join_names(missing), ", unexpected ", detail::join_names(unexpected),
                                         "); log the same fields every time, NaN for a value you do not have");
  }

  static bool contains(const std::vector<std::string>& names, const std::string& name) {
    for (const std::string& n : names)
      if (n == name) return true;
    return false;
  }

  std::vector<const LogValue*> in_column_order(const LogRecord& record) const {
    std::vector<const LogValue*> ordered;
    for (const std::string& c : columns_)
      for (const LogField& f : record)
        if (f.name == c) ordered.push_back(&f.value);
    return ordered;
  }

  std::string header_line() const {
    std::string s;
    for (std::size_t i = 0; i < columns_.size(); ++i) s += (i ? "," : "") + detail::csv_quote(columns_[i]);
    return s + "\n";
  }
  static std::string csv_line(const std::vector<const LogValue*>& values) {
    std::string s;
    for (std::size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + detail::csv_value(*values[i]);
    return s + "\n";
  }
  std::string jsonl_line(const std::vector<const LogValue*>& values) const {
    std::string s = "{";
    for (std::size_t i = 0; i < values.size(); ++i)
      s += (i ? ", " : "") + detail::json_string(columns_[i]) + ": " + detail::json_value(*values[i]);
    return s + "}\n";
  }

  std::vector<std::string> columns_;
  bool header_written_ = false;
  std::unique_ptr<detail::LogFile> csv_, jsonl_;
  std::int64_t records_ = 0;
};

}  // namespace tapegrad::train
