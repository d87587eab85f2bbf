// tg::nn::Module: the registry, traversal, modes, state dicts and printing.
#include "nn_test_util.hpp"

#include <sstream>

namespace nn_module_test {

namespace nn = tg::nn;

namespace {
// A model with a nested submodule, a buffer and a computed tensor as parameter.
struct Net : nn::Module<double> {
  std::shared_ptr<nn::Sequential<double>> encoder;
  std::shared_ptr<nn::Linear<double>> head;
  Tensor scale;
  Net() : Module("Net") {
    encoder = register_module("encoder", std::make_shared<nn::Sequential<double>>(
                                             std::make_shared<nn::Linear<double>>(3, 4), std::make_shared<nn::Tanh<double>>()));
    head = register_module("head", std::make_shared<nn::Linear<double>>(4, 2));
    tg::manual_seed(1);
    scale = register_parameter("scale", tg::randn<double>({2}, tg::requires_grad()) * 0.01);  // not a leaf as given
    register_buffer("steps", tg::zeros<double>({}));
  }
  Tensor forward(const Tensor& x) override { return head->forward(encoder->forward(x)) * scale; }
};
}  // namespace

TEST_CASE("Module: named_parameters are dotted paths in registration order") {
  Net net;
  std::vector<std::string> names;
  for (auto& [name, p] : net.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"scale", "encoder.0.weight", "encoder.0.bias", "head.weight", "head.bias"});
  CHECK(net.parameters().size() == 5);
  CHECK(net.parameters(false).size() == 1);
  CHECK(net.named_buffers().size() == 1);
  CHECK(net.children().size() == 2);
  std::vector<std::string> modules;
  for (auto& [name, m] : net.named_modules()) modules.push_back(name + ":" + m->type_name());
  CHECK(modules == std::vector<std::string>{":Net", "encoder:Sequential", "encoder.0:Linear", "encoder.1:Tanh",
                                            "head:Linear"});
  CHECK(net.modules().size() == 5);
}

TEST_CASE("Module: parameters are leaves that require grad and train, even when registered from a computation") {
  Net net;
  for (auto& p : net.parameters()) {
    CHECK(p.is_leaf());
    CHECK(p.requires_grad());
  }
  // The member handle is the registered tensor.
  CHECK(net.scale.impl() == net.named_parameters()[0].second.impl());
  net.forward(tg::ones<double>({5, 3})).sum().backward();
  for (auto& [name, p] : net.named_parameters()) {
    INFO(name);
    CHECK(p.grad().defined());
  }
  net.zero_grad();  // set_to_none by default
  for (auto& p : net.parameters()) CHECK_FALSE(p.grad().defined());
  net.forward(tg::ones<double>({5, 3})).sum().backward();
  net.zero_grad(false);
  for (auto& p : net.parameters()) {
    REQUIRE(p.grad().defined());
    CHECK(p.grad().abs().sum().item() == 0.0);
  }
}

TEST_CASE("Module: registration errors name the module and the name") {
  Net net;
  CHECK_THROWS_WITH(net.register_parameter("a.b", tg::zeros<double>({1})), TG_CONTAINS("contain no '.'"));
  CHECK_THROWS_WITH(net.register_parameter("", tg::zeros<double>({1})), TG_CONTAINS("non-empty"));
  CHECK_THROWS_WITH(net.register_buffer("head", tg::zeros<double>({1})), TG_CONTAINS("\"head\" is already registered"));
  CHECK_THROWS_WITH(net.register_parameter("w", Tensor()), TG_CONTAINS("Net.register_parameter: the tensor for \"w\" is undefined"));
  CHECK_THROWS_WITH(net.register_module("m", std::shared_ptr<nn::Linear<double>>()), TG_CONTAINS("is null"));
  CHECK_THROWS_WITH(net.forward(tg::zeros<double>({1, 2})), TG_CONTAINS("linear: the input of shape [1, 2] does not end in in_features = 3"));
}

TEST_CASE("Module: shared parameters are listed once") {
  nn::Sequential<double> seq;
  auto lin = std::make_shared<nn::Linear<double>>(2, 2);
  seq.push_back(lin);
  seq.push_back(lin);
  CHECK(seq.parameters().size() == 2);
  CHECK(seq.named_parameters()[0].first == "0.weight");
}

TEST_CASE("Module: train and eval reach every submodule; apply visits children first") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  for (auto* m : net.modules()) CHECK_FALSE(m->is_training());
  net.train();
  for (auto* m : net.modules()) CHECK(m->is_training());
  std::vector<std::string> order;
  net.apply([&](nn::Module<double>& m) { order.push_back(m.type_name()); });
  CHECK(order == std::vector<std::string>{"Linear", "Tanh", "Sequential", "Linear", "Net"});
}

TEST_CASE("Module: prints its tree as PyTorch does") {
  Net net;
  std::ostringstream os;
  os << net;
  CHECK(os.str() ==
        "Net(\n"
        "  (encoder): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (1): Tanh()\n"
        "  )\n"
        "  (head): Linear(in_features=4, out_features=2, bias=True)\n"
        ")");
  std::ostringstream leaf;
  leaf << nn::Linear<float>(3, 1, false);
  CHECK(leaf.str() == "Linear(in_features=3, out_features=1, bias=False)");
}

TEST_CASE("Module: state_dict holds parameters and persistent buffers; load_state_dict copies in place") {
  Net a, b;
  const auto sd = a.state_dict();
  CHECK(sd.keys() == std::vector<std::string>{"scale", "steps", "encoder.0.weight", "encoder.0.bias", "head.weight",
                                              "head.bias"});
  {
    tg::NoGradGuard no_grad;
    b.head->weight.fill_(7.0);
  }
  const auto handle = b.head->weight;  // e.g. held by an optimizer
  auto result = b.load_state_dict(sd);
  CHECK(result.missing_keys.empty());
  CHECK(result.unexpected_keys.empty());
  CHECK(handle.to_vector() == a.head->weight.to_vector());
  CHECK(handle.impl() == b.head->weight.impl());
  CHECK(b.head->weight.impl() != a.head->weight.impl());  // values copied, not aliased
  const auto x = tg::randn<double>({2, 3});
  CHECK(a.forward(x).to_vector() == b.forward(x).to_vector());
}

TEST_CASE("Module: load_state_dict reports missing, unexpected and mismatched keys by name, and loads nothing") {
  Net a, b;
  tg::StateDict<double> sd;
  for (auto& [k, v] : a.state_dict())
    if (k != "head.bias") sd.insert(k, v.clone());
  sd.insert("extra.weight", tg::zeros<double>({1}));
  const auto before = b.encoder->parameters()[0].to_vector();
  CHECK_THROWS_WITH(b.load_state_dict(sd), TG_CONTAINS("missing keys: head.bias") && TG_CONTAINS("unexpected keys: extra.weight"));
  CHECK(b.encoder->parameters()[0].to_vector() == before);  // nothing written
  auto r = b.load_state_dict(sd, false);
  CHECK(r.missing_keys == std::vector<std::string>{"head.bias"});
  CHECK(r.unexpected_keys == std::vector<std::string>{"extra.weight"});
  CHECK(b.encoder->parameters()[0].to_vector() == a.encoder->parameters()[0].to_vector());

  tg::StateDict<double> wrong = a.state_dict();
  wrong.set("head.weight", tg::zeros<double>({3, 3}));
  CHECK_THROWS_WITH(b.load_state_dict(wrong, false),
                    TG_CONTAINS("size mismatch: \"head.weight\": the checkpoint has shape [3, 3], the module [2, 4]"));
}

TEST_CASE("Module: non-persistent buffers stay out of the state dict") {
  nn::Module<float> m("M");
  m.register_buffer("kept", tg::ones<float>({2}));
  m.register_buffer("scratch", tg::ones<float>({2}), false);
  CHECK(m.state_dict().keys() == std::vector<std::string>{"kept"});
  CHECK(m.buffers().size() == 2);
}

TEST_CASE("Containers: ModuleList, Sequential and ModuleDict") {
  nn::ModuleList<double> list(std::make_shared<nn::Linear<double>>(2, 3), std::make_shared<nn::ReLU<double>>());
  CHECK(list.size() == 2);
  CHECK(list.at<nn::Linear<double>>(0)->weight.shape() == tg::Shape{3, 2});
  CHECK(list.at<nn::Linear<double>>(1) == nullptr);
  CHECK(list[-1]->type_name() == "ReLU");
  CHECK_THROWS_WITH(list[2], TG_CONTAINS("ModuleList: index 2 is out of range for 2 modules"));

  auto l1 = std::make_shared<nn::Linear<double>>(2, 3);
  auto l2 = std::make_shared<nn::Linear<double>>(3, 1);
  nn::Sequential<double> seq(l1, std::make_shared<nn::ReLU<double>>(), l2);
  const auto x = tg::randn<double>({4, 2});
  const auto expected = l2->forward(tg::relu(l1->forward(x)));
  CHECK(seq(x).to_vector() == expected.to_vector());

  nn::ModuleDict<double> dict;
  dict.insert("user", std::make_shared<nn::Embedding<double>>(5, 2));
  dict.insert("item", std::make_shared<nn::Embedding<double>>(7, 2));
  CHECK(dict.keys() == std::vector<std::string>{"user", "item"});
  CHECK(dict.contains("item"));
  CHECK(dict.at<nn::Embedding<double>>("item")->weight.size(0) == 7);
  CHECK(dict.named_parameters()[1].first == "item.weight");
  CHECK_THROWS_WITH(dict["genre"], TG_CONTAINS("no module named \"genre\""));
}

}  // namespace nn_module_test
