#pragma once
/// @brief The master's HTTP server (cpp-httplib), on threads of its own that never touch MPI
/// or the job model: it serves the snapshots the master's loop publishes (SnapshotStore) and
/// passes control commands to the loop (ControlQueue). Routes are grouped by area, one file
/// each: routes_status.cpp (GET /status, /status/history), routes_metrics.cpp (GET /metrics),
/// routes_page.cpp (GET /), routes_control.cpp (POST /control/...).
#include <memory>
#include <string>
#include <thread>

#include "status/control_queue.h"
#include "status/snapshot_store.h"

namespace httplib {
class Server;
}

namespace ride::status {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  ///< status.listen (HOST:PORT, port 0 = a free one)
  std::string listen_where;             ///< "status.listen (FILE:LINE)" for errors
  std::string token;                    ///< control's bearer token; empty = control disabled
  double control_timeout_s = 10;        ///< how long a control request waits for the loop
};

class StatusServer {
 public:
  StatusServer(ServerOptions opts, SnapshotStore& store, ControlQueue& control);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  /// Binds and starts serving. Throws ConfigError naming status.listen when the address cannot
  /// be bound (a port in use, a host that is not this machine's).
  void start();
  /// "http://HOST:PORT/" once started.
  const std::string& url() const { return url_; }
  /// Stops serving and joins its threads (also done by the destructor).
  void stop();

 private:
  ServerOptions opts_;
  SnapshotStore& store_;
  ControlQueue& control_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::string url_;
};

namespace routes {
void add_status(httplib::Server& http, const SnapshotStore& store);
void add_metrics(httplib::Server& http, const SnapshotStore& store);
void add_page(httplib::Server& http);
void add_control(httplib::Server& http, ControlQueue& control, const ServerOptions& opts);
}  // namespace routes

/// The page served at / (src/status/page.html, embedded at build time).
extern const char* const kPageHtml;

}  // namespace ride::status
