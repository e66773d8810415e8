#include "status/status_server.h"

#include <httplib.h>

#include "core/error.h"

#include <sys/socket.h>

#include <chrono>

namespace ride::status {

StatusServer::StatusServer(ServerOptions opts, SnapshotStore& store, ControlQueue& control)
    : opts_(std::move(opts)), store_(store), control_(control), http_(std::make_unique<httplib::Server>()) {}

StatusServer::~StatusServer() { stop(); }

void StatusServer::start() {
  const auto colon = opts_.listen.rfind(':');
  std::string host = opts_.listen.substr(0, colon);  // as written: the URL's host
  // An IPv6 address is written in brackets ([::1]:8080); the socket takes it without them.
  const std::string bind_host = host.size() > 2 && host.front() == '[' && host.back() == ']' ? host.substr(1, host.size() - 2) : host;
  const int port = std::stoi(opts_.listen.substr(colon + 1));
  // Polling clients (50 of them at 10 Hz in the load test) each hold a keep-alive connection;
  // a pool thread serves one connection at a time, so the pool is sized for them, and an idle
  // connection gives its thread back after 1 s. Threads wait in poll(): idle costs no CPU.
  http_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  // Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm and the
  // client's delayed ACK held every response 40 ms (measured by bench/status_load.py).
  http_->set_tcp_nodelay(true);
  // One request per connection: cpp-httplib 0.11 waits for a keep-alive connection's next
  // request by waking every 10 ms, so 50 polling clients on open connections cost the master
  // 4,500 wake-ups a second (measured: 144 us of CPU per request; 1 request per connection,
  // a fresh loopback connection each time, costs less).
  http_->set_keep_alive_max_count(1);
  http_->set_read_timeout(5, 0);
  // cpp-httplib's default sets SO_REUSEPORT too, with which a second job on this node could
  // bind the same status.listen and the kernel would split the requests between the two:
  // SO_REUSEADDR alone (a restarted job may rebind at once; a port in use stays an error).
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_->set_write_timeout(5, 0);
  routes::add_page(*http_);
  routes::add_status(*http_, store_);
  routes::add_metrics(*http_, store_);
  routes::add_control(*http_, control_, opts_);
  int bound = port;
  if (port == 0) {
    bound = http_->bind_to_any_port(bind_host);
    if (bound <= 0) bound = -1;
  } else if (!http_->bind_to_port(bind_host, port)) {
    bound = -1;
  }
  if (bound < 0) {
    throw ConfigError(opts_.listen_where + ": cannot listen on " + opts_.listen +
                      ": the port is in use, or the host is not an address of this machine; choose "
                      "another status.listen, port 0 for a free one, or off");
  }
  url_ = "http://" + host + ":" + std::to_string(bound) + "/";
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // cpp-httplib 0.11 ignores a stop() that comes before its loop runs (upstream #1371), and
  // a job can end moments after start: wait until it serves (bounded; it takes microseconds).
  for (int i = 0; i < 5000 && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void StatusServer::stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace ride::status
