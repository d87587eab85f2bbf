#pragma once
// The MovieLens 1M and 100K data sets (GroupLens; the licence forbids redistribution, so the user
// downloads them, and data/movielens_synthetic.hpp writes look-alike files for tests and examples):
//
//   ml-1m    users.dat   UserID::Gender::Age::Occupation::Zip-code      (Age: a code, Occupation: 0..20)
//            movies.dat  MovieID::Title::Genres                         (Genres: Action|Comedy, 18 known)
//            ratings.dat UserID::MovieID::Rating::Timestamp
//   ml-100k  u.data      user \t item \t rating \t timestamp
//            u.user      id|age|gender|occupation|zip
//            u.item      id|title|release date|video release date|IMDb URL| then a 0/1 flag per genre
//            u.genre     name|index, one line per genre (optional; the 19 standard names otherwise)
//
//   auto table = tg::data::load_movielens("ml-1m");                  // the format from the files present
//   auto [train, test] = tg::data::split_random(table, 0.2, /*seed=*/1);
//   auto vocab = tg::data::MovieLensVocabularies::adapt(train);
//   tg::Tensor<std::int64_t> x = tg::data::categorical_indices(train, vocab);   // [N, 6]
//   tg::Tensor<float> genres = tg::data::genres_multi_hot<float>(train);        // [N, G]
//   tg::Tensor<float> y = tg::data::binary_labels<float>(train);                // rating > 3
//
// The table is one row per rating, joined with its user and movie. Titles (and every other text)
// are Latin-1 in the files and UTF-8 in memory. Every problem is a tg::IOError naming the file,
// the line and the field ("movielens: ratings.dat:3: field 3 (Rating): 6 is outside 1..5").
// Accepted as well: "\r\n" line ends, a last line without its newline, empty lines at the end.

#include "../core.hpp"
#include "../io/file.hpp"
#include "vocabulary.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tapegrad::data {

enum class MovieLensFormat { ml_1m, ml_100k };

inline const char* format_name(MovieLensFormat f) { return f == MovieLensFormat::ml_1m ? "ml-1m" : "ml-100k"; }

// The genres of ml-1m's movies.dat, in the order of its README (bit g of a movie's mask).
inline const std::vector<std::string>& movielens_1m_genres() {
  static const std::vector<std::string> names = {"Action",  "Adventure", "Animation", "Children's", "Comedy", "Crime",
                                                 "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical",
                                                 "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"};
  return names;
}
// ml-100k's u.genre: the 19 flags of u.item, "unknown" first.
inline const std::vector<std::string>& movielens_100k_genres() {
  static const std::vector<std::string> names = {"unknown", "Action", "Adventure", "Animation", "Children's",
                                                 "Comedy", "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir",
                                                 "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
                                                 "War", "Western"};
  return names;
}

struct MovieLensUser {
  std::int64_t id = 0;
  std::string gender;      // "M" or "F"
  std::int64_t age = 0;    // ml-1m: the age code (1, 18, 25, 35, 45, 50, 56); ml-100k: years
  std::string occupation;  // ml-1m: the code "0".."20"; ml-100k: the name ("technician")
  std::string zip;
};
struct MovieLensMovie {
  std::int64_t id = 0;
  std::string title;           // UTF-8
  std::uint64_t genres = 0;    // bit g set: the movie has genre_names[g]
  std::string release_date;    // ml-100k only, as written ("01-Jan-1995")
  std::string video_release_date;
  std::string imdb_url;
};
struct MovieLensRating {
  std::int64_t user_id = 0, movie_id = 0, rating = 0, timestamp = 0;
  std::size_t user_index = 0, movie_index = 0;  // the row of users / movies it joins
};

// One row per rating (in the ratings file's order), joined with users and movies.
struct MovieLensTable {
  MovieLensFormat format = MovieLensFormat::ml_1m;
  std::vector<std::string> genre_names;
  std::vector<MovieLensUser> users;    // in file order
  std::vector<MovieLensMovie> movies;  // in file order
  std::vector<MovieLensRating> ratings;

  std::int64_t size() const { return static_cast<std::int64_t>(ratings.size()); }
  const MovieLensUser& user_of(std::size_t row) const { return users[ratings[row].user_index]; }
  const MovieLensMovie& movie_of(std::size_t row) const { return movies[ratings[row].movie_index]; }
};

inline bool operator==(const MovieLensUser& a, const MovieLensUser& b) {
  return a.id == b.id && a.gender == b.gender && a.age == b.age && a.occupation == b.occupation && a.zip == b.zip;
}
inline bool operator==(const MovieLensMovie& a, const MovieLensMovie& b) {
  return a.id == b.id && a.title == b.title && a.genres == b.genres && a.release_date == b.release_date &&
         a.video_release_date == b.video_release_date && a.imdb_url == b.imdb_url;
}
inline bool operator==(const MovieLensRating& a, const MovieLensRating& b) {
  return a.user_id == b.user_id && a.movie_id == b.movie_id && a.rating == b.rating && a.timestamp == b.timestamp &&
         a.user_index == b.user_index && a.movie_index == b.movie_index;
}
inline bool operator==(const MovieLensTable& a, const MovieLensTable& b) {
  return a.format == b.format && a.genre_names == b.genre_names && a.users == b.users && a.movies == b.movies &&
         a.ratings == b.ratings;
}

// ---- text ----

// Latin-1 (ISO 8859-1) to UTF-8: byte b is code point U+00bb, two bytes from 0x80 on.
inline std::string latin1_to_utf8(std::string_view latin1) {
  std::string out;
  out.reserve(latin1.size());
  for (unsigned char b : latin1) {
    if (b < 0x80) {
      out += static_cast<char>(b);
    } else {
      out += static_cast<char>(0xC0 | (b >> 6));
      out += static_cast<char>(0x80 | (b & 0x3F));
    }
  }
  return out;
}

// UTF-8 to Latin-1; std::nullopt when the text has a code point above U+00FF or is not UTF-8.
inline std::optional<std::string> utf8_to_latin1(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const unsigned char b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      continue;
    }
    // U+0080..U+00FF are 110000xx 10xxxxxx: lead byte 0xC2 or 0xC3.
    if ((b != 0xC2 && b != 0xC3) || i + 1 >= utf8.size()) return std::nullopt;
    const unsigned char c = static_cast<unsigned char>(utf8[++i]);
    if ((c & 0xC0) != 0x80) return std::nullopt;
    out += static_cast<char>(((b & 0x03) << 6) | (c & 0x3F));
  }
  return out;
}

namespace detail {
namespace movielens {

// One file being parsed: its name for messages and its bytes.
struct Source {
  std::string name;
  std::string_view text;
};

// The fields of one line, and where it is.
struct Record {
  const Source* source = nullptr;
  std::size_t line = 0;
  const std::vector<const char*>* names = nullptr;  // field names, for messages
  std::vector<std::string_view> fields;
};

[[noreturn]] inline void fail_line(const Source& s, std::size_t line, const std::string& problem) {
  throw IOError("movielens: " + s.name + ":" + std::to_string(line) + ": " + problem);
}
[[noreturn]] inline void fail_field(const Record& r, std::size_t field, const std::string& problem) {
  fail_line(*r.source, r.line,
            "field " + std::to_string(field + 1) + " (" + (*r.names)[field] + "): " + problem);
}

// A field as text in messages: quoted, and cut short (a corrupt file may hold a long "field").
inline std::string quote(std::string_view field) {
  const std::size_t keep = 40;
  std::string shown = latin1_to_utf8(field.substr(0, keep));
  return "\"" + shown + (field.size() > keep ? "...\"" : "\"");
}

inline std::string joined(const std::vector<const char*>& names, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? std::string(separator) : "") + names[i];
  return out;
}

// Leftmost splitting, as the files are written: "a::b::c" -> a, b, c.
inline std::vector<std::string_view> split(std::string_view line, std::string_view separator) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = line.find(separator, start);
    if (at == std::string_view::npos) break;
    fields.push_back(line.substr(start, at - start));
    start = at + separator.size();
  }
  fields.push_back(line.substr(start));
  return fields;
}

// Calls each(record) for every line of the file, split into `names.size()` fields. Empty lines
// may only end the file; a last line without "\n" is fine if it is whole, and a truncated record
// when it has too few fields.
template <typename Each>
void for_each_record(const Source& s, std::string_view separator, const std::vector<const char*>& names, Each each) {
  std::size_t end = s.text.size();
  while (end > 0 && (s.text[end - 1] == '\n' || s.text[end - 1] == '\r')) --end;
  const bool ends_with_newline = s.text.find('\n', end) != std::string_view::npos;
  const std::string_view body = s.text.substr(0, end);
  std::size_t start = 0, line = 0;
  while (start < body.size()) {  // body does not end with '\n', so its last line is read too
    const std::size_t nl = std::min(body.find('\n', start), body.size());
    std::string_view text = body.substr(start, nl - start);
    const bool last = nl == body.size();
    start = nl + 1;
    ++line;
    while (!text.empty() && text.back() == '\r') text.remove_suffix(1);  // "\r\n" ends, even doubled
    if (text.empty()) fail_line(s, line, "the line is empty; blank lines may only end the file");
    Record r{&s, line, &names, split(text, separator)};
    if (r.fields.size() < names.size() && last && !ends_with_newline)
      fail_line(s, line, "the last line stops after " + std::to_string(r.fields.size()) + " of " +
                             std::to_string(names.size()) + " fields (" + joined(names, separator) +
                             "): the file is truncated; download it again");
    if (r.fields.size() != names.size())
      fail_line(s, line, std::to_string(r.fields.size()) + " fields where " + std::to_string(names.size()) +
                             " are expected (" + joined(names, separator) + ")");
    each(r);
  }
}

// A decimal integer in [min, max]: digits only (no sign, no spaces), checked for overflow.
inline std::int64_t integer(const Record& r, std::size_t field, std::int64_t min, std::int64_t max) {
  const std::string_view f = r.fields[field];
  if (f.empty() || f.find_first_not_of("0123456789") != std::string_view::npos)
    fail_field(r, field, quote(f) + " is not a non-negative integer");
  std::int64_t v = 0;
  for (char c : f) {
    const int digit = c - '0';
    if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
      fail_field(r, field, quote(f) + " is too large (the limit is " + std::to_string(max) + ")");
    v = v * 10 + digit;
  }
  if (v < min || v > max)
    fail_field(r, field, std::to_string(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
  return v;
}
constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

inline std::string gender(const Record& r, std::size_t field) {
  const std::string_view f = r.fields[field];
  if (f != "M" && f != "F") fail_field(r, field, quote(f) + " is not a gender; expected M or F");
  return std::string(f);
}

// Remembers the line of each id, so that a second definition names the first.
class IdIndex {
 public:
  std::size_t add(const Record& r, std::size_t field, std::int64_t id, const char* what) {
    const auto [it, fresh] = rows_.emplace(id, Entry{rows_.size(), r.line});
    if (!fresh)
      fail_field(r, field, std::string(what) + " " + std::to_string(id) + " is defined twice (first on line " +
                               std::to_string(it->second.line) + "); each id must appear once");
    return it->second.row;
  }
  std::optional<std::size_t> find(std::int64_t id) const {
    const auto it = rows_.find(id);
    if (it == rows_.end()) return std::nullopt;
    return it->second.row;
  }

 private:
  struct Entry {
    std::size_t row, line;
  };
  std::unordered_map<std::int64_t, Entry> rows_;
};

// ---- ml-1m ----

inline void parse_users_1m(const Source& s, MovieLensTable& t, IdIndex& ids) {
  static const std::vector<const char*> names = {"UserID", "Gender", "Age", "Occupation", "Zip-code"};
  for_each_record(s, "::", names, [&](const Record& r) {
    MovieLensUser u;
    u.id = integer(r, 0, 1, kMaxId);
    u.gender = gender(r, 1);
    u.age = integer(r, 2, 0, 200);
    u.occupation = std::to_string(integer(r, 3, 0, 20));
    u.zip = latin1_to_utf8(r.fields[4]);
    ids.add(r, 0, u.id, "user");
    t.users.push_back(std::move(u));
  });
}

// "Action|Comedy" -> the bits of those genres; each must be one of `genres`.
inline std::uint64_t genre_mask(const Record& r, std::size_t field, const std::vector<std::string>& genres) {
  std::uint64_t mask = 0;
  if (r.fields[field].empty()) return mask;
  for (std::string_view g : split(r.fields[field], "|")) {
    const auto it = std::find(genres.begin(), genres.end(), g);
    if (it == genres.end())
      fail_field(r, field, quote(g) + " is not an ml-1m genre (" + [&] {
        std::string all;
        for (const auto& n : genres) all += (all.empty() ? "" : ", ") + n;
        return all;
      }() + ")");
    mask |= std::uint64_t(1) << (it - genres.begin());
  }
  return mask;
}

inline void parse_movies_1m(const Source& s, MovieLensTable& t, IdIndex& ids) {
  static const std::vector<const char*> names = {"MovieID", "Title", "Genres"};
  for_each_record(s, "::", names, [&](const Record& r) {
    MovieLensMovie m;
    m.id = integer(r, 0, 1, kMaxId);
    m.title = latin1_to_utf8(r.fields[1]);
    m.genres = genre_mask(r, 2, t.genre_names);
    ids.add(r, 0, m.id, "movie");
    t.movies.push_back(std::move(m));
  });
}

// Joins each rating to its user and movie; a (user, movie) pair rated twice is an error.
inline void parse_ratings(const Source& s, std::string_view separator, const Source& users, const Source& movies,
                          MovieLensTable& t, const IdIndex& user_ids, const IdIndex& movie_ids) {
  static const std::vector<const char*> names = {"UserID", "MovieID", "Rating", "Timestamp"};
  std::unordered_map<std::uint64_t, std::size_t> rated;  // user_index * movies + movie_index -> line
  for_each_record(s, separator, names, [&](const Record& r) {
    MovieLensRating x;
    x.user_id = integer(r, 0, 1, kMaxId);
    x.movie_id = integer(r, 1, 1, kMaxId);
    x.rating = integer(r, 2, 1, 5);
    x.timestamp = integer(r, 3, 0, kMaxId);
    const auto u = user_ids.find(x.user_id);
    if (!u) fail_field(r, 0, "user " + std::to_string(x.user_id) + " is not in " + users.name);
    const auto m = movie_ids.find(x.movie_id);
    if (!m) fail_field(r, 1, "movie " + std::to_string(x.movie_id) + " is not in " + movies.name);
    x.user_index = *u;
    x.movie_index = *m;
    const auto [it, fresh] = rated.emplace(std::uint64_t(*u) * t.movies.size() + *m, r.line);
    if (!fresh)
      fail_field(r, 1, "user " + std::to_string(x.user_id) + " already rated movie " + std::to_string(x.movie_id) +
                           " on line " + std::to_string(it->second) + "; each pair is rated once");
    t.ratings.push_back(x);
  });
}

// ---- ml-100k ----

inline void parse_users_100k(const Source& s, MovieLensTable& t, IdIndex& ids) {
  static const std::vector<const char*> names = {"user id", "age", "gender", "occupation", "zip code"};
  for_each_record(s, "|", names, [&](const Record& r) {
    MovieLensUser u;
    u.id = integer(r, 0, 1, kMaxId);
    u.age = integer(r, 1, 0, 200);
    u.gender = gender(r, 2);
    u.occupation = latin1_to_utf8(r.fields[3]);
    u.zip = latin1_to_utf8(r.fields[4]);
    ids.add(r, 0, u.id, "user");
    t.users.push_back(std::move(u));
  });
}

// u.genre: "name|index" lines, the indices 0, 1, 2, ... in order.
inline std::vector<std::string> parse_genres_100k(const Source& s) {
  static const std::vector<const char*> names = {"genre", "index"};
  std::vector<std::string> genres;
  for_each_record(s, "|", names, [&](const Record& r) {
    const std::int64_t index = integer(r, 1, 0, 63);
    if (index != static_cast<std::int64_t>(genres.size()))
      fail_field(r, 1, "index " + std::to_string(index) + " where " + std::to_string(genres.size()) +
                           " comes next; list the genres as 0, 1, 2, ... (at most 64)");
    std::string name = latin1_to_utf8(r.fields[0]);
    if (name.empty()) fail_field(r, 0, "the genre name is empty");
    if (std::find(genres.begin(), genres.end(), name) != genres.end())
      fail_field(r, 0, quote(r.fields[0]) + " is listed twice");
    genres.push_back(std::move(name));
  });
  if (genres.empty()) fail_line(s, 1, "no genres; the file lists one \"name|index\" line per genre");
  return genres;
}

inline void parse_movies_100k(const Source& s, MovieLensTable& t, IdIndex& ids) {
  std::vector<std::string> owned = {"movie id", "movie title", "release date", "video release date", "IMDb URL"};
  for (const auto& g : t.genre_names) owned.push_back(g);
  std::vector<const char*> names;
  for (const auto& n : owned) names.push_back(n.c_str());
  for_each_record(s, "|", names, [&](const Record& r) {
    MovieLensMovie m;
    m.id = integer(r, 0, 1, kMaxId);
    m.title = latin1_to_utf8(r.fields[1]);
    m.release_date = latin1_to_utf8(r.fields[2]);
    m.video_release_date = latin1_to_utf8(r.fields[3]);
    m.imdb_url = latin1_to_utf8(r.fields[4]);
    for (std::size_t g = 0; g < t.genre_names.size(); ++g)
      if (integer(r, 5 + g, 0, 1) == 1) m.genres |= std::uint64_t(1) << g;
    ids.add(r, 0, m.id, "movie");
    t.movies.push_back(std::move(m));
  });
}

inline std::string in_dir(const std::string& dir, const char* file) { return dir.empty() ? file : dir + "/" + file; }

}  // namespace movielens
}  // namespace detail

// ---- parsing from text (what load_movielens does after reading the files) ----

// `dir` only prefixes the file names in messages.
inline MovieLensTable parse_movielens_1m(std::string_view users_dat, std::string_view movies_dat,
                                         std::string_view ratings_dat, const std::string& dir = "") {
  namespace ml = detail::movielens;
  const ml::Source users{ml::in_dir(dir, "users.dat"), users_dat}, movies{ml::in_dir(dir, "movies.dat"), movies_dat},
      ratings{ml::in_dir(dir, "ratings.dat"), ratings_dat};
  MovieLensTable t;
  t.format = MovieLensFormat::ml_1m;
  t.genre_names = movielens_1m_genres();
  ml::IdIndex user_ids, movie_ids;
  ml::parse_users_1m(users, t, user_ids);
  ml::parse_movies_1m(movies, t, movie_ids);
  ml::parse_ratings(ratings, "::", users, movies, t, user_ids, movie_ids);
  return t;
}

// u_genre: the text of u.genre, or std::nullopt for the 19 standard genres.
inline MovieLensTable parse_movielens_100k(std::string_view u_data, std::string_view u_user, std::string_view u_item,
                                           std::optional<std::string_view> u_genre = std::nullopt,
                                           const std::string& dir = "") {
  namespace ml = detail::movielens;
  const ml::Source data{ml::in_dir(dir, "u.data"), u_data}, users{ml::in_dir(dir, "u.user"), u_user},
      items{ml::in_dir(dir, "u.item"), u_item};
  MovieLensTable t;
  t.format = MovieLensFormat::ml_100k;
  t.genre_names = u_genre ? ml::parse_genres_100k({ml::in_dir(dir, "u.genre"), *u_genre}) : movielens_100k_genres();
  ml::IdIndex user_ids, movie_ids;
  ml::parse_users_100k(users, t, user_ids);
  ml::parse_movies_100k(items, t, movie_ids);
  ml::parse_ratings(data, "\t", users, items, t, user_ids, movie_ids);
  return t;
}

// ---- files ----

namespace detail {
namespace movielens {

inline bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}
inline std::string read_text(const std::string& path) {
  const std::vector<unsigned char> bytes = tapegrad::detail::read_file(path, "load_movielens");
  return std::string(bytes.begin(), bytes.end());
}
// The files of `files` that `dir` lacks, as "a, b".
inline std::string missing(const std::string& dir, const std::vector<const char*>& files) {
  std::string out;
  for (const char* f : files)
    if (!is_file(in_dir(dir, f))) out += (out.empty() ? "" : ", ") + std::string(f);
  return out;
}

}  // namespace movielens
}  // namespace detail

// Reads the ml-1m or ml-100k files in `dir` (the unpacked download), whichever are present.
inline MovieLensTable load_movielens(const std::string& dir) {
  namespace ml = detail::movielens;
  const std::vector<const char*> files_1m = {"users.dat", "movies.dat", "ratings.dat"};
  const std::vector<const char*> files_100k = {"u.data", "u.user", "u.item"};
  const std::string missing_1m = ml::missing(dir, files_1m), missing_100k = ml::missing(dir, files_100k);
  if (missing_1m.empty())
    return parse_movielens_1m(ml::read_text(ml::in_dir(dir, "users.dat")), ml::read_text(ml::in_dir(dir, "movies.dat")),
                              ml::read_text(ml::in_dir(dir, "ratings.dat")), dir);
  if (missing_100k.empty()) {
    const std::string data = ml::read_text(ml::in_dir(dir, "u.data")), users = ml::read_text(ml::in_dir(dir, "u.user")),
                      items = ml::read_text(ml::in_dir(dir, "u.item"));
    if (!ml::is_file(ml::in_dir(dir, "u.genre"))) return parse_movielens_100k(data, users, items, std::nullopt, dir);
    const std::string genres = ml::read_text(ml::in_dir(dir, "u.genre"));
    return parse_movielens_100k(data, users, items, std::string_view(genres), dir);
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw IOError("load_movielens: \"" + dir + "\" is not a directory; pass the folder unpacked from ml-1m.zip or ml-100k.zip");
  // Some files of one format: name the ones missing. (Whole lists mean none of that format.)
  if (missing_1m != "users.dat, movies.dat, ratings.dat")
    throw IOError("load_movielens: \"" + dir + "\" looks like ml-1m but has no " + missing_1m + "; unpack ml-1m.zip again");
  if (missing_100k != "u.data, u.user, u.item")
    throw IOError("load_movielens: \"" + dir + "\" looks like ml-100k but has no " + missing_100k + "; unpack ml-100k.zip again");
  throw IOError("load_movielens: no MovieLens files in \"" + dir +
                "\": expected users.dat, movies.dat, ratings.dat (ml-1m) or u.data, u.user, u.item (ml-100k)");
}

// ---- writing (the synthetic generator's files, and round trips) ----

struct MovieLensFile {
  std::string name;   // "users.dat", "u.item", ...
  std::string bytes;  // Latin-1 text, "\n" line ends
};

namespace detail {
namespace movielens {

// A field as Latin-1, checked to read back as itself: no line break, no separator, and (for
// "::") no ':' at the end of a field that another follows, which would move the split.
inline std::string field_out(const std::string& utf8, std::string_view separator, bool last, const char* what) {
  const std::optional<std::string> latin1 = utf8_to_latin1(utf8);
  if (!latin1) throw IOError(std::string("write_movielens: ") + what + " \"" + utf8 + "\" has a character above U+00FF (or is not UTF-8); MovieLens files are Latin-1");
  const bool breaks = latin1->find_first_of("\n") != std::string::npos || latin1->find(separator) != std::string::npos ||
                      (!last && separator == "::" && !latin1->empty() && latin1->back() == ':') ||
                      (last && !latin1->empty() && latin1->back() == '\r');
  if (breaks)
    throw IOError(std::string("write_movielens: ") + what + " \"" + utf8 + "\" holds a line break or the separator \"" +
                  std::string(separator) + "\", so it would not read back as itself");
  return *latin1;
}

inline std::string genre_list(const MovieLensTable& t, std::uint64_t mask) {
  std::string out;
  for (std::size_t g = 0; g < t.genre_names.size(); ++g)
    if (mask >> g & 1) out += (out.empty() ? "" : "|") + t.genre_names[g];
  return out;
}

inline void check_genres(const MovieLensTable& t) {
  if (t.genre_names.size() > 64) throw IOError("write_movielens: more than 64 genres");
  for (const auto& m : t.movies)
    if (t.genre_names.size() < 64 && m.genres >> t.genre_names.size() != 0)
      throw IOError("write_movielens: movie " + std::to_string(m.id) + " has a genre bit beyond the " +
                    std::to_string(t.genre_names.size()) + " genre names");
}

inline std::vector<MovieLensFile> files_1m(const MovieLensTable& t) {
  std::string users, movies, ratings;
  for (const auto& u : t.users)
    users += std::to_string(u.id) + "::" + field_out(u.gender, "::", false, "gender") + "::" + std::to_string(u.age) +
             "::" + field_out(u.occupation, "::", false, "occupation") + "::" + field_out(u.zip, "::", true, "zip") + "\n";
  for (const auto& m : t.movies)
    movies += std::to_string(m.id) + "::" + field_out(m.title, "::", false, "title") + "::" +
              field_out(genre_list(t, m.genres), "::", true, "genres") + "\n";
  for (const auto& r : t.ratings)
    ratings += std::to_string(r.user_id) + "::" + std::to_string(r.movie_id) + "::" + std::to_string(r.rating) + "::" +
               std::to_string(r.timestamp) + "\n";
  return {{"users.dat", users}, {"movies.dat", movies}, {"ratings.dat", ratings}};
}

inline std::vector<MovieLensFile> files_100k(const MovieLensTable& t) {
  std::string users, items, data, genres;
  for (const auto& u : t.users)
    users += std::to_string(u.id) + "|" + std::to_string(u.age) + "|" + field_out(u.gender, "|", false, "gender") + "|" +
             field_out(u.occupation, "|", false, "occupation") + "|" + field_out(u.zip, "|", true, "zip") + "\n";
  for (const auto& m : t.movies) {
    items += std::to_string(m.id) + "|" + field_out(m.title, "|", false, "title") + "|" +
             field_out(m.release_date, "|", false, "release date") + "|" +
             field_out(m.video_release_date, "|", false, "video release date") + "|" +
             field_out(m.imdb_url, "|", false, "IMDb URL");
    for (std::size_t g = 0; g < t.genre_names.size(); ++g) items += (m.genres >> g & 1) ? "|1" : "|0";
    items += "\n";
  }
  for (const auto& r : t.ratings)
    data += std::to_string(r.user_id) + "\t" + std::to_string(r.movie_id) + "\t" + std::to_string(r.rating) + "\t" +
            std::to_string(r.timestamp) + "\n";
  for (std::size_t g = 0; g < t.genre_names.size(); ++g)
    genres += field_out(t.genre_names[g], "|", false, "genre") + "|" + std::to_string(g) + "\n";
  return {{"u.data", data}, {"u.user", users}, {"u.item", items}, {"u.genre", genres}};
}

}  // namespace movielens
}  // namespace detail

// The files of `table` in its format, as the data set writes them.
inline std::vector<MovieLensFile> movielens_files(const MovieLensTable& table) {
  detail::movielens::check_genres(table);
  return table.format == MovieLensFormat::ml_1m ? detail::movielens::files_1m(table)
                                                : detail::movielens::files_100k(table);
}

// Writes them into `dir` (created if needed), each file atomically.
inline void write_movielens(const MovieLensTable& table, const std::string& dir) {
  const std::vector<MovieLensFile> files = movielens_files(table);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IOError("write_movielens: cannot create the directory \"" + dir + "\": " + ec.message());
  for (const auto& f : files)
    tapegrad::detail::write_file_atomically(std::vector<unsigned char>(f.bytes.begin(), f.bytes.end()),
                                  detail::movielens::in_dir(dir, f.name.c_str()), "write_movielens");
}

// ---- model inputs ----

// The categorical fields, in the default order of categorical_indices' columns.
inline const std::vector<std::string>& movielens_fields() {
  static const std::vector<std::string> fields = {"UserID", "Gender", "Age", "Occupation", "Zip-code", "MovieID"};
  return fields;
}

// One vocabulary per categorical field.
struct MovieLensVocabularies {
  IntegerLookup user_id, age, movie_id;
  StringLookup gender, occupation, zip;

  // Adapted on the rows of `table` (count = number of ratings, so frequent users and movies come
  // first). Adapt on the training split: a test user never seen in training maps to OOV.
  static MovieLensVocabularies adapt(const MovieLensTable& table, const VocabularyOptions& options = {}) {
    std::vector<std::int64_t> users, ages, movies;
    std::vector<std::string> genders, occupations, zips;
    for (std::size_t i = 0; i < table.ratings.size(); ++i) {
      const MovieLensUser& u = table.user_of(i);
      users.push_back(u.id);
      ages.push_back(u.age);
      movies.push_back(table.ratings[i].movie_id);
      genders.push_back(u.gender);
      occupations.push_back(u.occupation);
      zips.push_back(u.zip);
    }
    MovieLensVocabularies v;
    v.user_id = IntegerLookup::adapt(users, options, "UserID");
    v.gender = StringLookup::adapt(genders, options, "Gender");
    v.age = IntegerLookup::adapt(ages, options, "Age");
    v.occupation = StringLookup::adapt(occupations, options, "Occupation");
    v.zip = StringLookup::adapt(zips, options, "Zip-code");
    v.movie_id = IntegerLookup::adapt(movies, options, "MovieID");
    return v;
  }

  // The vocabulary size (embedding rows) of each field, in the order given.
  std::vector<std::int64_t> sizes(const std::vector<std::string>& fields = movielens_fields()) const {
    std::vector<std::int64_t> out;
    for (const auto& f : fields) out.push_back(size(f));
    return out;
  }
  std::int64_t size(const std::string& field) const {
    if (field == "UserID") return user_id.size();
    if (field == "Gender") return gender.size();
    if (field == "Age") return age.size();
    if (field == "Occupation") return occupation.size();
    if (field == "Zip-code") return zip.size();
    if (field == "MovieID") return movie_id.size();
    unknown_field(field);
  }
  // The index of `field` for row `row` of `table`.
  std::int64_t index(const MovieLensTable& table, std::size_t row, const std::string& field) const {
    const MovieLensUser& u = table.user_of(row);
    if (field == "UserID") return user_id.index(u.id);
    if (field == "Gender") return gender.index(u.gender);
    if (field == "Age") return age.index(u.age);
    if (field == "Occupation") return occupation.index(u.occupation);
    if (field == "Zip-code") return zip.index(u.zip);
    if (field == "MovieID") return movie_id.index(table.ratings[row].movie_id);
    unknown_field(field);
  }

 private:
  [[noreturn]] static void unknown_field(const std::string& field) {
    tapegrad::detail::fail<ValueError>("MovieLensVocabularies: no field \"", field,
                             "\"; the categorical fields are UserID, Gender, Age, Occupation, Zip-code, MovieID");
  }
};

// [N, F]: column f holds fields[f] of each row through its vocabulary.
inline Tensor<std::int64_t> categorical_indices(const MovieLensTable& table, const MovieLensVocabularies& vocab,
                                                const std::vector<std::string>& fields = movielens_fields()) {
  for (const auto& f : fields) vocab.size(f);  // an unknown name fails before any work
  std::vector<std::int64_t> ids;
  ids.reserve(table.ratings.size() * fields.size());
  for (std::size_t i = 0; i < table.ratings.size(); ++i)
    for (const auto& f : fields) ids.push_back(vocab.index(table, i, f));
  return from_vector(ids, {table.size(), static_cast<std::int64_t>(fields.size())});
}

// [N, G]: 1 where the row's movie has genre g (table.genre_names[g]), else 0.
template <typename T>
Tensor<T> genres_multi_hot(const MovieLensTable& table) {
  const std::size_t g = table.genre_names.size();
  std::vector<T> hot(table.ratings.size() * g, T(0));
  for (std::size_t i = 0; i < table.ratings.size(); ++i)
    for (std::size_t k = 0; k < g && k < 64; ++k)
      if (table.movie_of(i).genres >> k & 1) hot[i * g + k] = T(1);
  return from_vector(hot, {table.size(), static_cast<std::int64_t>(g)});
}

// [N]: 1 where the rating is above `threshold` (the usual CTR-style label: rating > 3), else 0.
template <typename T>
Tensor<T> binary_labels(const MovieLensTable& table, std::int64_t threshold = 3) {
  std::vector<T> y(table.ratings.size());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = table.ratings[i].rating > threshold ? T(1) : T(0);
  return from_vector(y, {table.size()});
}

// [N]: the raw rating 1..5 (for regression).
template <typename T>
Tensor<T> rating_values(const MovieLensTable& table) {
  std::vector<T> y(table.ratings.size());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<T>(table.ratings[i].rating);
  return from_vector(y, {table.size()});
}

// ---- splits ----

struct MovieLensSplit {
  MovieLensTable train, test;
};

namespace detail {
namespace movielens {

inline void check_fraction(const char* op, double test_fraction) {
  if (!(test_fraction >= 0.0 && test_fraction <= 1.0))
    tapegrad::detail::fail<ValueError>(op, ": test_fraction is ", test_fraction, "; use a value in [0, 1]");
}

// The table's rows split by `in_test`, each part in the table's order.
inline MovieLensSplit split_rows(const MovieLensTable& table, const std::vector<bool>& in_test) {
  MovieLensTable empty;
  empty.format = table.format;
  empty.genre_names = table.genre_names;
  empty.users = table.users;
  empty.movies = table.movies;
  MovieLensSplit s{empty, std::move(empty)};
  for (std::size_t i = 0; i < table.ratings.size(); ++i) (in_test[i] ? s.test : s.train).ratings.push_back(table.ratings[i]);
  return s;
}

}  // namespace movielens
}  // namespace detail

// round(test_fraction * N) rows, drawn uniformly with `seed`, go to test; the same seed gives the
// same split on every platform. Both parts keep the users and movies and the rows' order.
inline MovieLensSplit split_random(const MovieLensTable& table, double test_fraction, std::uint64_t seed) {
  detail::movielens::check_fraction("split_random", test_fraction);
  const std::size_t n = table.ratings.size();
  const auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  // Fisher-Yates, only as far as the test rows need.
  for (std::size_t i = 0; i < n_test; ++i) std::swap(order[i], order[i + tapegrad::detail::uniform_below(rng, n - i)]);
  std::vector<bool> in_test(n, false);
  for (std::size_t i = 0; i < n_test; ++i) in_test[order[i]] = true;
  return detail::movielens::split_rows(table, in_test);
}

// The latest round(test_fraction * N) ratings (by timestamp, ties by file order) go to test:
// a model is evaluated on the future of what it was trained on.
inline MovieLensSplit split_by_time(const MovieLensTable& table, double test_fraction) {
  detail::movielens::check_fraction("split_by_time", test_fraction);
  const std::size_t n = table.ratings.size();
  const auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return table.ratings[a].timestamp < table.ratings[b].timestamp; });
  std::vector<bool> in_test(n, false);
  for (std::size_t i = n - n_test; i < n; ++i) in_test[order[i]] = true;
  return detail::movielens::split_rows(table, in_test);
}

}  // namespace tapegrad::data
