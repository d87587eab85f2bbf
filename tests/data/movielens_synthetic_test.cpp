// The synthetic MovieLens generator: exact ml-1m / ml-100k files that read back as the table
// generated, seeded, with half the labels positive, Latin-1 titles, and a learnable signal (the
// generator's own score and a per-movie mean on a training split both rank the test labels).
#include "../test_util.hpp"

#include <tapegrad/data/movielens_synthetic.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace data_movielens_synthetic_test {

namespace td = tapegrad::data;

// AUC by counting pairs: P(score of a positive > score of a negative), ties count half.
double pair_auc(const std::vector<double>& score, const std::vector<bool>& positive) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < score.size(); ++i)
    for (std::size_t j = 0; j < score.size(); ++j)
      if (positive[i] && !positive[j]) {
        wins += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
        pairs += 1;
      }
  return wins / pairs;
}

TEST_CASE("the defaults: sizes, half the labels above 3, ml-1m's rating shape, a strong Bayes AUC", "[data][synthetic]") {
  const td::SyntheticMovieLens made = td::generate_synthetic_movielens();
  const td::MovieLensTable& t = made.table;
  CHECK(t.users.size() == 600);
  CHECK(t.movies.size() == 400);
  REQUIRE(t.size() == 60000);
  std::vector<double> share(6, 0);
  for (const auto& r : t.ratings) share[static_cast<std::size_t>(r.rating)] += 1.0 / 60000;
  // The thresholds sit at the 6/17/50/82% quantiles of the scores.
  CHECK(share[1] == Approx(0.06).margin(0.002));
  CHECK(share[2] == Approx(0.11).margin(0.002));
  CHECK(share[3] == Approx(0.33).margin(0.002));
  CHECK(share[4] == Approx(0.32).margin(0.002));
  CHECK(share[5] == Approx(0.18).margin(0.002));
  CHECK(share[4] + share[5] == Approx(0.5).margin(0.002));
  // The noiseless score ranks the labels well, not perfectly (noise_std 0.9): measured 0.846.
  CHECK(made.bayes_auc > 0.82);
  CHECK(made.bayes_auc < 0.87);
  CHECK(made.score.size() == 60000);
  bool has_latin1 = false;
  for (const auto& m : t.movies) has_latin1 = has_latin1 || m.title.find('\xC3') != std::string::npos;
  CHECK(has_latin1);
  // Sorted by user, then time, as ratings.dat is; each pair once.
  bool ordered = true;
  for (std::size_t i = 1; i < t.ratings.size(); ++i) {
    const auto &a = t.ratings[i - 1], &b = t.ratings[i];
    ordered = ordered && (a.user_id < b.user_id || (a.user_id == b.user_id && a.timestamp <= b.timestamp && a.movie_id != b.movie_id));
  }
  CHECK(ordered);
}

TEST_CASE("bayes_auc is the pair-counting AUC of the scores", "[data][synthetic]") {
  td::SyntheticMovieLensOptions o;
  o.num_users = 30;
  o.num_movies = 20;
  o.num_ratings = 300;
  const td::SyntheticMovieLens made = td::generate_synthetic_movielens(o);
  std::vector<bool> positive;
  for (const auto& r : made.table.ratings) positive.push_back(r.rating > 3);
  CHECK(made.bayes_auc == Approx(pair_auc(made.score, positive)).epsilon(1e-12));
  // Ties take the mean rank: all-equal scores give 0.5.
  CHECK(td::detail::synthetic::auc({1, 1, 1, 1}, {true, false, true, false}) == 0.5);
  CHECK(td::detail::synthetic::auc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}) == 0.75);  // sklearn's example
}

TEST_CASE("a per-movie mean rating on the training split predicts the test labels", "[data][synthetic]") {
  const td::SyntheticMovieLens made = td::generate_synthetic_movielens();
  const td::MovieLensTable& t = made.table;
  const auto split = td::split_random(t, 0.2, 3);
  std::vector<double> positives(t.movies.size(), 0), counts(t.movies.size(), 0);
  for (const auto& r : split.train.ratings) {
    positives[r.movie_index] += r.rating > 3;
    counts[r.movie_index] += 1;
  }
  std::vector<double> score;
  std::vector<bool> positive;
  for (const auto& r : split.test.ratings) {
    score.push_back((positives[r.movie_index] + 2.5) / (counts[r.movie_index] + 5));  // shrunk to 1/2
    positive.push_back(r.rating > 3);
  }
  const double auc = td::detail::synthetic::auc(score, positive);
  CHECK(auc > 0.65);  // measured 0.70; chance is 0.5
  CHECK(auc < made.bayes_auc);  // the movie alone knows less than the generator
}

TEST_CASE("the written files read back as the table, in both formats", "[data][synthetic]") {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "tapegrad_movielens_synthetic_test";
  fs::remove_all(root);
  td::SyntheticMovieLensOptions o;
  o.num_users = 50;
  o.num_movies = 40;
  o.num_ratings = 800;
  const td::SyntheticMovieLens m1 = td::write_synthetic_movielens((root / "ml-1m").string(), o);
  CHECK(td::load_movielens((root / "ml-1m").string()) == m1.table);
  const std::vector<unsigned char> movies = tg::detail::read_file((root / "ml-1m" / "movies.dat").string(), "test");
  CHECK(std::find(movies.begin(), movies.end(), 0xE9) != movies.end());  // Latin-1 e-acute on disk
  CHECK(std::find(movies.begin(), movies.end(), 0xC3) == movies.end());  // and no UTF-8 lead byte

  o.format = td::MovieLensFormat::ml_100k;
  const td::SyntheticMovieLens m100 = td::write_synthetic_movielens((root / "ml-100k").string(), o);
  CHECK(fs::exists(root / "ml-100k" / "u.genre"));
  const td::MovieLensTable back = td::load_movielens((root / "ml-100k").string());
  CHECK(back == m100.table);
  CHECK(back.genre_names.size() == 19);
  CHECK(back.users[0].occupation.find_first_of("0123456789") == std::string::npos);  // a name, not a code
  bool unknown_set = false;
  for (const auto& m : back.movies) unknown_set = unknown_set || (m.genres & 1u) != 0;
  CHECK_FALSE(unknown_set);  // the genre "unknown" is never drawn
  fs::remove_all(root);
}

TEST_CASE("the generator is seeded", "[data][synthetic]") {
  td::SyntheticMovieLensOptions o;
  o.num_users = 20;
  o.num_movies = 10;
  o.num_ratings = 60;
  const auto a = td::generate_synthetic_movielens(o), b = td::generate_synthetic_movielens(o);
  CHECK(a.table == b.table);
  CHECK(a.score == b.score);
  o.seed = 1;
  CHECK_FALSE(td::generate_synthetic_movielens(o).table == a.table);
}

TEST_CASE("impossible options are errors", "[data][synthetic]") {
  td::SyntheticMovieLensOptions o;
  o.num_users = 10;
  o.num_movies = 10;
  o.num_ratings = 51;
  CHECK_THROWS_AS(td::generate_synthetic_movielens(o), tg::ValueError);
  CHECK_THROWS_WITH(td::generate_synthetic_movielens(o), TG_CONTAINS("51 ratings of 10 users x 10 movies; at most half"));
  o.num_ratings = 50;
  CHECK(td::generate_synthetic_movielens(o).table.size() == 50);
  o.num_users = 0;
  CHECK_THROWS_WITH(td::generate_synthetic_movielens(o), TG_CONTAINS("users and movies must be >= 1"));
}

}  // namespace data_movielens_synthetic_test
