#include "test_util.hpp"

namespace core_shape_test {

// Shapes, strides, dimension wrapping and NumPy broadcasting rules (core/shape.hpp).

TEST_CASE("to_string, numel and row-major strides", "[shape]") {
  CHECK(tg::to_string(tg::Shape{2, 3}) == "[2, 3]");
  CHECK(tg::to_string(tg::Shape{}) == "[]");
  CHECK(tg::detail::numel_of({2, 3, 4}) == 24);
  CHECK(tg::detail::numel_of({}) == 1);
  CHECK(tg::detail::numel_of({3, 0}) == 0);
  CHECK(tg::detail::strides_of({2, 3, 4}) == tg::Shape{12, 4, 1});
  CHECK(tg::detail::strides_of({}).empty());
}

TEST_CASE("wrap_dim accepts negative dims and rejects out-of-range ones", "[shape]") {
  CHECK(tg::detail::wrap_dim("op", -1, 3) == 2);
  CHECK(tg::detail::wrap_dim("op", 0, 3) == 0);
  CHECK(tg::detail::wrap_dim("op", -1, 0) == 0);  // a 0-d tensor takes 0 and -1
  REQUIRE_THROWS_AS(tg::detail::wrap_dim("op", 3, 3), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::detail::wrap_dim("sum", -4, 3),
                      TG_CONTAINS("sum: dimension -4 is out of range for a tensor with 3 dimensions (expected a dim "
                                  "in [-3, 2])"));
}

TEST_CASE("broadcasting follows NumPy", "[shape]") {
  using tg::detail::broadcast_shapes;
  CHECK(broadcast_shapes("op", {2, 3}, {3}) == tg::Shape{2, 3});
  CHECK(broadcast_shapes("op", {2, 1}, {1, 4}) == tg::Shape{2, 4});
  CHECK(broadcast_shapes("op", {}, {5, 1}) == tg::Shape{5, 1});
  CHECK(broadcast_shapes("op", {4, 1, 3}, {2, 1}) == tg::Shape{4, 2, 3});
  REQUIRE_THROWS_AS(broadcast_shapes("add", {2, 3}, {4}), tg::ShapeError);
  REQUIRE_THROWS_WITH(broadcast_shapes("add", {2, 3}, {4}),
                      TG_CONTAINS("add: shapes [2, 3] and [4] cannot be broadcast together (dimension 1: 3 vs 4)"));
  CHECK(tg::detail::broadcast_strides({3}, {2, 3}) == tg::Shape{0, 1});
  CHECK(tg::detail::broadcast_strides({2, 1}, {2, 4}) == tg::Shape{1, 0});
  CHECK(tg::detail::broadcastable_to({3}, {2, 3}));
  CHECK(tg::detail::broadcastable_to({1, 3}, {2, 3}));
  CHECK_FALSE(tg::detail::broadcastable_to({2, 3}, {3}));
  CHECK_FALSE(tg::detail::broadcastable_to({2}, {2, 3}));
}

}  // namespace core_shape_test
