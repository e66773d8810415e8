// GET /metrics: the Prometheus text exposition of the same snapshot /status shows
// (master/metrics_view.h names every metric).
#include <httplib.h>

#include "status/status_server.h"

namespace ride::status::routes {

void add_metrics(httplib::Server& http, const SnapshotStore& store) {
  http.Get("/metrics", [&store](const httplib::Request&, httplib::Response& res) {
    const SnapshotPtr s = store.latest();
    if (!s) {
      res.status = 503;
      res.set_content("the job has not published its first status yet\n", "text/plain");
      return;
    }
    res.set_content(s->metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace ride::status::routes
