#include "status/snapshot_store.h"

namespace ride::status {

const std::string& Snapshot::status_text() const {
  if (!status_doc) return status_json;
  std::call_once(lazy_->status_once, [this] { lazy_->status = status_doc->dump(); });
  return lazy_->status;
}

const std::string& Snapshot::metrics() const {
  if (!status_doc || !render_metrics) return metrics_text;
  std::call_once(lazy_->metrics_once, [this] { lazy_->metrics = render_metrics(*status_doc); });
  return lazy_->metrics;
}

const std::string& Snapshot::history_text() const {
  if (!history_doc) return history_json;
  std::call_once(lazy_->history_once, [this] { lazy_->history = history_doc->dump(); });
  return lazy_->history;
}

void SnapshotStore::publish(std::shared_ptr<const Snapshot> p) {
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
