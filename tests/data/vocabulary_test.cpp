// Vocabularies (StringLookup, IntegerLookup, Hashing): adapt's ordering and limits, OOV buckets,
// inverse lookup, the errors, and hash values fixed by an independent implementation (Python:
// FNV-1a 64, xor salt, MurmurHash3 fmix64), so a change of the hash cannot pass unnoticed.
#include "../test_util.hpp"

#include <tapegrad/data/vocabulary.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace data_vocabulary_test {

namespace td = tapegrad::data;
using Ids = std::vector<std::int64_t>;

Ids values_of(const tg::Tensor<std::int64_t>& t) { return Ids(t.data_ptr(), t.data_ptr() + t.numel()); }

TEST_CASE("StringLookup::adapt orders by frequency, then by value", "[data][vocabulary]") {
  // counts: b 3, a 2, c 2, d 1 -> b, then a and c (tie: by value), then d
  const auto v = td::StringLookup::adapt({"c", "b", "a", "b", "d", "c", "a", "b"});
  CHECK(v.tokens() == std::vector<std::string>{"b", "a", "c", "d"});
  CHECK(v.size() == 5);  // 1 OOV bucket + 4
  CHECK(v.num_oov_indices() == 1);
  const auto ids = v.lookup({"b", "a", "c", "d", "unseen"});
  CHECK(ids.shape() == tg::Shape{5});
  CHECK(values_of(ids) == Ids{1, 2, 3, 4, 0});
  CHECK(v.token(0) == "[UNK]");
  CHECK(v.token(3) == "c");
  CHECK(v.inverse(ids) == std::vector<std::string>{"b", "a", "c", "d", "[UNK]"});
  CHECK(v.contains("d"));
  CHECK_FALSE(v.contains("unseen"));
}

TEST_CASE("IntegerLookup::adapt orders ties numerically and honours max_tokens and min_frequency", "[data][vocabulary]") {
  const std::vector<std::int64_t> data = {10, 2, 10, 30, 2, 7, 10, 100, 100};
  // counts: 10 x3, 2 x2, 100 x2, 30 x1, 7 x1
  CHECK(td::IntegerLookup::adapt(data).tokens() == std::vector<std::int64_t>{10, 2, 100, 7, 30});
  td::VocabularyOptions o;
  o.max_tokens = 3;  // includes the OOV bucket, as Keras: two values
  CHECK(td::IntegerLookup::adapt(data, o).tokens() == std::vector<std::int64_t>{10, 2});
  td::VocabularyOptions f;
  f.min_frequency = 2;
  const auto v = td::IntegerLookup::adapt(data, f, "Age");
  CHECK(v.tokens() == std::vector<std::int64_t>{10, 2, 100});
  CHECK(values_of(v.lookup({7, 100, 10})) == Ids{0, 3, 1});
  CHECK(v.token(0) == -1);
  CHECK(v.field() == "Age");
}

TEST_CASE("Lookup with no OOV bucket: indices from 0, an unknown value is an error naming it and the field", "[data][vocabulary]") {
  td::VocabularyOptions o;
  o.num_oov_indices = 0;
  const auto v = td::StringLookup::adapt({"M", "F", "M"}, o, "Gender");
  CHECK(v.size() == 2);
  CHECK(values_of(v.lookup({"M", "F"})) == Ids{0, 1});
  CHECK_THROWS_AS(v.index("X"), tg::ValueError);
  CHECK_THROWS_WITH(v.index("X"), TG_CONTAINS("StringLookup (field Gender): \"X\" is not in the vocabulary of 2 values"));
  CHECK_THROWS_WITH(v.lookup({"M", "X"}), TG_CONTAINS("num_oov_indices is 0"));
  const auto ids = td::IntegerLookup::from_list({5, 9}, 0, "UserID");
  CHECK_THROWS_WITH(ids.index(6), TG_CONTAINS("IntegerLookup (field UserID): 6 is not in the vocabulary"));
}

TEST_CASE("Lookup with several OOV buckets hashes unknown values into them", "[data][vocabulary]") {
  const auto v = td::StringLookup::from_list({"a", "b"}, 3);
  CHECK(v.size() == 5);
  CHECK(values_of(v.lookup({"a", "b"})) == Ids{3, 4});
  // stable_hash(v) % 3, from the independent implementation: "X" -> 0, "zz" -> 1
  CHECK(v.index("X") == 0);
  CHECK(v.index("zz") == 1);
  CHECK(v.token(1) == "[UNK]");
  CHECK(td::IntegerLookup::from_list({1}, 3).index(7) == 1);  // integers hash as their text: "7" -> 1
}

TEST_CASE("Lookup errors: a repeated list value, bad options, an index out of range", "[data][vocabulary]") {
  CHECK_THROWS_AS(td::StringLookup::from_list({"a", "b", "a"}), tg::ValueError);
  CHECK_THROWS_WITH(td::StringLookup::from_list({"a", "b", "a"}, 1, "Zip-code"),
                    TG_CONTAINS("(field Zip-code): \"a\" appears twice in the vocabulary list (positions 0 and 2)"));
  td::VocabularyOptions o;
  o.max_tokens = 0;
  CHECK_THROWS_WITH(td::StringLookup::adapt({"a"}, o), TG_CONTAINS("max_tokens 0 leaves no room for the 1 OOV buckets"));
  o = {};
  o.num_oov_indices = -1;
  CHECK_THROWS_WITH(td::StringLookup::adapt({"a"}, o), TG_CONTAINS("num_oov_indices is -1"));
  o = {};
  o.min_frequency = 0;
  CHECK_THROWS_WITH(td::IntegerLookup::adapt({1}, o), TG_CONTAINS("min_frequency is 0"));
  const auto v = td::StringLookup::from_list({"a"});
  CHECK_THROWS_AS(v.token(2), tg::IndexError);
  CHECK_THROWS_WITH(v.token(-1), TG_CONTAINS("index -1 is out of range for a vocabulary of size 2 (valid: 0 .. 1)"));
}

TEST_CASE("stable_hash: FNV-1a 64 (the published vectors) then fmix64, fixed values", "[data][vocabulary]") {
  // fmix64(0) = 0 and fmix64 is a bijection, so these are the published FNV-1a values
  // (0xcbf29ce484222325 for "", 0xaf63dc4c8601ec8c for "a") passed through it, computed in Python.
  CHECK(td::stable_hash("") == 17280346270528514342ull);
  CHECK(td::stable_hash("a") == 9413272369427828315ull);
  CHECK(td::stable_hash("M") == 6949045369436745750ull);
  CHECK(td::stable_hash("48067") == 3571174765817529170ull);
  CHECK(td::stable_hash("48067", 7) == 3709751134019264620ull);
}

TEST_CASE("Hashing: value -> stable_hash % num_bins, integers as their decimal text", "[data][vocabulary]") {
  const td::Hashing bins(1000);
  CHECK(bins.index("48067") == 170);
  CHECK(bins.index(std::string("a")) == 315);
  CHECK(bins.index(42) == 476);
  CHECK(bins.index(-5) == 154);
  CHECK(bins.index(42) == bins.index(std::string("42")));
  CHECK(td::Hashing(1000, 7).index("48067") == 620);
  CHECK(values_of(td::Hashing(16).lookup(std::vector<std::string>{"", "a", "M"})) == Ids{6, 11, 6});
  CHECK(values_of(td::Hashing(16).lookup(std::vector<std::int64_t>{42, -5})) == Ids{12, 2});
  CHECK(bins.size() == 1000);
  CHECK_THROWS_AS(td::Hashing(0), tg::ValueError);
  CHECK_THROWS_WITH(td::Hashing(-3), TG_CONTAINS("Hashing: num_bins is -3; use 1 or more"));
}

}  // namespace data_vocabulary_test
