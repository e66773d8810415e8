#pragma once
/// @brief What the HTTP thread serves: the master's loop publishes immutable snapshots of its
/// job model (the /status document, the /metrics text, the chart history) and the server's
/// threads read them. Nothing here touches the job model or MPI; the loop never waits on a
/// request.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace ride::status {

/// One published view of the job, all taken at the same moment. The loop hands over the
/// documents; their text is made on first request, on an HTTP thread, once per snapshot (at
/// CAM² scale — 10,000 partitions, 5,000 streams — the text takes ~100 ms the loop need not
/// spend, and a snapshot nobody asks for is never written out). Text given directly is served
/// as it is.
struct Snapshot {
  std::uint64_t seq = 0;      ///< 1, 2, ... in publication order (the "seq" in the document)
  std::string status_json;    ///< GET /status
  std::string metrics_text;   ///< GET /metrics (Prometheus text format 0.0.4)
  std::string history_json;   ///< GET /status/history (the chart series up to this moment)
  std::shared_ptr<const nlohmann::json> status_doc, history_doc;  ///< rendered lazily when set
  std::function<std::string(const nlohmann::json&)> render_metrics;  ///< status_doc -> /metrics

  const std::string& status_text() const;
  const std::string& metrics() const;
  const std::string& history_text() const;

 private:
  struct Lazy {
    std::once_flag status_once, metrics_once, history_once;
    std::string status, metrics, history;
  };
  std::shared_ptr<Lazy> lazy_ = std::make_shared<Lazy>();  // a Snapshot stays movable
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

class SnapshotStore {
 public:
  /// Keeps the last `keep` snapshots so a client can ask for the one it was shown (?seq=N).
  explicit SnapshotStore(std::size_t keep = 240) : keep_(keep) {}
  void publish(std::shared_ptr<const Snapshot> s);
  void publish(Snapshot s) { publish(std::make_shared<const Snapshot>(std::move(s))); }
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
