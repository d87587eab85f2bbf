// libFuzzer target for the MovieLens readers (include/tapegrad/data/movielens.hpp).
// Built and run by scripts/run_fuzz.sh; see docs/fuzzing.md.
//
// An input is up to four files separated by NUL bytes (no MovieLens file holds one):
//   users \0 movies \0 ratings [\0 genres]
// and goes to both readers: parse_movielens_1m(users.dat, movies.dat, ratings.dat) and
// parse_movielens_100k(u.data = ratings, u.user = users, u.item = movies, u.genre = genres if given).
// A crash reproduces by splitting the saved input at its NULs.
//
// The contract under test: any input either parses or throws tg::IOError naming a file
// ("movielens: users.dat:..."). Anything else is a finding: another exception (reported, then
// abort()), a crash, a sanitizer report, a leak, an allocation over -malloc_limit_mb. A successful
// parse is checked further:
//   - every rating joins a real user and movie row with the same ids, rating in 1..5;
//   - the model inputs: indices in [0, vocabulary size), and with no OOV bucket every value is
//     found; the multi-hot rows hold the movie's genre bits; the labels and ratings agree;
//   - the splits partition the rows;
//   - what movielens_files writes parses back to the same table.
#include <tapegrad/data/movielens.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace tg = tapegrad;
namespace td = tapegrad::data;

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "movielens_fuzz: %s\n", what);
  std::abort();
}

void check_joins(const td::MovieLensTable& t) {
  for (const auto& r : t.ratings) {
    if (r.user_index >= t.users.size() || r.movie_index >= t.movies.size()) finding("a rating joins no row");
    if (t.users[r.user_index].id != r.user_id || t.movies[r.movie_index].id != r.movie_id) finding("a rating joins the wrong row");
    if (r.rating < 1 || r.rating > 5) finding("a rating outside 1..5");
  }
}

void check_inputs(const td::MovieLensTable& t) {
  for (std::int64_t oov : {0, 1, 2}) {
    td::VocabularyOptions o;
    o.num_oov_indices = oov;
    const auto vocab = td::MovieLensVocabularies::adapt(t, o);
    const tg::Tensor<std::int64_t> x = td::categorical_indices(t, vocab);
    const std::vector<std::int64_t> sizes = vocab.sizes();
    if (x.numel() != t.size() * 6) finding("categorical_indices has the wrong size");
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const std::int64_t id = x.data_ptr()[i];
      if (id < 0 || id >= sizes[static_cast<std::size_t>(i % 6)]) finding("an index outside its vocabulary");  // (with no OOV bucket, a value not found would have thrown)
    }
  }
  const tg::Tensor<float> hot = td::genres_multi_hot<float>(t);
  const tg::Tensor<double> y = td::binary_labels<double>(t), stars = td::rating_values<double>(t);
  const std::size_t g = t.genre_names.size();
  for (std::size_t i = 0; i < t.ratings.size(); ++i) {
    for (std::size_t k = 0; k < g; ++k)
      if ((hot.data_ptr()[i * g + k] == 1.f) != ((t.movie_of(i).genres >> k & 1) == 1)) finding("a multi-hot row differs from the genres");
    if ((y.data_ptr()[i] == 1.0) != (stars.data_ptr()[i] > 3)) finding("a label differs from rating > 3");
  }
}

void check_splits(const td::MovieLensTable& t) {
  const td::MovieLensSplit a = td::split_random(t, 0.3, 7), b = td::split_by_time(t, 0.5);
  if (a.train.size() + a.test.size() != t.size() || b.train.size() + b.test.size() != t.size())
    finding("a split lost or added rows");
}

void check_round_trip(const td::MovieLensTable& t) {
  const std::vector<td::MovieLensFile> f = td::movielens_files(t);
  const td::MovieLensTable back = t.format == td::MovieLensFormat::ml_1m
                                      ? td::parse_movielens_1m(f[0].bytes, f[1].bytes, f[2].bytes)
                                      : td::parse_movielens_100k(f[0].bytes, f[1].bytes, f[2].bytes, std::string_view(f[3].bytes));
  if (!(back == t)) finding("the written files parse to a different table");
}

void check(const td::MovieLensTable& t) {
  check_joins(t);
  check_inputs(t);
  check_splits(t);
  check_round_trip(t);
}

template <typename Parse>
void parse(Parse p) {
  std::optional<td::MovieLensTable> t;
  try {
    t = p();
  } catch (const tg::IOError& e) {
    if (std::strncmp(e.what(), "movielens: ", 11) != 0) finding("an IOError not naming the file");
    return;
  }
  check(*t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t at; parts.size() < 3 && (at = input.find('\0', start)) != std::string_view::npos; start = at + 1)
    parts.push_back(input.substr(start, at - start));
  parts.push_back(input.substr(std::min(start, input.size())));
  while (parts.size() < 3) parts.push_back({});
  const std::optional<std::string_view> genres = parts.size() > 3 ? std::optional<std::string_view>(parts[3]) : std::nullopt;
  try {
    parse([&] { return td::parse_movielens_1m(parts[0], parts[1], parts[2]); });
    parse([&] { return td::parse_movielens_100k(parts[2], parts[0], parts[1], genres); });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "movielens_fuzz: unexpected %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}
