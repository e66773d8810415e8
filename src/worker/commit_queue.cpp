#include "worker/commit_queue.h"

namespace ride {

void CommitQueue::add(std::uint32_t partition, std::uint64_t batch_id, std::uint32_t epoch, std::uint64_t end_offset) {
  queues_[partition].push_back({batch_id, epoch, end_offset, false, 0});
}

CommitQueue::Batch* CommitQueue::find(std::uint32_t partition, std::uint64_t batch_id) {
  auto q = queues_.find(partition);
  if (q == queues_.end()) return nullptr;
  for (auto& b : q->second) {
    if (b.batch_id == batch_id) return &b;
  }
  return nullptr;
}

bool CommitQueue::results_durable(std::uint32_t partition, std::uint64_t batch_id) {
  Batch* b = find(partition, batch_id);
  if (b) b->durable = true;
  return b != nullptr;
}

void CommitQueue::sending(std::uint32_t partition, std::uint64_t batch_id, int n) {
  if (Batch* b = find(partition, batch_id)) b->sending += n;
}

void CommitQueue::sent(std::uint32_t partition, std::uint64_t batch_id) {
  if (Batch* b = find(partition, batch_id); b && b->sending > 0) --b->sending;
}

std::optional<std::uint64_t> CommitQueue::take_commit(std::uint32_t partition, std::uint32_t epoch) {
  auto q = queues_.find(partition);
  if (q == queues_.end()) return std::nullopt;
  std::optional<std::uint64_t> commit_to;
  while (!q->second.empty()) {
    const Batch& front = q->second.front();
    const bool stale = front.epoch != epoch;  // can never commit: out of the way
    if (!stale && !(front.durable && front.sending == 0)) break;
    if (!stale) commit_to = front.end_offset;
    q->second.pop_front();
  }
  return commit_to;
}

std::size_t CommitQueue::waiting(std::uint32_t partition) const {
  const auto q = queues_.find(partition);
  return q == queues_.end() ? 0 : q->second.size();
}

}  // namespace ride
