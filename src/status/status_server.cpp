#include "status/status_server.h"

#include <httplib.h>

#include "core/error.h"

namespace ride::status {

StatusServer::StatusServer(ServerOptions opts, SnapshotStore& store, ControlQueue& control)
    : opts_(std::move(opts)), store_(store), control_(control), http_(std::make_unique<httplib::Server>()) {}

StatusServer::~StatusServer() { stop(); }

void StatusServer::start() {
  const auto colon = opts_.listen.rfind(':');
  const std::string host = opts_.listen.substr(0, colon);
  const int port = std::stoi(opts_.listen.substr(colon + 1));
  // Polling clients (50 of them at 10 Hz in the load test) each hold a keep-alive connection;
  // a pool thread serves one connection at a time, so the pool is sized for them, and an idle
  // connection gives its thread back after 1 s. Threads wait in poll(): idle costs no CPU.
  http_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  http_->set_keep_alive_timeout(1);
  http_->set_keep_alive_max_count(100);
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(5, 0);
  routes::add_page(*http_);
  routes::add_status(*http_, store_);
  routes::add_metrics(*http_, store_);
  routes::add_control(*http_, control_, opts_);
  int bound = port;
  if (port == 0) {
    bound = http_->bind_to_any_port(host);
    if (bound <= 0) bound = -1;
  } else if (!http_->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound < 0) {
    throw ConfigError(opts_.listen_where + ": cannot listen on " + opts_.listen +
                      ": the port is in use, or the host is not an address of this machine; choose "
                      "another status.listen, port 0 for a free one, or off");
  }
  url_ = "http://" + host + ":" + std::to_string(bound) + "/";
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

void StatusServer::stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace ride::status
