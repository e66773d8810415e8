// GET /status and GET /status/history: the job model's latest snapshot (or, with ?seq=N, the
// one a page was showing), and the series its charts are drawn from.
#include <httplib.h>

#include <string>

#include "status/status_server.h"

namespace ride::status::routes {

namespace {
void not_yet(httplib::Response& res) {
  res.status = 503;
  res.set_content("{\"error\":\"the job has not published its first status yet\"}", "application/json");
}
}  // namespace

void add_status(httplib::Server& http, const SnapshotStore& store) {
  http.Get("/status", [&store](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    if (req.has_param("seq")) {
      const std::string v = req.get_param_value("seq");
      std::uint64_t seq = 0;
      try {
        std::size_t used = 0;
        seq = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        res.status = 400;
        res.set_content("{\"error\":\"seq must be a snapshot number\"}", "application/json");
        return;
      }
      const SnapshotPtr s = store.find(seq);
      if (!s) {
        res.status = 404;
        res.set_content("{\"error\":\"snapshot " + std::to_string(seq) + " is not kept (too old, or not yet)\"}",
                        "application/json");
        return;
      }
      res.set_content(s->status_text(), "application/json");
      return;
    }
    const SnapshotPtr s = store.latest();
    if (!s) return not_yet(res);
    res.set_content(s->status_text(), "application/json");
  });
  http.Get("/status/history", [&store](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    const SnapshotPtr s = store.latest();
    if (!s) return not_yet(res);
    res.set_content(s->history_text(), "application/json");
  });
}

}  // namespace ride::status::routes
