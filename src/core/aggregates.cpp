#include "core/aggregates.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/protocol.h"

namespace ride {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

ScalarAggregates::ScalarAggregates(std::size_t streams, std::size_t scalars) : scalars_(scalars) {
  resize_streams(streams);
}

void ScalarAggregates::resize_streams(std::size_t streams) {
  if (streams <= streams_) return;
  streams_ = streams;
  sums_.resize(2 * streams_ * scalars_, 0.0);
  mins_.resize(streams_ * scalars_, kInf);
  maxs_.resize(streams_ * scalars_, -kInf);
}

void ScalarAggregates::add(std::uint32_t stream, const double* values) {
  if (scalars_ == 0) return;
  resize_streams(std::size_t{stream} + 1);
  for (std::size_t k = 0; k < scalars_; ++k) {
    const double v = values[k];
    if (std::isnan(v)) continue;
    const std::size_t i = std::size_t{stream} * scalars_ + k;
    sums_[2 * i] += 1;
    sums_[2 * i + 1] += v;
    mins_[i] = std::min(mins_[i], v);
    maxs_[i] = std::max(maxs_[i], v);
  }
}

void ScalarAggregates::merge(const ScalarAggregates& o) {
  RIDE_EXPECTS(o.scalars_ == scalars_ || o.streams_ == 0, "aggregates of " << o.scalars_ << " scalars merged into "
                                                                          << scalars_);
  resize_streams(o.streams_);
  for (std::size_t i = 0; i < o.streams_ * o.scalars_; ++i) {
    sums_[2 * i] += o.sums_[2 * i];
    sums_[2 * i + 1] += o.sums_[2 * i + 1];
    mins_[i] = std::min(mins_[i], o.mins_[i]);
    maxs_[i] = std::max(maxs_[i], o.maxs_[i]);
  }
}

std::uint64_t ScalarAggregates::count(std::size_t stream, std::size_t k) const {
  return stream < streams_ ? static_cast<std::uint64_t>(sums_[2 * (stream * scalars_ + k)]) : 0;
}
double ScalarAggregates::sum(std::size_t stream, std::size_t k) const {
  return stream < streams_ ? sums_[2 * (stream * scalars_ + k) + 1] : 0.0;
}
double ScalarAggregates::min(std::size_t stream, std::size_t k) const {
  return stream < streams_ ? mins_[stream * scalars_ + k] : kInf;
}
double ScalarAggregates::max(std::size_t stream, std::size_t k) const {
  return stream < streams_ ? maxs_[stream * scalars_ + k] : -kInf;
}

Buffer ScalarAggregates::encode(int stage, const std::vector<int>& members, Method method) const {
  BodyWriter w;
  w.pod(static_cast<std::uint32_t>(stage)).pod(static_cast<std::uint32_t>(method));
  w.pod(static_cast<std::uint32_t>(streams_));
  w.pod(static_cast<std::uint32_t>(scalars_)).pod(static_cast<std::uint32_t>(members.size()));
  for (int m : members) w.pod(static_cast<std::int32_t>(m));
  for (const auto* v : {&sums_, &mins_, &maxs_}) {
    if (!v->empty()) w.bytes(v->data(), v->size() * sizeof(double));
  }
  return w.finish();
}

ScalarAggregates::Decoded ScalarAggregates::decode(const Buffer& body) {
  BodyReader r(body);
  Decoded d;
  d.stage = static_cast<int>(r.pod<std::uint32_t>());
  const auto method = r.pod<std::uint32_t>();
  RIDE_EXPECTS(method <= 1, "AGGREGATES names an unknown method " << method);
  d.method = static_cast<Method>(method);
  const auto streams = r.pod<std::uint32_t>();
  const auto scalars = r.pod<std::uint32_t>();
  const auto n = r.pod<std::uint32_t>();
  RIDE_EXPECTS(n <= body.size(), "AGGREGATES names " << n << " members in " << body.size() << " bytes");
  for (std::uint32_t i = 0; i < n; ++i) d.members.push_back(r.pod<std::int32_t>());
  const std::size_t cells = std::size_t{streams} * scalars;
  RIDE_EXPECTS(r.remaining() == 4 * cells * sizeof(double),
               "AGGREGATES of " << streams << " streams x " << scalars << " scalars carries " << r.remaining()
                                << " bytes of values, expected " << 4 * cells * sizeof(double));
  d.aggregates = ScalarAggregates(streams, scalars);
  for (auto* v : {&d.aggregates.sums_, &d.aggregates.mins_, &d.aggregates.maxs_}) {
    if (!v->empty()) std::memcpy(v->data(), r.take(v->size() * sizeof(double)), v->size() * sizeof(double));
  }
  return d;
}

Buffer encode_reduce_request(const std::vector<std::vector<int>>& members) {
  BodyWriter w;
  w.pod(static_cast<std::uint32_t>(members.size()));
  for (const auto& m : members) {
    w.pod(static_cast<std::uint32_t>(m.size()));
    for (int r : m) w.pod(static_cast<std::int32_t>(r));
  }
  return w.finish();
}

std::vector<std::vector<int>> decode_reduce_request(const Buffer& body) {
  BodyReader r(body);
  const auto stages = r.pod<std::uint32_t>();
  RIDE_EXPECTS(stages <= body.size(), "REDUCE names " << stages << " stages in " << body.size() << " bytes");
  std::vector<std::vector<int>> out(stages);
  for (auto& m : out) {
    const auto n = r.pod<std::uint32_t>();
    RIDE_EXPECTS(n <= body.size(), "REDUCE names " << n << " members in " << body.size() << " bytes");
    for (std::uint32_t i = 0; i < n; ++i) m.push_back(r.pod<std::int32_t>());
  }
  RIDE_EXPECTS(r.remaining() == 0, "REDUCE carries " << r.remaining() << " bytes too many");
  return out;
}

}  // namespace ride
