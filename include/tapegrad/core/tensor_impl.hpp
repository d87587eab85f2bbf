#pragma once
// TensorImpl: the shared state behind Tensor handles. Kept separate from the handle
// so Node and the engine can refer to it without the full op surface.

#include <cstdint>
#include <memory>

#include "shape.hpp"
#include "storage.hpp"

namespace tapegrad {

template <typename T>
class Node;
template <typename T>
class Tensor;
class RemovableHandle;  // core/hooks.hpp
namespace detail {
template <typename T>
class HookList;
// A leaf's hooks, behind one pointer: TensorImpl grows by 8 bytes, not 16. At 128
// bytes (plus make_shared's control block) the next allocation size class costs
// every op ~4% (bench/overhead_bench.cpp).
template <typename T>
struct LeafHooks {
  std::shared_ptr<HookList<T>> list;
};
}  // namespace detail

template <typename T>
struct TensorImpl {
  std::shared_ptr<Storage<T>> storage;
  std::size_t offset = 0;  // first element inside storage (views)
  Shape shape;
  std::int64_t numel = 0;

  bool requires_grad = false;
  std::uint32_t output_nr = 0;           // which output of grad_fn this tensor is
  std::shared_ptr<Node<T>> grad_fn;      // null for leaves
  std::weak_ptr<Node<T>> grad_accumulator;  // leaves only; the graph owns it
  std::shared_ptr<TensorImpl<T>> grad;   // .grad(), accumulated across backward calls
  std::unique_ptr<detail::LeafHooks<T>> hooks;  // leaves only: register_hook (non-leaves: on grad_fn)

  T* data() { return storage ? storage->data() + offset : nullptr; }
  const T* data() const { return storage ? storage->data() + offset : nullptr; }
  std::uint32_t version() const { return storage ? storage->version() : 0; }
};

namespace detail {

// A fresh, uninitialised contiguous tensor implementation.
template <typename T>
TAPEGRAD_NOINLINE std::shared_ptr<TensorImpl<T>> make_impl(Shape shape) {
  auto impl = std::allocate_shared<TensorImpl<T>>(PoolAllocator<TensorImpl<T>>());
  impl->numel = numel_of(shape);
  // The byte count must fit too (a ptrdiff_t, so pointer arithmetic over it is defined).
  if (impl->numel > PTRDIFF_MAX / static_cast<std::int64_t>(sizeof(T)))
    fail<ShapeError>("shape ", show(shape), " needs ", impl->numel, " elements of ", sizeof(T),
                     " bytes, more bytes than an address space holds");
  impl->shape = std::move(shape);
  impl->storage = std::allocate_shared<Storage<T>>(PoolAllocator<Storage<T>>(), static_cast<std::size_t>(impl->numel));
  return impl;
}

// A new implementation sharing `src`'s storage (reshape, detach, saved outputs).
template <typename T>
TAPEGRAD_NOINLINE std::shared_ptr<TensorImpl<T>> alias_impl(const TensorImpl<T>& src, Shape shape) {
  auto impl = std::allocate_shared<TensorImpl<T>>(PoolAllocator<TensorImpl<T>>());
  impl->storage = src.storage;
  impl->offset = src.offset;
  impl->numel = numel_of(shape);
  impl->shape = std::move(shape);
  return impl;
}

}  // namespace detail
}  // namespace tapegrad
