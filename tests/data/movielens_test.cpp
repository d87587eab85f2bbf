// The MovieLens readers: ml-1m and ml-100k parsed from text into hand-checked rows, the model
// inputs (indices through the vocabularies, multi-hot genres, labels), the splits, Latin-1 ->
// UTF-8, the writer's exact bytes, loading from a directory with format detection, and every
// malformed case with its message (file, line, field).
#include "../test_util.hpp"

#include <tapegrad/data/movielens.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace data_movielens_test {

namespace td = tapegrad::data;
using Ids = std::vector<std::int64_t>;

// A tg::IOError whose message contains `text`.
#define MOVIELENS_CHECK_FAILS(expr, text) TG_CHECK_THROWS(expr, tg::IOError, text)

const std::string kUsers = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n";
const std::string kMovies =
    "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Am\xE9lie (2001)::Comedy|Romance\n"
    "3::Heat (1995)::Action|Crime|Thriller\n";
const std::string kRatings =
    "1::1::5::978300760\n1::3::3::978302109\n2::2::4::978301968\n3::1::2::978300275\n3::2::1::978824291\n";

const std::string kUUser = "1|24|M|technician|85711\n2|53|F|other|94043\n";
const std::string kUItem =
    "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "2|Les Mis\xE9rables (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n";
const std::string kUData = "1\t1\t5\t874965758\n2\t2\t3\t888550871\n1\t2\t4\t876893171\n";

td::MovieLensTable sample_1m() { return td::parse_movielens_1m(kUsers, kMovies, kRatings); }

template <typename T>
std::vector<T> values_of(const tg::Tensor<T>& t) { return std::vector<T>(t.data_ptr(), t.data_ptr() + t.numel()); }

TEST_CASE("ml-1m parses into joined rows", "[data][movielens]") {
  const td::MovieLensTable t = sample_1m();
  CHECK(t.format == td::MovieLensFormat::ml_1m);
  CHECK(t.genre_names.size() == 18);
  REQUIRE(t.users.size() == 3);
  CHECK(t.users[1].id == 2);
  CHECK(t.users[1].gender == "M");
  CHECK(t.users[1].age == 56);
  CHECK(t.users[1].occupation == "16");
  CHECK(t.users[1].zip == "70072");
  REQUIRE(t.movies.size() == 3);
  CHECK(t.movies[0].title == "Toy Story (1995)");
  CHECK(t.movies[1].title == "Am\xC3\xA9lie (2001)");  // Latin-1 0xE9 -> UTF-8 C3 A9
  CHECK(t.movies[0].genres == ((1u << 2) | (1u << 3) | (1u << 4)));  // Animation, Children's, Comedy
  CHECK(t.movies[2].genres == ((1u << 0) | (1u << 5) | (1u << 15)));  // Action, Crime, Thriller
  REQUIRE(t.size() == 5);
  CHECK(t.ratings[2].user_id == 2);
  CHECK(t.ratings[2].movie_id == 2);
  CHECK(t.ratings[2].rating == 4);
  CHECK(t.ratings[2].timestamp == 978301968);
  CHECK(t.user_of(3).zip == "55117");
  CHECK(t.movie_of(1).title == "Heat (1995)");
}

TEST_CASE("ml-1m model inputs: indices [N, F], genres [N, G], labels", "[data][movielens]") {
  const td::MovieLensTable t = sample_1m();
  const auto vocab = td::MovieLensVocabularies::adapt(t);
  // By hand: users 1 x2, 3 x2, 2 x1 -> 1, 3, 2; genders M x3, F x2; ages 1 x2, 25 x2, 56;
  // occupations 10, 15, 16; zips 48067, 55117, 70072; movies 1 x2, 2 x2, 3. Index 0 is OOV.
  CHECK(vocab.sizes() == Ids{4, 3, 4, 4, 4, 4});
  const auto x = td::categorical_indices(t, vocab);
  CHECK(x.shape() == tg::Shape{5, 6});
  CHECK(values_of(x) == Ids{1, 2, 1, 1, 1, 1,  //
                            1, 2, 1, 1, 1, 3,  //
                            3, 1, 3, 3, 3, 2,  //
                            2, 1, 2, 2, 2, 1,  //
                            2, 1, 2, 2, 2, 2});
  CHECK(values_of(td::categorical_indices(t, vocab, {"MovieID", "Gender"})) == Ids{1, 2, 3, 2, 2, 1, 1, 1, 2, 1});
  CHECK_THROWS_AS(td::categorical_indices(t, vocab, {"Title"}), tg::ValueError);
  CHECK_THROWS_WITH(td::categorical_indices(t, vocab, {"Title"}), TG_CONTAINS("no field \"Title\"; the categorical fields are"));

  const auto g = td::genres_multi_hot<float>(t);
  CHECK(g.shape() == tg::Shape{5, 18});
  std::vector<float> row1(18, 0.f);  // movie 3: Action, Crime, Thriller
  row1[0] = row1[5] = row1[15] = 1.f;
  const std::vector<float> all = values_of(g);
  CHECK(std::vector<float>(all.begin() + 18, all.begin() + 36) == row1);
  double ones = 0;
  for (float v : all) ones += v;
  CHECK(ones == 3 + 3 + 2 + 3 + 2);
  CHECK(values_of(td::binary_labels<double>(t)) == std::vector<double>{1, 0, 1, 0, 0});
  CHECK(values_of(td::binary_labels<double>(t, 1)) == std::vector<double>{1, 1, 1, 1, 0});
  CHECK(values_of(td::rating_values<float>(t)) == std::vector<float>{5, 3, 4, 2, 1});
}

TEST_CASE("vocabularies adapted on the training rows map unseen users to OOV", "[data][movielens]") {
  const td::MovieLensTable t = sample_1m();
  const auto split = td::split_by_time(t, 0.4);  // test: rows 1 and 4, the two latest
  const auto vocab = td::MovieLensVocabularies::adapt(split.train);  // users 1, 2, 3 once each
  CHECK(vocab.user_id.tokens() == std::vector<std::int64_t>{1, 2, 3});
  CHECK(vocab.movie_id.tokens() == std::vector<std::int64_t>{1, 2});  // movie 3 only in test
  CHECK(values_of(td::categorical_indices(split.test, vocab, {"UserID", "MovieID"})) == Ids{1, 0, 3, 2});
}

TEST_CASE("ml-100k parses, with the standard or a given genre list", "[data][movielens]") {
  const td::MovieLensTable t = td::parse_movielens_100k(kUData, kUUser, kUItem);
  CHECK(t.format == td::MovieLensFormat::ml_100k);
  CHECK(t.genre_names.size() == 19);
  CHECK(t.users[0].age == 24);
  CHECK(t.users[0].occupation == "technician");
  CHECK(t.users[1].gender == "F");
  CHECK(t.movies[1].title == "Les Mis\xC3\xA9rables (1995)");
  CHECK(t.movies[0].release_date == "01-Jan-1995");
  CHECK(t.movies[0].video_release_date.empty());
  CHECK(t.movies[0].imdb_url == "http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)");
  CHECK(t.movies[0].genres == ((1u << 3) | (1u << 4) | (1u << 5)));  // Animation, Children's, Comedy
  CHECK(t.movies[1].genres == (1u << 8));                              // Drama
  REQUIRE(t.size() == 3);
  CHECK(t.ratings[2].user_id == 1);
  CHECK(t.ratings[2].movie_id == 2);
  CHECK(t.ratings[2].rating == 4);
  CHECK(t.ratings[2].timestamp == 876893171);
  CHECK(values_of(td::binary_labels<float>(t)) == std::vector<float>{1, 0, 1});
  const auto g = td::genres_multi_hot<double>(t);
  CHECK(g.shape() == tg::Shape{3, 19});
  CHECK(g.at({2, 8}) == 1.0);
  CHECK(g.at({2, 7}) == 0.0);

  const td::MovieLensTable three = td::parse_movielens_100k("1\t7\t2\t5\n", "1|30|M|other|1\n",
                                                            "7|X|||u|1|0|1\n", std::string_view("a|0\nb|1\nc|2\n\n"));
  CHECK(three.genre_names == std::vector<std::string>{"a", "b", "c"});
  CHECK(three.movies[0].genres == 5u);
}

TEST_CASE("accepted variations: CRLF, no final newline, empty lines at the end, empty files", "[data][movielens]") {
  const auto t = td::parse_movielens_1m("1::F::1::10::48067\r\n", "1::A::Drama\r\n\r\n\n", "1::1::5::978300760");
  CHECK(t.users[0].zip == "48067");
  CHECK(t.movies[0].genres == (1u << 7));
  CHECK(t.ratings[0].timestamp == 978300760);
  CHECK(td::parse_movielens_1m("", "", "").size() == 0);
  CHECK(td::parse_movielens_1m("1::F::1::10::48067\r\r\n", "", "").users[0].zip == "48067");  // every '\r' at a line end
  CHECK(td::parse_movielens_1m("007::M::25::0::1\n", "1::::\n", "").users[0].id == 7);  // empty title and genres
}

TEST_CASE("Latin-1 <-> UTF-8", "[data][movielens]") {
  CHECK(td::latin1_to_utf8("Am\xE9lie") == "Am\xC3\xA9lie");
  CHECK(td::latin1_to_utf8("\x80\xBF\xC0\xFF") == "\xC2\x80\xC2\xBF\xC3\x80\xC3\xBF");
  CHECK(td::latin1_to_utf8("plain") == "plain");
  CHECK(td::utf8_to_latin1("Am\xC3\xA9lie") == std::optional<std::string>("Am\xE9lie"));
  CHECK_FALSE(td::utf8_to_latin1("\xE2\x82\xAC").has_value());  // the euro sign: not in Latin-1
  CHECK_FALSE(td::utf8_to_latin1("\xC3").has_value());          // a cut sequence
  CHECK_FALSE(td::utf8_to_latin1("\xC3(").has_value());
}

TEST_CASE("malformed ml-1m files: each error names file, line and field", "[data][movielens]") {
  const std::string u = kUsers, m = kMovies, r = kRatings;
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m("1::F::1::10::48067\n2::M::56::16\n", m, ""),
                        "movielens: users.dat:2: 4 fields where 5 are expected (UserID::Gender::Age::Occupation::Zip-code)");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m("x1::F::1::10::48067\n", m, ""),
                        "users.dat:1: field 1 (UserID): \"x1\" is not a non-negative integer");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m("1::F::-3::10::48067\n", m, ""), "users.dat:1: field 3 (Age): \"-3\" is not");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m("99999999999999999999::F::1::10::1\n", m, ""),
                        "users.dat:1: field 1 (UserID): \"99999999999999999999\" is too large");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m("0::F::1::10::1\n", m, ""), "users.dat:1: field 1 (UserID): 0 is outside 1..");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m("1::X::1::10::48067\n", m, ""),
                        "users.dat:1: field 2 (Gender): \"X\" is not a gender; expected M or F");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m("1::F::1::21::48067\n", m, ""), "users.dat:1: field 4 (Occupation): 21 is outside 0..20");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u + "1::M::1::0::1\n", m, ""),
                        "users.dat:4: field 1 (UserID): user 1 is defined twice (first on line 1)");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m + "2::Twice::Drama\n", ""),
                        "movies.dat:4: field 1 (MovieID): movie 2 is defined twice (first on line 2)");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, "1::T::Drama|Cartoon\n", ""),
                        "movies.dat:1: field 3 (Genres): \"Cartoon\" is not an ml-1m genre (Action, Adventure");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, "1::A::B::Drama\n", ""), "movies.dat:1: 4 fields where 3 are expected");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::5::978300760\n1::3::6::1\n"),
                        "ratings.dat:2: field 3 (Rating): 6 is outside 1..5");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::0::978300760\n"), "ratings.dat:1: field 3 (Rating): 0 is outside 1..5");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::4.5::978300760\n"),
                        "ratings.dat:1: field 3 (Rating): \"4.5\" is not a non-negative integer");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::5::1\n9::1::5::1\n"),
                        "ratings.dat:2: field 1 (UserID): user 9 is not in users.dat");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::4::5::1\n"), "ratings.dat:1: field 2 (MovieID): movie 4 is not in movies.dat");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::5::1\n2::2::4::7\n1::1::3::9\n"),
                        "ratings.dat:3: field 2 (MovieID): user 1 already rated movie 1 on line 1");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::5::978300760\n1::3"),
                        "ratings.dat:2: the last line stops after 2 of 4 fields (UserID::MovieID::Rating::Timestamp): the file is truncated");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::5::978300760\n1::3\n"), "ratings.dat:2: 2 fields where 4 are expected");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::5::1\n\n2::2::4::7\n"),
                        "ratings.dat:2: the line is empty; blank lines may only end the file");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_1m(u, m, "1::1::5::1::x\n", "/data/ml-1m"),
                        "movielens: /data/ml-1m/ratings.dat:1: 5 fields where 4 are expected");
}

TEST_CASE("malformed ml-100k files: each error names file, line and field", "[data][movielens]") {
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("1 1 5 874965758\n", kUUser, kUItem),
                        "u.data:1: 1 fields where 4 are expected (UserID\tMovieID\tRating\tTimestamp)");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("1\t1\t9\t874965758\n", kUUser, kUItem), "u.data:1: field 3 (Rating): 9 is outside 1..5");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("3\t1\t5\t874965758\n", kUUser, kUItem), "u.data:1: field 1 (UserID): user 3 is not in u.user");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("", "1|24|X|technician|85711\n", kUItem), "u.user:1: field 3 (gender): \"X\" is not a gender");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("", "1|old|M|technician|85711\n", kUItem),
                        "u.user:1: field 2 (age): \"old\" is not a non-negative integer");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("", kUUser, "1|T|||u|2|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"),
                        "u.item:1: field 6 (unknown): 2 is outside 0..1");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("", kUUser, "1|T|||u|0|0\n"), "u.item:1: 7 fields where 24 are expected");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("", kUUser, "1|T|||u|0|1\n", std::string_view("a|0\nb|2\n")),
                        "u.genre:2: field 2 (index): index 2 where 1 comes next");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("", kUUser, "1|T|||u|0|1\n", std::string_view("a|0\na|1\n")),
                        "u.genre:2: field 1 (genre): \"a\" is listed twice");
  MOVIELENS_CHECK_FAILS(td::parse_movielens_100k("", kUUser, "", std::string_view("")), "u.genre:1: no genres");
}

TEST_CASE("the writer gives back the files' exact bytes, and refuses fields that would not read back", "[data][movielens]") {
  const auto files = td::movielens_files(sample_1m());
  REQUIRE(files.size() == 3);
  CHECK(files[0].name == "users.dat");
  CHECK(files[0].bytes == kUsers);
  CHECK(files[1].bytes == kMovies);  // Latin-1 again
  CHECK(files[2].bytes == kRatings);
  const td::MovieLensTable t100 = td::parse_movielens_100k(kUData, kUUser, kUItem);
  const auto f100 = td::movielens_files(t100);
  REQUIRE(f100.size() == 4);
  CHECK(f100[0].bytes == kUData);
  CHECK(f100[1].bytes == kUUser);
  CHECK(f100[2].bytes == kUItem);
  CHECK(f100[3].bytes.substr(0, 19) == "unknown|0\nAction|1\n");
  CHECK(td::parse_movielens_100k(f100[0].bytes, f100[1].bytes, f100[2].bytes, std::string_view(f100[3].bytes)) == t100);

  td::MovieLensTable bad = sample_1m();
  bad.movies[0].title = "A::B";
  MOVIELENS_CHECK_FAILS(td::movielens_files(bad), "write_movielens: title \"A::B\" holds a line break or the separator");
  bad.movies[0].title = "Ends with:";
  MOVIELENS_CHECK_FAILS(td::movielens_files(bad), "would not read back as itself");
  bad.movies[0].title = "Price \xE2\x82\xAC";
  MOVIELENS_CHECK_FAILS(td::movielens_files(bad), "has a character above U+00FF");
}

TEST_CASE("split_random: seeded, the asked fraction, every row once, in order", "[data][movielens]") {
  td::MovieLensTable t = sample_1m();
  const auto a = td::split_random(t, 0.4, 7), b = td::split_random(t, 0.4, 7);
  CHECK(a.test.size() == 2);  // round(0.4 * 5)
  CHECK(a.train.size() == 3);
  CHECK(a.test.ratings == b.test.ratings);
  CHECK(a.train.users == t.users);
  CHECK(a.test.movies == t.movies);
  // Every row in exactly one part, each part in file order (timestamps identify the rows here).
  std::vector<std::int64_t> seen;
  for (const auto& r : a.train.ratings) seen.push_back(r.timestamp);
  for (const auto& r : a.test.ratings) seen.push_back(r.timestamp);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == Ids{978300275, 978300760, 978301968, 978302109, 978824291});
  CHECK(a.test.ratings[0].timestamp != a.test.ratings[1].timestamp);
  // Over seeds, every row lands in test sometimes: the draw is not stuck on the first rows.
  std::vector<int> in_test(5, 0);
  for (std::uint64_t seed = 0; seed < 40; ++seed)
    for (const auto& r : td::split_random(t, 0.4, seed).test.ratings)
      for (std::size_t i = 0; i < 5; ++i) in_test[i] += t.ratings[i].timestamp == r.timestamp;
  for (int c : in_test) CHECK(c > 4);  // 16 expected of 40
  CHECK(td::split_random(t, 0.0, 1).test.size() == 0);
  CHECK(td::split_random(t, 1.0, 1).train.size() == 0);
  CHECK_THROWS_AS(td::split_random(t, 1.5, 1), tg::ValueError);
  CHECK_THROWS_WITH(td::split_random(t, -0.1, 1), TG_CONTAINS("split_random: test_fraction is -0.1; use a value in [0, 1]"));
}

TEST_CASE("split_by_time: the latest ratings are the test part", "[data][movielens]") {
  const auto s = td::split_by_time(sample_1m(), 0.4);
  REQUIRE(s.test.size() == 2);
  CHECK(s.test.ratings[0].timestamp == 978302109);  // rows 1 and 4, in file order
  CHECK(s.test.ratings[1].timestamp == 978824291);
  CHECK(s.train.size() == 3);
  CHECK_THROWS_WITH(td::split_by_time(sample_1m(), 2), TG_CONTAINS("split_by_time: test_fraction is 2"));
}

TEST_CASE("load_movielens detects the format from the files and names the missing ones", "[data][movielens]") {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "tapegrad_movielens_test";
  fs::remove_all(root);
  const auto write = [](const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; };
  fs::create_directories(root / "ml-1m");
  write(root / "ml-1m" / "users.dat", kUsers);
  write(root / "ml-1m" / "movies.dat", kMovies);
  MOVIELENS_CHECK_FAILS(td::load_movielens((root / "ml-1m").string()), "looks like ml-1m but has no ratings.dat");
  write(root / "ml-1m" / "ratings.dat", kRatings);
  CHECK(td::load_movielens((root / "ml-1m").string()) == sample_1m());

  fs::create_directories(root / "ml-100k");
  write(root / "ml-100k" / "u.data", kUData);
  MOVIELENS_CHECK_FAILS(td::load_movielens((root / "ml-100k").string()), "looks like ml-100k but has no u.user, u.item");
  write(root / "ml-100k" / "u.user", kUUser);
  write(root / "ml-100k" / "u.item", kUItem);
  CHECK(td::load_movielens((root / "ml-100k").string()) == td::parse_movielens_100k(kUData, kUUser, kUItem));
  write(root / "ml-100k" / "u.genre", "x|0\n");  // present: used, and u.item must match it
  MOVIELENS_CHECK_FAILS(td::load_movielens((root / "ml-100k").string()), "/u.item:1: 24 fields where 6 are expected");
  write(root / "ml-100k" / "u.data", kUData.substr(0, kUData.size() - 11));
  fs::remove(root / "ml-100k" / "u.genre");
  MOVIELENS_CHECK_FAILS(td::load_movielens((root / "ml-100k").string()), "u.data:3: the last line stops after 3 of 4 fields");

  fs::create_directories(root / "empty");
  MOVIELENS_CHECK_FAILS(td::load_movielens((root / "empty").string()),
                        "no MovieLens files in \"" + (root / "empty").string() + "\": expected users.dat, movies.dat, ratings.dat");
  MOVIELENS_CHECK_FAILS(td::load_movielens((root / "nowhere").string()), "is not a directory");

  td::write_movielens(sample_1m(), (root / "written").string());
  CHECK(td::load_movielens((root / "written").string()) == sample_1m());
  fs::remove_all(root);
}

}  // namespace data_movielens_test
