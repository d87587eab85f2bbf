// StateDict: insertion order, unique keys, lookups that name the missing key, and the
// prefixes that let one checkpoint hold a model and its optimizer.
#include "../test_util.hpp"

#include <tapegrad/io/state_dict.hpp>

namespace io_state_dict_test {

TEST_CASE("StateDict: keeps insertion order, refuses duplicate keys, set replaces", "[state_dict]") {
  tg::StateDict<double> sd;
  CHECK(sd.empty());
  sd.insert("b", values({1}, {1}));
  sd.insert("a", values({2, 3}, {2}));
  CHECK(sd.keys() == std::vector<std::string>{"b", "a"});
  CHECK_THROWS_AS(sd.insert("a", values({4}, {1})), tg::ValueError);
  CHECK_THROWS_WITH(sd.insert("a", values({4}, {1})), TG_CONTAINS("the key \"a\" is already present"));
  require_values(sd.at("a"), {2, 3});  // the refused insert changed nothing

  sd.set("a", values({5}, {1}));
  sd.set("c", values({6}, {1}));
  CHECK(sd.keys() == std::vector<std::string>{"b", "a", "c"});
  require_values(sd.at("a"), {5});
  CHECK_THROWS_AS(sd.at("d"), tg::IndexError);
  CHECK_THROWS_WITH(sd.at("d"), TG_CONTAINS("no entry named \"d\" (3 entries)"));
}

TEST_CASE("StateDict: with_prefix undoes merge and shares the tensors", "[state_dict]") {
  tg::StateDict<double> model, optimizer;
  model.insert("0.weight", values({1, 2}, {2}));
  model.insert("0.bias", values({3}, {1}));
  optimizer.insert("state.0.step", values({7}, {1}));

  tg::StateDict<double> checkpoint;
  checkpoint.merge(model, "model.");
  checkpoint.merge(optimizer, "optimizer.");
  CHECK(checkpoint.keys() == std::vector<std::string>{"model.0.weight", "model.0.bias", "optimizer.state.0.step"});

  const auto back = checkpoint.with_prefix("model.");
  CHECK(back.keys() == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK(back.at("0.weight").data_ptr() == model.at("0.weight").data_ptr());
  CHECK(checkpoint.with_prefix("optimizer.").keys() == std::vector<std::string>{"state.0.step"});
  // A prefix must match from the first character, and the whole of it.
  CHECK(checkpoint.with_prefix("0.").empty());
  CHECK(checkpoint.with_prefix("model.0.weight.").empty());
  CHECK(checkpoint.with_prefix("").keys() == checkpoint.keys());
  // A key equal to the prefix becomes the empty key.
  CHECK(checkpoint.with_prefix("model.0.bias").keys() == std::vector<std::string>{""});
}

}  // namespace io_state_dict_test
