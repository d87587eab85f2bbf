#pragma once
// Synthetic MovieLens: files in exactly the ml-1m (or ml-100k) format, with a learnable signal.
// MovieLens' licence forbids redistributing the real data, so tests and examples use these.
//
//   auto made = tg::data::write_synthetic_movielens("/tmp/ml-synth");   // 600 users, 400 movies, 60k ratings
//   auto table = tg::data::load_movielens("/tmp/ml-synth");             // == made.table
//   // made.bayes_auc: the AUC of the generator's own noiseless score for "rating > 3" (about 0.85
//   // with the defaults): what no model of these features can beat on average.
//
// The model (every draw from one seeded mt19937_64):
//   score(u, m) = b_u + b_m + <p_u, q_m> + mean over m's genres g of (G[gender_u, g] + A[age_u, g] + O[occ_u, g])
//   rating      = 1 + #{k : score + noise > t_k},  noise ~ N(0, noise_std^2)
// biases b ~ N(0, 0.35^2) (users) and N(0, 0.5^2) (movies); latent factors p, q ~ N(0, 0.45^2 I_k);
// genre preferences per gender, age group and occupation ~ N(0, 0.45^2), N(0, 0.35^2), N(0, 0.3^2).
// The thresholds t_k are the 6%, 17%, 50% and 82% quantiles of the noisy scores, so half of the
// ratings are above 3 (ml-1m: 57%), and the rating histogram resembles ml-1m's. Who rates what:
// user activity and movie popularity are log-normal weights, each (user, movie) pair at most once.
// Some titles have Latin-1 letters (Amélie, Café), so the reader's conversion is exercised.
// Normal draws are Box-Muller from the raw engine output (std::normal_distribution differs
// between standard libraries), so a seed gives the same files everywhere, up to last-bit
// differences of std::log / std::cos between C libraries.

#include "movielens.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace tapegrad::data {

struct SyntheticMovieLensOptions {
  std::int64_t num_users = 600;
  std::int64_t num_movies = 400;
  std::int64_t num_ratings = 60000;  // at most half of num_users * num_movies
  std::uint64_t seed = 0;
  MovieLensFormat format = MovieLensFormat::ml_1m;
  std::int64_t latent_dim = 8;   // k of p_u, q_m
  double noise_std = 0.9;        // the rating noise; larger is harder (a lower bayes_auc)
};

struct SyntheticMovieLens {
  MovieLensTable table;
  std::vector<double> score;  // per rating: the noiseless score (the best possible predictor)
  double bayes_auc = 0;       // AUC of `score` for the labels rating > 3
};

namespace detail {
namespace synthetic {

// Uniform in [0, 1) from the top 53 bits; normal by Box-Muller.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
inline double normal(std::mt19937_64& rng, double std) {
  const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);  // u1 in (0, 1]: log is finite
  return std * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
inline std::vector<double> normals(std::mt19937_64& rng, std::size_t n, double std) {
  std::vector<double> v(n);
  for (double& x : v) x = normal(rng, std);
  return v;
}
// An index drawn with probability proportional to weights (given as their running sums).
inline std::size_t weighted(std::mt19937_64& rng, const std::vector<double>& cumulative) {
  const double r = uniform01(rng) * cumulative.back();
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
  return std::min(static_cast<std::size_t>(it - cumulative.begin()), cumulative.size() - 1);
}
inline std::vector<double> running_sums(const std::vector<double>& w) {
  std::vector<double> c(w.size());
  double s = 0;
  for (std::size_t i = 0; i < w.size(); ++i) c[i] = s += w[i];
  return c;
}

// AUC = (sum of the positives' ranks - n+(n+ + 1)/2) / (n+ n-), ties given their mean rank.
inline double auc(const std::vector<double>& score, const std::vector<bool>& positive) {
  std::vector<std::size_t> order(score.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
  double rank_sum = 0, n_pos = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;  // ranks i+1 .. j
    for (std::size_t k = i; k < j; ++k)
      if (positive[order[k]]) rank_sum += mean_rank, n_pos += 1;
    i = j;
  }
  const double n_neg = static_cast<double>(score.size()) - n_pos;
  if (n_pos == 0 || n_neg == 0) return 0.5;
  return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg);
}

// ml-1m's age codes with their shares in ml-1m, and the years each stands for (for ml-100k).
constexpr std::int64_t kAgeCodes[] = {1, 18, 25, 35, 45, 50, 56};
constexpr double kAgeShares[] = {0.04, 0.18, 0.35, 0.20, 0.09, 0.08, 0.06};
constexpr std::int64_t kAgeFirstYear[] = {10, 18, 25, 35, 45, 50, 56};
constexpr std::int64_t kAgeLastYear[] = {17, 24, 34, 44, 49, 55, 73};
// ml-100k's occupations; occupation code c of the generator is the name kOccupations[c].
inline const char* const kOccupations[] = {
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer",
    "retired", "salesman", "scientist", "student", "technician", "writer"};
constexpr std::size_t kNumOccupations = 21;
// How common each ml-1m genre is (Drama and Comedy most), for drawing a movie's genres.
constexpr double kGenreShares[] = {5, 3, 1, 2, 11, 2, 1, 15, 1, 1, 3, 1, 1, 4, 3, 5, 1, 1};
constexpr std::size_t kNumGenres = 18;
// Title words; every third has a Latin-1 letter (written as UTF-8 here, Latin-1 in the files).
inline const char* const kTitleWords[] = {
    "Amélie", "Night", "River", "Café", "Garden", "Summer", "Señor", "Winter", "Stranger", "Noël", "Kingdom",
    "Shadow", "Garçon", "City", "Dream", "Über", "Heart", "Storm", "Mañana", "Island", "Road", "Déjà Vu",
    "Return", "Fire"};
constexpr std::size_t kNumTitleWords = 24;
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

inline void check(const SyntheticMovieLensOptions& o) {
  if (o.num_users < 1 || o.num_movies < 1 || o.num_ratings < 0 || o.latent_dim < 0 || !(o.noise_std >= 0))
    tapegrad::detail::fail<ValueError>("synthetic_movielens: num_users ", o.num_users, ", num_movies ", o.num_movies, ", num_ratings ",
                     o.num_ratings, ", latent_dim ", o.latent_dim, ", noise_std ", o.noise_std,
                     "; users and movies must be >= 1, the rest >= 0");
  if (o.num_users > 10000000 || o.num_movies > 10000000 || o.num_ratings > o.num_users * o.num_movies / 2)
    tapegrad::detail::fail<ValueError>("synthetic_movielens: ", o.num_ratings, " ratings of ", o.num_users, " users x ", o.num_movies,
                     " movies; at most half of the pairs can be rated (and at most 10^7 users and movies)");
}

struct Latent {
  std::vector<double> user_bias, movie_bias, p, q;  // p, q: [users, k], [movies, k]
  std::vector<double> by_gender, by_age, by_occupation;  // [groups, kNumGenres]
  std::vector<std::size_t> age_group, occupation;  // per user
  std::vector<std::vector<std::size_t>> genres;    // per movie, ml-1m genre numbers
};

inline void make_users(std::mt19937_64& rng, const SyntheticMovieLensOptions& o, MovieLensTable& t, Latent& z) {
  const std::vector<double> age_cum = running_sums(std::vector<double>(std::begin(kAgeShares), std::end(kAgeShares)));
  for (std::int64_t i = 0; i < o.num_users; ++i) {
    MovieLensUser u;
    u.id = i + 1;
    u.gender = uniform01(rng) < 0.72 ? "M" : "F";
    const std::size_t a = weighted(rng, age_cum), c = static_cast<std::size_t>(rng() % kNumOccupations);
    const std::int64_t span = kAgeLastYear[a] - kAgeFirstYear[a] + 1;
    const std::int64_t years = kAgeFirstYear[a] + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span));
    const bool is_1m = o.format == MovieLensFormat::ml_1m;
    u.age = is_1m ? kAgeCodes[a] : years;
    u.occupation = is_1m ? std::to_string(c) : kOccupations[c];
    u.zip = std::to_string(10000 + rng() % 90000);
    z.age_group.push_back(a);
    z.occupation.push_back(c);
    t.users.push_back(u);
  }
}

inline std::string title_of(std::mt19937_64& rng, std::size_t movie) {
  // The first movie always has a Latin-1 letter, so even a tiny data set exercises the conversion.
  const std::size_t first = movie == 0 ? 0 : static_cast<std::size_t>(rng() % kNumTitleWords);
  const std::size_t second = static_cast<std::size_t>(rng() % kNumTitleWords);
  return std::string(uniform01(rng) < 0.3 ? "The " : "") + kTitleWords[first] + " " + kTitleWords[second] + " (" +
         std::to_string(1930 + rng() % 71) + ")";
}

inline void make_movies(std::mt19937_64& rng, const SyntheticMovieLensOptions& o, MovieLensTable& t, Latent& z) {
  const std::vector<double> genre_cum = running_sums(std::vector<double>(std::begin(kGenreShares), std::end(kGenreShares)));
  const bool is_1m = o.format == MovieLensFormat::ml_1m;
  for (std::int64_t i = 0; i < o.num_movies; ++i) {
    MovieLensMovie m;
    m.id = i + 1;
    m.title = title_of(rng, static_cast<std::size_t>(i));
    std::vector<std::size_t> genres;
    const std::size_t count = 1 + static_cast<std::size_t>(rng() % 3);  // 1 to 3 genres
    while (genres.size() < count) {
      const std::size_t g = weighted(rng, genre_cum);
      if (std::find(genres.begin(), genres.end(), g) == genres.end()) genres.push_back(g);
    }
    for (std::size_t g : genres) m.genres |= std::uint64_t(1) << (is_1m ? g : g + 1);  // ml-100k: "unknown" is bit 0
    if (!is_1m) {
      const std::string year = m.title.substr(m.title.size() - 5, 4);
      m.release_date = std::to_string(1 + rng() % 28) + "-" + kMonths[rng() % 12] + "-" + year;
      m.imdb_url = "http://us.imdb.com/M/title-exact?synthetic-" + std::to_string(m.id);
    }
    z.genres.push_back(genres);
    t.movies.push_back(m);
  }
}

inline double noiseless_score(const Latent& z, const MovieLensTable& t, std::size_t u, std::size_t m, std::size_t k) {
  double s = z.user_bias[u] + z.movie_bias[m];
  for (std::size_t d = 0; d < k; ++d) s += z.p[u * k + d] * z.q[m * k + d];
  const std::size_t gender = t.users[u].gender == "M" ? 0 : 1;
  double pref = 0;
  for (std::size_t g : z.genres[m])
    pref += z.by_gender[gender * kNumGenres + g] + z.by_age[z.age_group[u] * kNumGenres + g] +
            z.by_occupation[z.occupation[u] * kNumGenres + g];
  return s + pref / static_cast<double>(z.genres[m].size());
}

// The (user, movie) pairs rated: drawn by activity x popularity, each pair once, sorted by user
// (as ratings.dat is).
inline std::vector<std::pair<std::size_t, std::size_t>> rated_pairs(std::mt19937_64& rng, const SyntheticMovieLensOptions& o) {
  std::vector<double> activity(static_cast<std::size_t>(o.num_users)), popularity(static_cast<std::size_t>(o.num_movies));
  for (double& w : activity) w = std::exp(normal(rng, 0.6));
  for (double& w : popularity) w = std::exp(normal(rng, 0.8));
  const std::vector<double> user_cum = running_sums(activity), movie_cum = running_sums(popularity);
  std::unordered_set<std::uint64_t> seen;
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  const std::int64_t max_draws = 100 * o.num_ratings + 1000;  // a popular pair set fills: fall back to uniform
  for (std::int64_t draw = 0; static_cast<std::int64_t>(pairs.size()) < o.num_ratings; ++draw) {
    const bool skewed = draw < max_draws;
    const std::size_t u = skewed ? weighted(rng, user_cum) : static_cast<std::size_t>(rng() % activity.size());
    const std::size_t m = skewed ? weighted(rng, movie_cum) : static_cast<std::size_t>(rng() % popularity.size());
    if (seen.insert(std::uint64_t(u) * popularity.size() + m).second) pairs.emplace_back(u, m);
  }
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

}  // namespace synthetic
}  // namespace detail

// The data set in memory (write_synthetic_movielens also writes it).
inline SyntheticMovieLens generate_synthetic_movielens(const SyntheticMovieLensOptions& options = {}) {
  namespace syn = detail::synthetic;
  syn::check(options);
  std::mt19937_64 rng(options.seed);
  SyntheticMovieLens out;
  MovieLensTable& t = out.table;
  t.format = options.format;
  t.genre_names = options.format == MovieLensFormat::ml_1m ? movielens_1m_genres() : movielens_100k_genres();
  syn::Latent z;
  syn::make_users(rng, options, t, z);
  syn::make_movies(rng, options, t, z);
  const auto users = static_cast<std::size_t>(options.num_users), movies = static_cast<std::size_t>(options.num_movies);
  const auto k = static_cast<std::size_t>(options.latent_dim);
  z.user_bias = syn::normals(rng, users, 0.35);
  z.movie_bias = syn::normals(rng, movies, 0.5);
  z.p = syn::normals(rng, users * k, 0.45);
  z.q = syn::normals(rng, movies * k, 0.45);
  z.by_gender = syn::normals(rng, 2 * syn::kNumGenres, 0.45);
  z.by_age = syn::normals(rng, 7 * syn::kNumGenres, 0.35);
  z.by_occupation = syn::normals(rng, syn::kNumOccupations * syn::kNumGenres, 0.3);

  const auto pairs = syn::rated_pairs(rng, options);
  std::vector<double> noisy(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    out.score.push_back(syn::noiseless_score(z, t, pairs[i].first, pairs[i].second, k));
    noisy[i] = out.score[i] + syn::normal(rng, options.noise_std);
  }
  // Thresholds at the quantiles of the noisy scores: the shares of ratings 1..5 are 6/11/33/32/18%.
  std::vector<double> sorted = noisy;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> thresholds;
  for (double q : {0.06, 0.17, 0.50, 0.82})
    thresholds.push_back(sorted.empty() ? 0 : sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size()))]);
  std::vector<std::int64_t> user_clock(users);  // each user starts in 2000-2002, then rates every 0-2 days
  for (auto& c : user_clock) c = 956703932 + static_cast<std::int64_t>(rng() % (2 * 365 * 86400));
  std::vector<bool> positive;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    MovieLensRating r;
    r.user_index = pairs[i].first;
    r.movie_index = pairs[i].second;
    r.user_id = t.users[r.user_index].id;
    r.movie_id = t.movies[r.movie_index].id;
    r.rating = 1;
    for (double th : thresholds) r.rating += noisy[i] >= th ? 1 : 0;
    user_clock[r.user_index] += static_cast<std::int64_t>(rng() % (2 * 86400));  // ratings.dat: by user, in time
    r.timestamp = user_clock[r.user_index];
    positive.push_back(r.rating > 3);
    t.ratings.push_back(r);
  }
  out.bayes_auc = syn::auc(out.score, positive);
  return out;
}

// Writes the data set into `dir` (users.dat, movies.dat, ratings.dat; or u.data, u.user, u.item,
// u.genre) and returns it, so a test can compare what load_movielens(dir) reads back.
inline SyntheticMovieLens write_synthetic_movielens(const std::string& dir, const SyntheticMovieLensOptions& options = {}) {
  SyntheticMovieLens made = generate_synthetic_movielens(options);
  write_movielens(made.table, dir);
  return made;
}

}  // namespace tapegrad::data
