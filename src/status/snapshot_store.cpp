#include "status/snapshot_store.h"

namespace ride::status {

void SnapshotStore::publish(Snapshot s) {
  auto p = std::make_shared<const Snapshot>(std::move(s));
  std::lock_guard<std::mutex> lock(mu_);
  kept_.push_back(std::move(p));
  while (kept_.size() > keep_) kept_.pop_front();
}

SnapshotPtr SnapshotStore::latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_.empty() ? nullptr : kept_.back();
}

SnapshotPtr SnapshotStore::find(std::uint64_t seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (kept_.empty() || seq < kept_.front()->seq || seq > kept_.back()->seq) return nullptr;
  const SnapshotPtr& s = kept_[static_cast<std::size_t>(seq - kept_.front()->seq)];
  return s->seq == seq ? s : nullptr;
}

}  // namespace ride::status
