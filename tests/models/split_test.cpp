// Split DeepFM: the wire format (top-k, fp16), the channel, noise, and split == whole.
#include "../test_util.hpp"

#include <tapegrad/models/split.hpp>

#include <cmath>

namespace models_split_test {

namespace models = tg::models;
namespace optim = tg::optim;
using Ids = tg::Tensor<std::int64_t>;
using F = tg::Tensor<float>;

TEST_CASE("top-k per row keeps exactly the k largest |values| and zeros the rest") {
  const F x = tg::from_vector<float>({0.1f, -5, 3, 0.2f, -0.3f, 4,  //
                                      7, 1, -1, 2, -8, 0},
                                     {2, 6});
  models::Compression c;
  c.top_k = 2;
  const models::Packet p = models::encode("a", x, c);
  CHECK(p.bytes.size() == 2u * 2u * (4u + 4u));  // 2 rows x 2 kept x (uint32 index + float)
  const F y = models::decode<float>(p);
  REQUIRE(y.shape() == x.shape());
  const std::vector<float> expected = {0, -5, 0, 0, 0, 4, 7, 0, 0, 0, -8, 0};
  for (int i = 0; i < 12; ++i) CHECK(y.data_ptr()[i] == expected[static_cast<std::size_t>(i)]);
  const F mask = models::kept_mask<float>(p);
  for (int i = 0; i < 12; ++i) CHECK(mask.data_ptr()[i] == (expected[static_cast<std::size_t>(i)] != 0 ? 1.0f : 0.0f));

  c.scope = models::TopKScope::per_tensor;
  c.top_k = 3;
  const F z = models::decode<float>(models::encode("a", x, c));
  const std::vector<float> top3 = {0, 0, 0, 0, 0, 0, 7, 0, 0, 0, -8, 0};  // |-8|, 7, then |-5|
  for (int i = 0; i < 12; ++i) {
    const float want = i == 1 ? -5.0f : top3[static_cast<std::size_t>(i)];
    CHECK(z.data_ptr()[i] == want);
  }
  // Ties keep the lower index; k beyond the row keeps the row.
  c = models::Compression{};
  c.top_k = 1;
  const F tie = models::decode<float>(models::encode("t", tg::from_vector<float>({2, -2, 1}, {1, 3}), c));
  CHECK(tie.to_vector() == std::vector<float>{2, 0, 0});
  c.top_k = 10;
  CHECK(models::decode<float>(models::encode("t", x, c)).to_vector() == x.to_vector());
}

TEST_CASE("fp16: IEEE half rounding to nearest even, error within 2^-11 relative, 2 bytes a value") {
  using tapegrad::detail::float_to_half;  // io/file.hpp: the wire's fp16 rounding
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(-2.0f) == 0xc000);
  CHECK(float_to_half(65504.0f) == 0x7bff);                // the largest half
  CHECK(float_to_half(65520.0f) == 0x7c00);                // rounds up to inf
  CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);   // the smallest subnormal
  CHECK(float_to_half(std::ldexp(1.0f, -26)) == 0x0000);   // below half of it: zero
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // a tie goes to the even mantissa
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // ... up, here
  CHECK(float_to_half(std::numeric_limits<float>::quiet_NaN()) == 0x7e00);
  tg::Generator gen(2);
  const F x = tg::randn<float>({50, 40}, gen) * 100.0f;
  models::Compression c;
  c.fp16 = true;
  const models::Packet p = models::encode("h", x, c);
  CHECK(p.bytes.size() == 2000u * 2u);
  CHECK(p.values == "F16");
  const F y = models::decode<float>(p);
  double worst = 0;
  for (int i = 0; i < 2000; ++i) {
    const double v = x.data_ptr()[i];
    if (std::abs(v) < std::ldexp(1.0, -14)) continue;  // subnormal halves have absolute, not relative, error
    worst = std::max(worst, std::abs(y.data_ptr()[i] - v) / std::abs(v));
  }
  CHECK(worst <= std::ldexp(1.0, -11));
  CHECK(worst > std::ldexp(1.0, -13));  // it did round
  // top-k and fp16 together: uint32 index + half value.
  c.top_k = 3;
  CHECK(models::encode("h", x, c).bytes.size() == 50u * 3u * (4u + 2u));
  // Dense float and double: 4 and 8 bytes a value, exact.
  CHECK(models::encode("d", x).bytes.size() == 8000u);
  const Tensor xd = tg::randn<double>({3, 2}, gen);
  CHECK(models::encode("d", xd).bytes.size() == 48u);
  CHECK(models::decode<double>(models::encode("d", xd)).to_vector() == xd.to_vector());
}

TEST_CASE("decode refuses packets whose header and payload disagree") {
  models::Packet p = models::encode("a", tg::ones<float>({2, 3}));
  CHECK_THROWS_WITH(models::decode<double>(p), TG_CONTAINS("carries a F32 tensor, the receiver expects F64"));
  models::Packet short_payload = p;
  short_payload.bytes.pop_back();
  CHECK_THROWS_WITH(models::decode<float>(short_payload), TG_CONTAINS("has 23 payload bytes"));
  models::Packet huge = p;
  huge.shape = {1 << 20, 1 << 20};
  CHECK_THROWS_WITH(models::decode<float>(huge), TG_CONTAINS("more than 2^28 elements"));
  models::Compression c;
  c.top_k = 2;
  models::Packet sparse = models::encode("a", tg::from_vector<float>({1, 2, 3}, {1, 3}), c);
  sparse.bytes[0] = 7;  // index 7 in a row of 3
  CHECK_THROWS_WITH(models::decode<float>(sparse), TG_CONTAINS("has index 7 in row 0"));
  models::Packet bad_values = p;
  bad_values.values = "I8";
  CHECK_THROWS_AS(models::decode<float>(bad_values), tg::ValueError);
}

TEST_CASE("InProcessChannel: a FIFO of named packets with byte counters") {
  models::InProcessChannel ch;
  CHECK_THROWS_WITH(ch.recv("x"), TG_CONTAINS("no packet waiting (expected \"x\")"));
  ch.send(models::encode("x", tg::ones<float>({4})));
  ch.send(models::encode("y", tg::ones<double>({2})));
  CHECK(ch.bytes_sent() == 16u + 16u);
  CHECK(ch.bytes_sent("x") == 16u);
  CHECK(ch.messages_sent() == 2u);
  CHECK_THROWS_WITH(ch.recv("y"), TG_CONTAINS("expected \"y\", the next packet is \"x\""));
  CHECK(models::decode<float>(ch.recv("x")).to_vector() == std::vector<float>{1, 1, 1, 1});
  CHECK(ch.pending() == 1u);
  ch.reset_counters();
  CHECK(ch.bytes_sent() == 0u);
}

models::SplitDeepFMOptions tiny_options() {
  models::SplitDeepFMOptions opt;
  opt.alice_fields.field_dims = {5, 3};
  opt.alice_fields.field_names = {"user", "gender"};
  opt.bob_fields.field_dims = {6};
  opt.bob_fields.field_names = {"movie"};
  opt.bob_fields.multi_hot_dim = 4;
  opt.bob_fields.multi_hot_name = "genres";
  for (auto* f : {&opt.alice_fields, &opt.bob_fields}) {
    f->embed_dim = 4;
    f->init_std = 0.3;
  }
  opt.base_hidden = {8};
  opt.cut_dim = 6;
  opt.fuse_hidden = {16, 16, 8};
  return opt;
}

struct Batch {
  Ids alice, bob;
  F genres, labels;
};
// A random batch; the labels follow a user-movie interaction so there is something to learn.
Batch make_batch(tg::Generator& gen, std::int64_t n) {
  std::uniform_int_distribution<std::int64_t> user(0, 4), gender(0, 2), movie(0, 5);
  std::bernoulli_distribution coin(0.4);
  std::vector<std::int64_t> a, b;
  std::vector<float> g, y;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t u = user(gen.engine()), m = movie(gen.engine());
    a.push_back(u);
    a.push_back(gender(gen.engine()));
    b.push_back(m);
    for (int j = 0; j < 4; ++j) g.push_back(coin(gen.engine()) || j == m % 4 ? 1.0f : 0.0f);
    y.push_back((u + m) % 2 == 0 ? 1.0f : 0.0f);
  }
  return {tg::from_vector(a, {n, 2}), tg::from_vector(b, {n, 1}), tg::from_vector(g, {n, 4}), tg::from_vector(y, {n})};
}

TEST_CASE("SplitDeepFM: the cut keeps the FM term over all fields exact") {
  tg::manual_seed(3);
  models::SplitDeepFMOptions opt = tiny_options();
  models::SplitDeepFM<double> whole(opt);
  auto last = std::dynamic_pointer_cast<tg::nn::Linear<double>>((*whole.bob->fuse)[-1]);
  REQUIRE(last);
  {
    tg::NoGradGuard no_grad;
    last->weight.zero_();
    last->bias.zero_();
  }
  tg::Generator gen(1);
  const Batch batch = make_batch(gen, 5);
  const Tensor genres = batch.genres.to<double>();
  const Tensor logits = whole.forward(batch.alice, batch.bob, genres);
  REQUIRE(logits.shape() == tg::Shape{5});
  const auto a = whole.alice->fields->forward(batch.alice);
  const auto b = whole.bob->base->fields->forward(batch.bob, genres);
  const Tensor all = tg::cat<double>({a.embeddings, b.embeddings}, 1);  // [5, 2 + 2, 4]
  const Tensor expected = a.first_order + b.first_order + models::fm_interaction(all);
  for (int i = 0; i < 5; ++i) CHECK(logits.at({i}) == Approx(expected.at({i})).epsilon(1e-12));
  CHECK(whole.alice->cut_width() == 6 + 4 + 1);
  opt.bob_fields.embed_dim = 3;
  CHECK_THROWS_WITH(models::SplitDeepFM<double>(opt), TG_CONTAINS("alice's embed_dim (4) and bob's (3) must be equal"));
  CHECK_THROWS_WITH(whole.bob->forward(tg::zeros<double>({5, 7}), batch.bob, genres),
                    TG_CONTAINS("alice's cut activation must be [5, 11]"));
}

TEST_CASE("split training equals whole training: same init, same data, 25 Adam steps, float") {
  tg::manual_seed(21);
  const models::SplitDeepFMOptions opt = tiny_options();
  models::SplitDeepFM<float> whole(opt);
  auto alice_model = models::make_split_alice<float>(opt);
  auto bob_model = std::make_shared<models::SplitBob<float>>(opt);
  alice_model->load_state_dict(whole.alice->state_dict());
  bob_model->load_state_dict(whole.bob->state_dict());

  const auto adam = optim::AdamOptions(0.01);
  optim::Adam<float> whole_adam(whole.parameters(), adam);
  models::InProcessChannel channel;
  models::AliceParty<float> alice(alice_model, channel, adam);
  models::BobParty<float> bob(bob_model, channel, adam);
  tg::Generator gen(5);
  const int steps = 25, batch_size = 8;
  float split_loss = 0, whole_loss = 0;
  for (int step = 0; step < steps; ++step) {
    const Batch batch = make_batch(gen, batch_size);
    whole_adam.zero_grad();
    const F loss = tg::binary_cross_entropy_with_logits(whole.forward(batch.alice, batch.bob, batch.genres), batch.labels);
    loss.backward();
    whole_adam.step();
    whole_loss = loss.item();
    split_loss = models::split_train_step(alice, bob, batch.alice, batch.bob, batch.genres, batch.labels).item();
    CHECK(split_loss == Approx(whole_loss).epsilon(1e-6));
  }
  CHECK(channel.pending() == 0u);
  // Only the cut crossed: [8, 11] floats each way per step.
  CHECK(channel.bytes_sent(models::kCutActivation) == std::uint64_t(steps) * batch_size * 11 * 4);
  CHECK(channel.bytes_sent(models::kCutGradient) == std::uint64_t(steps) * batch_size * 11 * 4);
  const auto check_same = [](const tg::StateDict<float>& split, const tg::StateDict<float>& one) {
    REQUIRE(split.keys() == one.keys());
    for (const auto& [name, p] : one) {
      const F& q = split.at(name);
      float scale = 0;
      for (std::int64_t i = 0; i < p.numel(); ++i) scale = std::max(scale, std::abs(p.data_ptr()[i]));
      for (std::int64_t i = 0; i < p.numel(); ++i) {
        INFO(name << " element " << i);
        CHECK(std::abs(q.data_ptr()[i] - p.data_ptr()[i]) <= 1e-6f * scale);
      }
    }
  };
  check_same(alice_model->state_dict(), whole.alice->state_dict());
  check_same(bob_model->state_dict(), whole.bob->state_dict());
  // And the parameters did move: the comparison is not of two untouched models.
  models::SplitDeepFM<float> fresh(opt);
  CHECK(whole.alice->fields->embedding->weight.at({0, 0}) != fresh.alice->fields->embedding->weight.at({0, 0}));

  // Inference through the channel gives the whole model's logits.
  const Batch test = make_batch(gen, 4);
  alice.send(test.alice);
  const F split_logits = bob.predict(test.bob, test.genres);
  tg::NoGradGuard no_grad;
  const F whole_logits = whole.forward(test.alice, test.bob, test.genres);
  for (int i = 0; i < 4; ++i) CHECK(split_logits.at({i}) == Approx(whole_logits.at({i})).epsilon(1e-5));
}

TEST_CASE("noise on the sent activations: N(0, sigma^2), seeded") {
  tg::manual_seed(8);
  const models::SplitDeepFMOptions opt = tiny_options();
  auto alice_model = models::make_split_alice<float>(opt);
  models::CutOptions cut;
  cut.noise_std = 0.5;
  cut.noise_seed = 77;
  models::InProcessChannel channel;
  models::AliceParty<float> alice(alice_model, channel, optim::AdamOptions(), cut);
  tg::Generator gen(2);
  const Batch batch = make_batch(gen, 64);
  alice.send(batch.alice);
  const F sent = models::decode<float>(channel.recv(models::kCutActivation));
  F clean;
  {
    tg::NoGradGuard no_grad;
    clean = alice_model->forward(batch.alice);
  }
  const F noise = sent - clean;
  const double n = static_cast<double>(noise.numel());  // 64 x 11
  const double mean = noise.mean().item();
  const double sd = std::sqrt(((noise - static_cast<float>(mean)) * (noise - static_cast<float>(mean))).sum().item() / (n - 1));
  CHECK(std::abs(mean) < 4 * 0.5 / std::sqrt(n));          // 4 standard errors of the mean
  CHECK(std::abs(sd - 0.5) < 4 * 0.5 / std::sqrt(2 * n));   // ... of the standard deviation
  // The same seed draws the same noise.
  models::InProcessChannel channel2;
  models::AliceParty<float> twin(alice_model, channel2, optim::AdamOptions(), cut);
  twin.send(batch.alice);
  CHECK(models::decode<float>(channel2.recv(models::kCutActivation)).to_vector() == sent.to_vector());
  cut.noise_std = -1;
  CHECK_THROWS_WITH(models::AliceParty<float>(alice_model, channel, optim::AdamOptions(), cut),
                    TG_CONTAINS("noise_std must be >= 0"));
}

TEST_CASE("training through a compressed, noised cut still reduces the loss; bytes are the compressed size") {
  tg::manual_seed(13);
  const models::SplitDeepFMOptions opt = tiny_options();
  auto alice_model = models::make_split_alice<float>(opt);
  auto bob_model = std::make_shared<models::SplitBob<float>>(opt);
  models::CutOptions cut;
  cut.activations.top_k = 6;  // of 11 per row
  cut.activations.fp16 = true;
  cut.gradients.fp16 = true;
  cut.noise_std = 0.01;
  models::InProcessChannel channel;
  models::AliceParty<float> alice(alice_model, channel, optim::AdamOptions(0.02), cut);
  models::BobParty<float> bob(bob_model, channel, optim::AdamOptions(0.02), cut);
  tg::Generator gen(4);
  const Batch batch = make_batch(gen, 32);
  float first = 0, last = 0;
  const int steps = 80;
  for (int step = 0; step < steps; ++step) {
    const float loss = models::split_train_step(alice, bob, batch.alice, batch.bob, batch.genres, batch.labels).item();
    (step == 0 ? first : last) = loss;
  }
  INFO("loss " << first << " -> " << last);
  CHECK(last < 0.5f * first);
  CHECK(channel.bytes_sent(models::kCutActivation) == std::uint64_t(steps) * 32 * 6 * (4 + 2));
  CHECK(channel.bytes_sent(models::kCutGradient) == std::uint64_t(steps) * 32 * 11 * 2);
  CHECK_THROWS_WITH(alice.backward_and_step(), TG_CONTAINS("no forward pass is waiting"));
}

}  // namespace models_split_test
