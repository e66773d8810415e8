#pragma once
/// @brief What the HTTP thread serves: the master's loop publishes immutable snapshots of its
/// job model (the /status document, the /metrics text, the chart history) and the server's
/// threads read them. Nothing here touches the job model or MPI; the loop never waits on a
/// request.
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace ride::status {

/// One published view of the job, all taken at the same moment.
struct Snapshot {
  std::uint64_t seq = 0;      ///< 1, 2, ... in publication order (the "seq" in the document)
  std::string status_json;    ///< GET /status
  std::string metrics_text;   ///< GET /metrics (Prometheus text format 0.0.4)
  std::string history_json;   ///< GET /status/history (the chart series up to this moment)
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

class SnapshotStore {
 public:
  /// Keeps the last `keep` snapshots so a client can ask for the one it was shown (?seq=N).
  explicit SnapshotStore(std::size_t keep = 240) : keep_(keep) {}
  void publish(Snapshot s);
  /// The newest snapshot, or null before the first.
  SnapshotPtr latest() const;
  /// The snapshot with this seq while it is still kept, else null.
  SnapshotPtr find(std::uint64_t seq) const;

 private:
  mutable std::mutex mu_;
  std::deque<SnapshotPtr> kept_;
  std::size_t keep_;
};

}  // namespace ride::status
