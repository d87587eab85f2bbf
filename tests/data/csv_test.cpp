// CSV tables (RFC 4180): quoting, line ends, delimiters, column types given or detected,
// missing values, to_tensor / codes, the writer's round trip, and every malformed input
// with its line, column and message.
#include "../test_util.hpp"

#include <tapegrad/data/csv.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace data_csv_test {

namespace td = tg::data;

// A tg::IOError whose message contains `text`.
#define CSV_CHECK_FAILS(expr, text) TG_CHECK_THROWS(expr, tg::IOError, text)

td::CsvTable parse(const std::string& text, const td::CsvOptions& options = {}) {
  return td::parse_csv(text, options, "t.csv");
}
using Strings = std::vector<std::string>;
using Numbers = std::vector<double>;

TEST_CASE("csv: a header, numeric and categorical columns detected", "[data][csv]") {
  const td::CsvTable t = parse("age,name,score\n31,ann,1.5\n-4,bob,2e3\n");
  CHECK(t.rows() == 2);
  CHECK(t.cols() == 3);
  CHECK(t.names() == Strings{"age", "name", "score"});
  CHECK(t.column("age").type == td::ColumnType::Numeric);
  CHECK(t.column("name").type == td::ColumnType::Categorical);
  CHECK(t.numbers("age") == Numbers{31, -4});
  CHECK(t.numbers("score") == Numbers{1.5, 2000});
  CHECK(t.strings("name") == Strings{"ann", "bob"});
  // One non-number makes a column categorical; "+1", " 2 ", "inf" and "nan" are numbers.
  const td::CsvTable u = parse("a,b\n+1,1\n 2 ,1x\ninf,2\nnan,3\n");
  REQUIRE(u.column("a").type == td::ColumnType::Numeric);
  CHECK(u.numbers("a")[0] == 1);
  CHECK(u.numbers("a")[1] == 2);
  CHECK(std::isinf(u.numbers("a")[2]));
  CHECK(std::isnan(u.numbers("a")[3]));
  CHECK(u.strings("b") == Strings{"1", "1x", "2", "3"});
  CHECK(parse("a\n+-1\n").column("a").type == td::ColumnType::Categorical);
  CHECK(parse("a\n1e999\n").column("a").type == td::ColumnType::Categorical);  // beyond double
}

TEST_CASE("csv: quoted fields hold delimiters, quotes and line breaks", "[data][csv]") {
  const td::CsvTable t = parse("id,text\r\n1,\"a,b\"\r\n2,\"say \"\"hi\"\"\"\r\n3,\"two\nlines\"\r\n4,\"\"\r\n");
  CHECK(t.rows() == 4);
  CHECK(t.strings("text") == Strings{"a,b", "say \"hi\"", "two\nlines", ""});
  CHECK(t.numbers("id") == Numbers{1, 2, 3, 4});
  // A quoted number is still a number, and a quoted header name is a name.
  CHECK(parse("\"x,y\"\n\"7\"\n").numbers("x,y") == Numbers{7});
}

TEST_CASE("csv: LF, CRLF and CR line ends, a BOM, blank lines, no final newline", "[data][csv]") {
  for (const std::string& text : {std::string("a,b\n1,2\n3,4"), std::string("a,b\r\n1,2\r\n3,4\r\n"),
                                  std::string("a,b\r1,2\r3,4\r"), std::string("\xEF\xBB\xBF" "a,b\n\n1,2\n\n\n3,4\n\n")}) {
    const td::CsvTable t = parse(text);
    CHECK(t.names() == Strings{"a", "b"});
    CHECK(t.numbers("a") == Numbers{1, 3});
    CHECK(t.numbers("b") == Numbers{2, 4});
  }
  CHECK(parse("a,b\n").rows() == 0);  // a header alone: an empty table
}

TEST_CASE("csv: other delimiters, and no header row", "[data][csv]") {
  td::CsvOptions semicolon;
  semicolon.delimiter = ';';
  const td::CsvTable t = parse("a;b\n1,5;x\n", semicolon);
  CHECK(t.strings("a") == Strings{"1,5"});  // ',' is text here
  td::CsvOptions tab;
  tab.delimiter = '\t';
  tab.header = false;
  const td::CsvTable u = parse("1\t2\n3\t4\n", tab);
  CHECK(u.names() == Strings{"col1", "col2"});
  CHECK(u.numbers("col2") == Numbers{2, 4});
  td::CsvOptions quote;
  quote.delimiter = '"';
  CHECK_THROWS_AS(parse("a\n", quote), tg::ValueError);
}

TEST_CASE("csv: column types given in the options", "[data][csv]") {
  td::CsvOptions options;
  options.types = {{"zip", td::ColumnType::Categorical}, {"n", td::ColumnType::Numeric}};
  const td::CsvTable t = parse("zip,n\n02139,1\n10001,2\n", options);
  CHECK(t.strings("zip") == Strings{"02139", "10001"});  // leading zero kept
  CSV_CHECK_FAILS(parse("zip,n\n02139,1\n10001,two\n", options),
                  "csv: t.csv: line 3, column 2: \"two\" is not a number, but the column (\"n\") is numeric");
  options.types = {{"price", td::ColumnType::Numeric}};
  CSV_CHECK_FAILS(parse("zip,n\n1,2\n", options),
                  "line 1: CsvOptions::types names the column \"price\", which the header does not have; the columns are "
                  "\"zip\", \"n\"");
}

TEST_CASE("csv: missing values are an error unless filled", "[data][csv]") {
  CSV_CHECK_FAILS(parse("a,b\n1,x\n,y\n"), "csv: t.csv: line 3, column 1: a missing value (\"a\"); set CsvOptions::fill_missing");
  td::CsvOptions fill;
  fill.fill_missing = true;
  fill.fill_number = -1;
  fill.fill_category = "?";
  fill.missing = {"", "NA"};
  const td::CsvTable t = parse("a,b\n1,x\nNA,\n,\"\"\n", fill);
  CHECK(t.numbers("a") == Numbers{1, -1, -1});
  CHECK(t.strings("b") == Strings{"x", "?", ""});  // a quoted "" is an empty string, not missing
  // The default fill is NaN; a quoted "" in a numeric column is text, so not a number.
  td::CsvOptions nan_fill;
  nan_fill.fill_missing = true;
  const td::CsvTable u = parse("a,b\n1,x\n,y\n", nan_fill);
  CHECK(u.numbers("a")[0] == 1);
  CHECK(std::isnan(u.numbers("a")[1]));
  nan_fill.types = {{"a", td::ColumnType::Numeric}};
  CSV_CHECK_FAILS(parse("a\n1\n\"\"\n", nan_fill), "line 3, column 1: \"\" is not a number");
}

TEST_CASE("csv: malformed rows name the line and column", "[data][csv]") {
  CSV_CHECK_FAILS(parse("a,b\n1,2\n3,4,5\n"), "line 3, column 3: 3 fields, but the header has 2 columns");
  CSV_CHECK_FAILS(parse("a,b,c\n1,2\n"), "line 2, column 3: 2 fields, but the header has 3 columns");
  CSV_CHECK_FAILS(parse("a,b\n1,\"open\n2,3\n"), "line 2, column 2: a quoted field is not closed before the end of the input");
  CSV_CHECK_FAILS(parse("a,b\n1,x\"y\n"), "line 2, column 2: a quote inside an unquoted field");
  CSV_CHECK_FAILS(parse("a,b\n1,\"x\"y\n"), "line 2, column 2: text after the closing quote");
  // Lines count the breaks inside quoted fields.
  CSV_CHECK_FAILS(parse("a,b\n\"1\n\n\",x\n2,y,z\n"), "line 5, column 3: 3 fields");
  td::CsvOptions numeric_b;
  numeric_b.types = {{"b", td::ColumnType::Numeric}};
  CSV_CHECK_FAILS(parse("a,b\r\n\"x\r\ny\",1\r\n\"z\",w\r\n", numeric_b), "line 4, column 2: \"w\" is not a number");
  CSV_CHECK_FAILS(parse("a,a\n1,2\n"), "line 1, column 2: the column name \"a\" appears twice");
  CSV_CHECK_FAILS(parse(""), "csv: t.csv: line 1: the input is empty; expected a header row");
  CSV_CHECK_FAILS(parse("\n\r\n"), "the input is empty");
}

TEST_CASE("csv: to_tensor of numeric columns, codes of categorical ones", "[data][csv]") {
  const td::CsvTable t = parse("x,g,y\n1,red,10\n2,blue,20\n3,red,30\n");
  const Tensor all = t.to_tensor();
  CHECK(all.shape() == tg::Shape{3, 2});
  require_values(all, {1, 10, 2, 20, 3, 30});
  const tg::Tensor<float> yx = t.to_tensor<float>({"y", "x"});
  CHECK(yx.shape() == tg::Shape{3, 2});
  CHECK(yx.data_ptr()[0] == 10.0f);
  CHECK(yx.data_ptr()[5] == 3.0f);
  CHECK(t.categories("g") == Strings{"red", "blue"});
  const tg::Tensor<std::int64_t> c = t.codes("g");
  CHECK(std::vector<std::int64_t>(c.data_ptr(), c.data_ptr() + 3) == std::vector<std::int64_t>{0, 1, 0});
  CHECK_THROWS_AS(t.to_tensor({"z"}), tg::ValueError);
  CHECK_THROWS_WITH(t.to_tensor({"z"}), TG_CONTAINS("to_tensor: no column \"z\"; the columns are \"x\", \"g\", \"y\""));
  CHECK_THROWS_WITH(t.to_tensor({"g"}), TG_CONTAINS("column \"g\" is categorical; take codes()"));
  CHECK_THROWS_WITH(t.codes("x"), TG_CONTAINS("column \"x\" is numeric"));
  CHECK_THROWS_WITH(t.column("w"), TG_CONTAINS("no column \"w\""));
}

TEST_CASE("csv: csv_string writes what parse_csv reads back", "[data][csv]") {
  td::CsvOptions fill;
  fill.fill_missing = true;
  const td::CsvTable t = parse("n,\"s,t\"\n0.1,\"a \"\"q\"\"\"\n,\"\"\n1e-300,\"x\ny\"\n", fill);
  const std::string text = td::csv_string(t);
  CHECK(text == "n,\"s,t\"\n0.10000000000000001,\"a \"\"q\"\"\"\nnan,\"\"\n1e-300,\"x\ny\"\n");
  td::CsvOptions typed;
  typed.types = {{"n", td::ColumnType::Numeric}, {"s,t", td::ColumnType::Categorical}};
  const td::CsvTable back = parse(text, typed);
  CHECK(back.numbers("n")[0] == 0.1);
  CHECK(std::isnan(back.numbers("n")[1]));
  CHECK(back.numbers("n")[2] == 1e-300);
  CHECK(back.strings("s,t") == t.strings("s,t"));
}

TEST_CASE("csv: read_csv reads a file and names a missing one", "[data][csv]") {
  const std::string path = (std::filesystem::temp_directory_path() / "tapegrad_csv_test.csv").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << "a,b\n1,2\n3\n";
  }
  CSV_CHECK_FAILS(td::read_csv(path), "csv: \"" + path + "\": line 3, column 2: 1 fields");
  std::remove(path.c_str());
  CSV_CHECK_FAILS(td::read_csv(path), "read_csv: cannot open \"" + path + "\"");
}

}  // namespace data_csv_test
