#pragma once
// The model inputs of the MovieLens examples and of bench/models_bench.cpp, built the same
// way for both: a table read from a directory (a downloaded ml-1m / ml-100k, or synthetic
// files written first when no directory is given), a seeded 80/20 split of the ratings,
// vocabularies adapted on the training split only (a test user never seen in training maps
// to the out-of-vocabulary index 0), then per row:
//   ids     [N, 6]  UserID, Gender, Age, Occupation, Zip-code, MovieID through their vocabularies
//   genres  [N, G]  the movie's genres, multi-hot
//   labels  [N]     rating > 3
#include <tapegrad/data/movielens.hpp>
#include <tapegrad/data/movielens_synthetic.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace example {

template <typename T>
struct MovieLensRows {
  tapegrad::Tensor<std::int64_t> ids;  // [N, 6]
  tapegrad::Tensor<T> genres;          // [N, G]
  tapegrad::Tensor<T> labels;          // [N]
};

template <typename T>
struct MovieLensInputs {
  MovieLensRows<T> train, test;
  std::vector<std::int64_t> field_dims;  // vocabulary sizes, in the columns' order
  std::vector<std::string> field_names;
  std::int64_t genres = 0;
  std::string source;                    // what was read, for the printout
  double bayes_auc = std::numeric_limits<double>::quiet_NaN();  // synthetic data only
};

template <typename T>
MovieLensRows<T> movielens_rows(const tapegrad::data::MovieLensTable& table,
                                const tapegrad::data::MovieLensVocabularies& vocab) {
  return {tapegrad::data::categorical_indices(table, vocab), tapegrad::data::genres_multi_hot<T>(table),
          tapegrad::data::binary_labels<T>(table)};
}

// `dir` empty: synthetic ml-1m files (options) are written to a temporary directory and read
// back through the same reader a downloaded directory goes through.
template <typename T>
MovieLensInputs<T> load_movielens_inputs(const std::string& dir, std::uint64_t split_seed,
                                         const tapegrad::data::SyntheticMovieLensOptions& synthetic = {}) {
  namespace data = tapegrad::data;
  MovieLensInputs<T> out;
  std::string read_from = dir;
  if (dir.empty()) {
    const auto temp = std::filesystem::temp_directory_path() /
                      ("tapegrad-movielens-" + std::to_string(synthetic.seed) + "-" + std::to_string(synthetic.num_ratings));
    read_from = temp.string();
    out.bayes_auc = data::write_synthetic_movielens(read_from, synthetic).bayes_auc;
    out.source = "synthetic ml-1m files (" + std::to_string(synthetic.num_users) + " users, " +
                 std::to_string(synthetic.num_movies) + " movies, " + std::to_string(synthetic.num_ratings) +
                 " ratings) in " + read_from;
  } else {
    out.source = dir;
  }
  const data::MovieLensTable table = data::load_movielens(read_from);
  if (dir.empty()) std::filesystem::remove_all(read_from);
  const data::MovieLensSplit split = data::split_random(table, 0.2, split_seed);
  const auto vocab = data::MovieLensVocabularies::adapt(split.train);
  out.train = movielens_rows<T>(split.train, vocab);
  out.test = movielens_rows<T>(split.test, vocab);
  out.field_names = data::movielens_fields();
  out.field_dims = vocab.sizes(out.field_names);
  out.genres = static_cast<std::int64_t>(table.genre_names.size());
  return out;
}

}  // namespace example
