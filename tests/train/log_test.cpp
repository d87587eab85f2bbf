// TrainingLog: the exact CSV and JSONL text (header once, integers exact, shortest
// round-trip reals, NaN/inf as nan/inf in CSV and null in JSONL, quoting and escaping),
// records in another key order, a record with other keys refused with nothing written,
// flushing after each record, appending to an existing log, and file errors.
#include "../test_util.hpp"

#include <tapegrad/train/log.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

namespace train_log_test {

namespace train = tg::train;
namespace fs = std::filesystem;

// A fresh directory per test case, removed at the end.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("tapegrad_train_log_test_" + name + "_" + std::to_string(std::random_device{}()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("TrainingLog: CSV and JSONL text, flushed after every record", "[train][log]") {
  TempDir dir("text");
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  train::TrainingLog log(train::TrainingLogOptions().csv(dir.file("run.csv")).jsonl(dir.file("run.jsonl")));
  log.log({{"epoch", 1}, {"train_loss", 0.25}, {"test_acc", 1.0 / 3}, {"phase", "train"}});
  // Read while the log is open: the record is already on disk.
  CHECK(read_text(dir.file("run.csv")) == "epoch,train_loss,test_acc,phase\n1,0.25,0.33333333333333331,train\n");
  log.log({{"epoch", 2}, {"train_loss", nan}, {"test_acc", -inf}, {"phase", "eval"}});
  log.log({{"epoch", 3}, {"train_loss", 0.1}, {"test_acc", inf}, {"phase", "x"}});
  CHECK(log.records() == 3);
  CHECK(log.columns() == std::vector<std::string>{"epoch", "train_loss", "test_acc", "phase"});
  // 1/3 needs 17 digits to read back; 0.25 and 0.1 need fewer than 15.
  CHECK(read_text(dir.file("run.csv")) ==
        "epoch,train_loss,test_acc,phase\n"
        "1,0.25,0.33333333333333331,train\n"
        "2,nan,-inf,eval\n"
        "3,0.1,inf,x\n");
  CHECK(read_text(dir.file("run.jsonl")) ==
        "{\"epoch\": 1, \"train_loss\": 0.25, \"test_acc\": 0.33333333333333331, \"phase\": \"train\"}\n"
        "{\"epoch\": 2, \"train_loss\": null, \"test_acc\": null, \"phase\": \"eval\"}\n"
        "{\"epoch\": 3, \"train_loss\": 0.1, \"test_acc\": null, \"phase\": \"x\"}\n");
}

TEST_CASE("TrainingLog: large and small numbers, integers of every width", "[train][log]") {
  TempDir dir("numbers");
  train::TrainingLog log(train::TrainingLogOptions().csv(dir.file("n.csv")));
  log.log({{"step", std::int64_t(9007199254740993)}, {"lr", 1e-20}, {"big", 6.02214076e23}, {"f", 0.1f}});
  // 2^53 + 1 stays exact as an integer; 0.1f widened to double needs 17 digits.
  CHECK(read_text(dir.file("n.csv")) == "step,lr,big,f\n9007199254740993,1e-20,6.02214076e+23,0.10000000149011612\n");
}

TEST_CASE("TrainingLog: fields in another order go to their columns", "[train][log]") {
  TempDir dir("order");
  train::TrainingLog log(train::TrainingLogOptions().csv(dir.file("o.csv")).jsonl(dir.file("o.jsonl")));
  log.log({{"epoch", 1}, {"loss", 0.5}});
  log.log({{"loss", 0.75}, {"epoch", 2}});
  CHECK(read_text(dir.file("o.csv")) == "epoch,loss\n1,0.5\n2,0.75\n");
  CHECK(read_text(dir.file("o.jsonl")) == "{\"epoch\": 1, \"loss\": 0.5}\n{\"epoch\": 2, \"loss\": 0.75}\n");
}

TEST_CASE("TrainingLog: a record with other keys is a ValueError and writes nothing", "[train][log]") {
  TempDir dir("keys");
  train::TrainingLog log(train::TrainingLogOptions().csv(dir.file("k.csv")).jsonl(dir.file("k.jsonl")));
  log.log({{"epoch", 1}, {"loss", 0.5}, {"acc", 0.9}});
  CHECK_THROWS_AS(log.log({{"epoch", 2}, {"loss", 0.4}}), tg::ValueError);
  CHECK_THROWS_WITH(log.log({{"epoch", 2}, {"loss", 0.4}, {"f1", 0.3}}),
                    TG_CONTAINS("TrainingLog::log: record 2 has fields [epoch, loss, f1] but the log's columns are "
                                "[epoch, loss, acc] (missing [acc], unexpected [f1])"));
  CHECK_THROWS_WITH(log.log({{"epoch", 2}, {"epoch", 3}, {"loss", 0.4}}), TG_CONTAINS("field 'epoch' appears twice"));
  CHECK_THROWS_WITH(log.log({}), TG_CONTAINS("the record has no fields"));
  CHECK(read_text(dir.file("k.csv")) == "epoch,loss,acc\n1,0.5,0.9\n");
  CHECK(read_text(dir.file("k.jsonl")) == "{\"epoch\": 1, \"loss\": 0.5, \"acc\": 0.9}\n");
  CHECK(log.records() == 1);
}

TEST_CASE("TrainingLog: strings are quoted in CSV and escaped in JSON", "[train][log]") {
  TempDir dir("strings");
  train::TrainingLog log(train::TrainingLogOptions().csv(dir.file("s.csv")).jsonl(dir.file("s.jsonl")));
  log.log({{"note", "a, \"b\""}, {"tab", std::string("x\ty\\z\n")}, {"plain", "caf\xc3\xa9"}});
  CHECK(read_text(dir.file("s.csv")) == "note,tab,plain\n\"a, \"\"b\"\"\",\"x\ty\\z\n\",caf\xc3\xa9\n");
  CHECK(read_text(dir.file("s.jsonl")) ==
        "{\"note\": \"a, \\\"b\\\"\", \"tab\": \"x\\ty\\\\z\\n\", \"plain\": \"caf\xc3\xa9\"}\n");
}

TEST_CASE("TrainingLog: append continues a log under its existing header", "[train][log]") {
  TempDir dir("append");
  const std::string csv = dir.file("a.csv"), jsonl = dir.file("a.jsonl");
  {
    train::TrainingLog first(train::TrainingLogOptions().csv(csv).jsonl(jsonl));
    first.log({{"epoch", 1}, {"loss", 0.5}});
  }
  {
    train::TrainingLog resumed(train::TrainingLogOptions().csv(csv).jsonl(jsonl).append(true));
    CHECK(resumed.columns() == std::vector<std::string>{"epoch", "loss"});
    CHECK_THROWS_AS(resumed.log({{"epoch", 2}, {"acc", 0.1}}), tg::ValueError);
    resumed.log({{"loss", 0.25}, {"epoch", 2}});
  }
  CHECK(read_text(csv) == "epoch,loss\n1,0.5\n2,0.25\n");
  CHECK(read_text(jsonl) == "{\"epoch\": 1, \"loss\": 0.5}\n{\"epoch\": 2, \"loss\": 0.25}\n");
  {
    train::TrainingLog fresh(train::TrainingLogOptions().csv(csv));  // without append: a new log
    fresh.log({{"step", 10}});
  }
  CHECK(read_text(csv) == "step\n10\n");
}

TEST_CASE("TrainingLog: files that cannot be opened are IOErrors; no file is a ValueError", "[train][log]") {
  TempDir dir("errors");
  const std::string missing_dir = dir.file("no/such/dir/run.csv");
  CHECK_THROWS_AS(train::TrainingLog(train::TrainingLogOptions().csv(missing_dir)), tg::IOError);
  CHECK_THROWS_WITH(train::TrainingLog(train::TrainingLogOptions().csv(missing_dir)),
                    TG_CONTAINS("TrainingLog: cannot open '" + missing_dir + "' for writing"));
  CHECK_THROWS_AS(train::TrainingLog(train::TrainingLogOptions()), tg::ValueError);
  CHECK_THROWS_WITH(train::TrainingLog(train::TrainingLogOptions()), TG_CONTAINS("no file given"));
}

}  // namespace train_log_test
