// A load of operators on the master's status server (#13): N clients, each polling GET /status
// and GET /metrics at a fixed rate over its own keep-alive connection (cpp-httplib's client, so
// the load costs little CPU beside the job it watches). Prints one JSON line: requests, failures
// (any status but 200, or a transport error), latency percentiles.
// usage: status_load_client URL CLIENTS HZ SECONDS
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: status_load_client URL CLIENTS HZ SECONDS\n");
    return 2;
  }
  std::string url = argv[1];  // http://HOST:PORT/
  const int clients = std::stoi(argv[2]);
  const double hz = std::stod(argv[3]), seconds = std::stod(argv[4]);
  const std::string hostport = url.substr(7, url.find('/', 7) - 7);
  const std::string host = hostport.substr(0, hostport.rfind(':'));
  const int port = std::stoi(hostport.substr(hostport.rfind(':') + 1));
  std::atomic<long> requests{0}, failures{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::string first_error;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto end = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client cli(host, port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      cli.set_connection_timeout(5, 0);
      cli.set_read_timeout(5, 0);
      std::vector<double> mine;
      const auto period = std::chrono::duration<double>(1.0 / hz);
      // Spread the clients over one period, as independent browsers would be.
      auto next = start + std::chrono::duration_cast<clock::duration>(period * (static_cast<double>(c) / clients));
      while (next < end) {
        std::this_thread::sleep_until(next);
        for (const char* path : {"/status", "/metrics"}) {
          const auto t0 = clock::now();
          auto res = cli.Get(path);
          const double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
          ++requests;
          if (!res || res->status != 200 || res->body.empty()) {
            ++failures;
            std::lock_guard<std::mutex> lock(mu);
            if (first_error.empty()) {
              first_error = std::string(path) + ": " + (res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error()));
            }
          } else {
            mine.push_back(ms);
          }
        }
        next += std::chrono::duration_cast<clock::duration>(period);
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  std::printf(
      "{\"clients\": %d, \"hz\": %g, \"seconds\": %g, \"requests\": %ld, \"failures\": %ld, \"p50_ms\": %.3f, "
      "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"first_error\": \"%s\"}\n",
      clients, hz, seconds, requests.load(), failures.load(), pct(0.5), pct(0.99),
      latencies_ms.empty() ? 0.0 : latencies_ms.back(), first_error.c_str());
  return failures.load() == 0 ? 0 : 1;
}
