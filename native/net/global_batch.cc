#include "net/global_batch.h"

#include "core/errors.h"

namespace laa {

namespace {
thread_local BatchShare tls_share;
}

const BatchShare& current_batch_share() { return tls_share; }

BatchShareScope::BatchShareScope(const BatchShare& share) : previous_(tls_share) { tls_share = share; }
BatchShareScope::~BatchShareScope() { tls_share = previous_; }

torch::Tensor draw_for_rows(torch::IntArrayRef local_shape,
                            const std::function<torch::Tensor(torch::IntArrayRef)>& draw) {
  const BatchShare& s = tls_share;
  if (s.total == 0 || local_shape.empty()) return draw(local_shape);
  const int64_t rows = local_shape[0];
  if (s.offset < 0 || s.offset + rows > s.total)
    throw Error(codes::kInternal, "a pass of " + std::to_string(rows) + " rows at offset " + std::to_string(s.offset) +
                                      " does not fit the global batch of " + std::to_string(s.total));
  std::vector<int64_t> global(local_shape.begin(), local_shape.end());
  global[0] = s.total;
  return draw(global).narrow(0, s.offset, rows);
}

torch::Tensor dropout_rows(const torch::Tensor& x, double p, bool train) {
  if (!train || p == 0 || x.numel() == 0) return x;
  if (p >= 1) return x * torch::zeros({}, x.options());
  auto noise = draw_for_rows(x.sizes(), [&](torch::IntArrayRef shape) {
    // empty_like keeps x's memory format, as at::dropout does; the CPU
    // bernoulli kernel fills in memory order, so the format decides the mask.
    auto t = shape.equals(x.sizes()) ? torch::empty_like(x)
                                     : torch::empty(shape, x.options().memory_format(x.suggest_memory_format()));
    return t.bernoulli_(1 - p);
  });
  noise.div_(1 - p);
  return x * noise;
}

}  // namespace laa
