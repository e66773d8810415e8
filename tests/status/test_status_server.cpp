/// The master's HTTP status server (status/status_server.h) over real loopback HTTP: the
/// snapshot routes, the page, the token-guarded control routes and their hand-over to a loop
/// thread (status/control_queue.h), binding errors, and concurrent readers against a publisher.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "status/control_queue.h"
#include "status/snapshot_store.h"
#include "status/status_server.h"

namespace ride::status {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "s3cret-token";

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// A snapshot whose three texts all name its seq, so any mix-up shows.
Snapshot snapshot(std::uint64_t seq, std::size_t pad = 0) {
  Snapshot s;
  s.seq = seq;
  s.status_json = json{{"seq", seq}, {"state", "running"}, {"pad", std::string(pad, 'x')}}.dump();
  s.metrics_text = "# TYPE ride_job_elapsed_seconds gauge\nride_job_elapsed_seconds " + std::to_string(seq) + "\n";
  s.history_json = json{{"t_s", {0, 1, static_cast<double>(seq)}}, {"ingested", {0, 5, 10}}}.dump();
  return s;
}

/// A server on 127.0.0.1:0, its store and control queue, and a "loop" thread that answers
/// control commands with `decide` (set before the first request) and records what it saw.
class Harness {
 public:
  explicit Harness(std::string token = kToken, std::size_t keep = 240, double control_timeout_s = 5)
      : store(keep) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.listen_where = "status.listen (test.toml:1)";
    o.token = std::move(token);
    o.control_timeout_s = control_timeout_s;
    server = std::make_unique<StatusServer>(o, store, control);
    server->start();
    port = port_of(server->url());
    loop_ = std::thread([this] {
      while (!stop_.load()) {
        control.serve([this](const ControlCommand& c) {
          std::lock_guard<std::mutex> lock(mu_);
          seen_.push_back(c);
          return reply_;
        });
        // Not synchronization: the master's loop serves the queue between its steps; this one
        // does so every millisecond (a request waits for it up to control_timeout_s).
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    wait_until_serving();
  }
  ~Harness() {
    stop_.store(true);
    loop_.join();
    server->stop();
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  static int port_of(const std::string& url) {
    const auto colon = url.rfind(':');
    return std::stoi(url.substr(colon + 1));
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(5, 0);
    c.set_write_timeout(5, 0);
    return c;
  }

  void set_reply(ControlReply r) {
    std::lock_guard<std::mutex> lock(mu_);
    reply_ = std::move(r);
  }
  std::vector<ControlCommand> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  void clear_seen() {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.clear();
  }

  SnapshotStore store;
  ControlQueue control;
  std::unique_ptr<StatusServer> server;
  int port = 0;

 private:
  /// The accept loop runs once a request is answered (also keeps stop() from racing start()).
  void wait_until_serving() const {
    const auto t0 = Clock::now();
    while (seconds_since(t0) < 10) {
      auto c = client();
      if (auto r = c.Get("/")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "the server did not answer within 10 s";
  }

  std::thread loop_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<ControlCommand> seen_;
  ControlReply reply_{202, "accepted by the test loop"};
};

httplib::Headers bearer(const std::string& token = kToken) { return {{"Authorization", "Bearer " + token}}; }

/// The JSON body of a control response, checked for its shape: {"ok": bool, "message": str}.
json control_body(const httplib::Result& r) {
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  const json j = json::parse(r->body, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r->body;
  if (!j.is_object()) return json::object();
  EXPECT_TRUE(j.contains("ok") && j["ok"].is_boolean()) << r->body;
  EXPECT_TRUE(j.contains("message") && j["message"].is_string()) << r->body;
  EXPECT_EQ(j.value("ok", true), r->status >= 200 && r->status < 300) << r->body;
  return j;
}

/// A request written by hand over a socket (no Content-Length, no body where the request has
/// none); the response read until its announced length. `seconds`: from connect to the end.
struct RawReply {
  int status = 0;
  std::string head, body;
  double seconds = 0;
  bool complete = false;
};

RawReply raw_request(int port, const std::string& request) {
  RawReply out;
  const auto t0 = Clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return out;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string got;
  char buf[4096];
  std::size_t want = std::string::npos;  // header + body length, once the header is in
  while (want == std::string::npos || got.size() < want) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // closed, or the 3 s receive timeout
    got.append(buf, static_cast<std::size_t>(n));
    if (want == std::string::npos) {
      const auto end = got.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const std::string head = lower(got.substr(0, end));
      const auto cl = head.find("\r\ncontent-length:");
      const std::size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 17));
      want = end + 4 + length;
    }
  }
  ::close(fd);
  out.seconds = seconds_since(t0);
  const auto end = got.find("\r\n\r\n");
  if (end == std::string::npos) return out;
  out.head = got.substr(0, end);
  out.body = got.substr(end + 4);
  out.complete = want != std::string::npos && got.size() >= want;
  if (out.head.rfind("HTTP/1.1 ", 0) == 0) out.status = std::stoi(out.head.substr(9, 3));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The snapshot routes

TEST(StatusServer, UrlNamesTheBoundLoopbackPort) {
  Harness h;
  EXPECT_GT(h.port, 0);
  EXPECT_EQ(h.server->url(), "http://127.0.0.1:" + std::to_string(h.port) + "/");
}

TEST(StatusServer, EverySnapshotRouteIs503BeforeTheFirstPublish) {
  Harness h;
  auto c = h.client();
  for (const char* path : {"/status", "/status/history", "/metrics"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 503) << path;
  }
  auto r = c.Get("/status");
  ASSERT_TRUE(r);
  EXPECT_TRUE(json::parse(r->body, nullptr, false).contains("error")) << r->body;
}

TEST(StatusServer, StatusIsTheLatestSnapshotByteForByte) {
  Harness h;
  auto c = h.client();
  h.store.publish(snapshot(1));
  auto r = c.Get("/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, snapshot(1).status_json);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  // A document with bytes JSON escapes and a large one come back unchanged.
  Snapshot s = snapshot(2, 200000);
  s.status_json = "{\"seq\":2,\"name\":\"caf\xc3\xa9 \\u0001 \\\"q\\\"\",\"pad\":\"" + std::string(200000, 'y') + "\"}";
  h.store.publish(s);
  r = c.Get("/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == s.status_json) << "sizes " << r->body.size() << " vs " << s.status_json.size();
}

TEST(StatusServer, SeqSelectsAKeptSnapshot) {
  Harness h("", 3);  // keeps the last 3
  for (std::uint64_t seq = 1; seq <= 5; ++seq) h.store.publish(snapshot(seq));
  auto c = h.client();
  for (std::uint64_t seq : {3u, 4u, 5u}) {
    auto r = c.Get("/status?seq=" + std::to_string(seq));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << seq;
    EXPECT_EQ(r->body, snapshot(seq).status_json) << seq;
  }
  for (const char* gone : {"1", "2", "6", "1000", "0"}) {  // dropped, or not yet published
    auto r = c.Get(std::string("/status?seq=") + gone);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << gone;
    EXPECT_TRUE(json::parse(r->body, nullptr, false).contains("error")) << r->body;
  }
  for (const char* bad : {"abc", "3x", "", "%20"}) {
    auto r = c.Get(std::string("/status?seq=") + bad);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << '"' << bad << '"';
  }
  // Without seq: still the latest.
  auto r = c.Get("/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, snapshot(5).status_json);
}

TEST(StatusServer, HistoryAndMetricsServeTheLatestSnapshot) {
  Harness h;
  h.store.publish(snapshot(1));
  h.store.publish(snapshot(2));
  auto c = h.client();
  auto r = c.Get("/status/history");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->body, snapshot(2).history_json);
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u)
      << r->get_header_value("Content-Type");
  EXPECT_EQ(r->body, snapshot(2).metrics_text);
}

// The loop hands over documents; their text is made on the first request, once per snapshot.
TEST(StatusServer, DocumentsAreRenderedOnceOnFirstRequest) {
  Harness h;
  auto renders = std::make_shared<std::atomic<int>>(0);
  Snapshot s;
  s.seq = 7;
  s.status_doc = std::make_shared<const json>(json{{"seq", 7}, {"state", "running"}});
  s.history_doc = std::make_shared<const json>(json{{"t_s", {0, 1}}});
  s.render_metrics = [renders](const json& doc) {
    ++*renders;
    return "ride_job_elapsed_seconds " + std::to_string(doc.at("seq").get<int>()) + "\n";
  };
  h.store.publish(std::move(s));
  EXPECT_EQ(renders->load(), 0);  // nothing written out until asked
  auto c = h.client();
  for (int i = 0; i < 3; ++i) {
    auto r = c.Get("/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ride_job_elapsed_seconds 7\n");
    r = c.Get("/status");
    ASSERT_TRUE(r);
    EXPECT_EQ(json::parse(r->body), (json{{"seq", 7}, {"state", "running"}}));
    r = c.Get("/status?seq=7");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    r = c.Get("/status/history");
    ASSERT_TRUE(r);
    EXPECT_EQ(json::parse(r->body), (json{{"t_s", {0, 1}}}));
  }
  EXPECT_EQ(renders->load(), 1);
}

TEST(StatusServer, RootServesThePage) {
  Harness h;
  auto c = h.client();
  for (const char* path : {"/", "/index.html"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/html", 0), 0u) << r->get_header_value("Content-Type");
    EXPECT_NE(lower(r->body).find("<html"), std::string::npos) << path;
    EXPECT_EQ(r->body, std::string(kPageHtml));
  }
  // The page does not need a published snapshot.
  EXPECT_EQ(h.store.latest(), nullptr);
}

TEST(StatusServer, UnknownGetPathIs404) {
  Harness h;
  auto c = h.client();
  auto r = c.Get("/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

// ---------------------------------------------------------------------------------------------
// Control: the token

TEST(StatusServerControl, DisabledWithoutAToken) {
  Harness h("");
  auto c = h.client();
  for (const char* path : {"/control/drain", "/control/streams/1/pause", "/control/stages/main/workers?count=2",
                           "/control/nope"}) {
    auto r = c.Post(path, bearer(""), "", "text/plain");
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 403) << path;
    EXPECT_FALSE(control_body(r).value("ok", true));
    r = c.Post(path, bearer("anything"), "", "text/plain");
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 403) << path;
  }
  EXPECT_TRUE(h.seen().empty());  // nothing reached the loop
  const auto notes = h.control.take_notes();
  EXPECT_EQ(notes.size(), 8u);
  for (const auto& n : notes) EXPECT_NE(n.find("refused"), std::string::npos) << n;
}

TEST(StatusServerControl, MissingAuthorizationIs401WithAChallenge) {
  Harness h;
  auto c = h.client();
  auto r = c.Post("/control/drain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(r->has_header("WWW-Authenticate"));
  EXPECT_NE(r->get_header_value("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_FALSE(control_body(r).value("ok", true));
  EXPECT_TRUE(h.seen().empty());
}

TEST(StatusServerControl, WrongOrMalformedTokensAre401) {
  Harness h;
  auto c = h.client();
  const std::vector<std::string> auths = {"Bearer wrong",          std::string("Bearer ") + kToken + "x",
                                          "Bearer s3cret-toke",    "Basic xxx",
                                          "Basic " + std::string(kToken), "Bearer ",
                                          std::string(kToken)};
  for (const auto& a : auths) {
    auto r = c.Post("/control/drain", {{"Authorization", a}}, "", "text/plain");
    ASSERT_TRUE(r) << a;
    EXPECT_EQ(r->status, 401) << '"' << a << '"';
    EXPECT_TRUE(r->has_header("WWW-Authenticate")) << a;
    EXPECT_FALSE(control_body(r).value("ok", true));
  }
  // The token is checked before the path: an unknown command with a wrong token is 401.
  auto r = c.Post("/control/nope", bearer("wrong"), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(h.seen().empty());
}

TEST(StatusServerControl, RefusedRequestsLeaveNotes) {
  Harness h;
  auto c = h.client();
  EXPECT_TRUE(h.control.take_notes().empty());
  auto r = c.Post("/control/drain", {{"Authorization", "Bearer wrong"}, {"User-Agent", "unit-test-agent"}}, "",
                  "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = c.Post("/control/streams/3/pause");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  const auto notes = h.control.take_notes();
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("refused"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("/control/drain"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("wrong token"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("unit-test-agent"), std::string::npos) << notes[0];
  EXPECT_NE(notes[1].find("/control/streams/3/pause"), std::string::npos) << notes[1];
  EXPECT_TRUE(h.control.take_notes().empty());  // taken once
  // An accepted request leaves none.
  r = c.Post("/control/drain", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(h.control.take_notes().empty());
}

// ---------------------------------------------------------------------------------------------
// Control: the commands reach the loop, and its answer is the response

TEST(StatusServerControl, DrainWithoutBodyOrContentLengthIsAnsweredAtOnce) {
  Harness h;
  h.set_reply({202, "draining: the inputs stop"});
  const std::string req = "POST /control/drain HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(h.port) +
                          "\r\nAuthorization: Bearer " + kToken + "\r\nUser-Agent: raw-socket\r\nConnection: close\r\n\r\n";
  const RawReply r = raw_request(h.port, req);
  EXPECT_TRUE(r.complete) << r.head;
  EXPECT_LT(r.seconds, 1.0);
  EXPECT_EQ(r.status, 202) << r.head;
  EXPECT_NE(lower(r.head).find("content-type: application/json"), std::string::npos) << r.head;
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("ok", false), true);
  EXPECT_EQ(j.value("message", ""), "draining: the inputs stop");
  const auto seen = h.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, ControlCommand::Kind::drain);
  EXPECT_NE(seen[0].caller.find("127.0.0.1"), std::string::npos) << seen[0].caller;
  EXPECT_NE(seen[0].caller.find("raw-socket"), std::string::npos) << seen[0].caller;
  EXPECT_EQ(seen[0].describe(), "drain");
}

TEST(StatusServerControl, DrainWithTheClientsEmptyPostIsAnsweredAtOnce) {
  Harness h;
  h.set_reply({200, "already draining"});
  auto c = h.client();
  const auto t0 = Clock::now();
  auto r = c.Post("/control/drain", bearer());
  const double took = seconds_since(t0);
  ASSERT_TRUE(r);
  EXPECT_LT(took, 1.0);
  EXPECT_EQ(r->status, 200);
  const json j = control_body(r);
  EXPECT_EQ(j.value("message", ""), "already draining");
  EXPECT_EQ(h.seen().size(), 1u);
}

TEST(StatusServerControl, TheLoopsRefusalIsTheResponse) {
  Harness h;
  h.set_reply({409, "the job is already ending"});
  auto c = h.client();
  auto r = c.Post("/control/drain", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  const json j = control_body(r);
  EXPECT_EQ(j.value("ok", true), false);
  EXPECT_EQ(j.value("message", ""), "the job is already ending");
}

TEST(StatusServerControl, PauseAndResumeCarryTheStreamId) {
  Harness h;
  auto c = h.client();
  auto r = c.Post("/control/streams/7/pause", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  r = c.Post("/control/streams/4294967295/resume", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  const auto seen = h.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, ControlCommand::Kind::pause);
  EXPECT_EQ(seen[0].stream, 7u);
  EXPECT_EQ(seen[0].describe(), "pause stream 7");
  EXPECT_EQ(seen[1].kind, ControlCommand::Kind::resume);
  EXPECT_EQ(seen[1].stream, 4294967295u);
}

TEST(StatusServerControl, MalformedStreamIdsAre400) {
  Harness h;
  auto c = h.client();
  for (const char* id : {"abc", "-1", "4294967296", "7x", "%20"}) {
    auto r = c.Post(std::string("/control/streams/") + id + "/pause", bearer(), "", "text/plain");
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(r->status, 400) << id;
    const json j = control_body(r);
    EXPECT_EQ(j.value("ok", true), false) << id;
    EXPECT_FALSE(j.value("message", "").empty()) << id;
  }
  auto r = c.Post("/control/streams/3/frobnicate", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  control_body(r);
  EXPECT_TRUE(h.seen().empty());
}

TEST(StatusServerControl, WorkersCountInEveryForm) {
  Harness h;
  auto c = h.client();
  struct Form {
    std::string path, body, type;
  };
  const std::vector<Form> forms = {
      {"/control/stages/detect/workers", "{\"count\":3}", "application/json"},
      {"/control/stages/detect/workers", "{\"count\": 3, \"note\": \"x\"}", "application/json"},
      {"/control/stages/detect/workers?count=3", "", "text/plain"},
      {"/control/stages/detect/workers", "count=3", "application/x-www-form-urlencoded"},
      {"/control/stages/detect/workers", "count=3\r\n", "text/plain"},
      {"/control/stages/detect/workers", "3", "text/plain"},
      {"/control/stages/detect/workers", " 3\n", "application/json"},
      {"/control/stages/detect/workers", "{\"workers\": 3}", "application/json"},
      {"/control/stages/detect/workers?workers=3", "", "text/plain"},
      {"/control/stages/detect/workers", "workers=3", "application/x-www-form-urlencoded"},
  };
  for (const auto& f : forms) {
    h.clear_seen();
    auto r = c.Post(f.path, bearer(), f.body, f.type);
    ASSERT_TRUE(r) << f.path << " " << f.body;
    EXPECT_EQ(r->status, 202) << f.path << " " << f.body << ": " << r->body;
    const auto seen = h.seen();
    ASSERT_EQ(seen.size(), 1u) << f.body;
    EXPECT_EQ(seen[0].kind, ControlCommand::Kind::workers);
    EXPECT_EQ(seen[0].count, 3) << f.path << " " << f.body;
    EXPECT_EQ(seen[0].stage, "detect");
    EXPECT_EQ(seen[0].describe(), "workers of stage detect = 3");
  }
  // The stage name comes from the path.
  h.clear_seen();
  auto r = c.Post("/control/stages/main/workers?count=12", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  const auto seen = h.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].stage, "main");
  EXPECT_EQ(seen[0].count, 12);
}

TEST(StatusServerControl, MalformedWorkerCountsAre400) {
  Harness h;
  auto c = h.client();
  struct Form {
    std::string path, body, type;
  };
  const std::vector<Form> forms = {
      {"/control/stages/main/workers?count=abc", "", "text/plain"},
      {"/control/stages/main/workers", "count=abc", "application/x-www-form-urlencoded"},
      {"/control/stages/main/workers", "abc", "text/plain"},
      {"/control/stages/main/workers", "{\"count\":\"3\"}", "application/json"},
      {"/control/stages/main/workers", "{\"count\":3.5}", "application/json"},
      {"/control/stages/main/workers", "{\"count\":0}", "application/json"},
      {"/control/stages/main/workers", "{\"count\":-2}", "application/json"},
      {"/control/stages/main/workers", "{\"size\":3}", "application/json"},
      {"/control/stages/main/workers", "[3]", "application/json"},
      {"/control/stages/main/workers?count=0", "", "text/plain"},
      {"/control/stages/main/workers?count=", "", "text/plain"},
      {"/control/stages/main/workers?count=99999999999999999999", "", "text/plain"},
      {"/control/stages/main/workers", "", "text/plain"},  // no count at all
  };
  for (const auto& f : forms) {
    auto r = c.Post(f.path, bearer(), f.body, f.type);
    ASSERT_TRUE(r) << f.path << " " << f.body;
    EXPECT_EQ(r->status, 400) << f.path << " body '" << f.body << "': " << r->body;
    const json j = control_body(r);
    EXPECT_EQ(j.value("ok", true), false);
    EXPECT_FALSE(j.value("message", "").empty());
  }
  EXPECT_TRUE(h.seen().empty());
}

TEST(StatusServerControl, UnknownControlPathIs404) {
  Harness h;
  auto c = h.client();
  for (const char* path : {"/control/nope", "/control/stages/main/size", "/control/drain/now", "/control/"}) {
    auto r = c.Post(path, bearer(), "", "text/plain");
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(control_body(r).value("ok", true), false);
  }
  EXPECT_TRUE(h.seen().empty());
}

TEST(StatusServerControl, AfterCloseEveryCommandIs503WithTheReason) {
  Harness h;
  h.control.close("x");
  auto c = h.client();
  auto r = c.Post("/control/drain", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(control_body(r).value("message", ""), "x");
  r = c.Post("/control/stages/main/workers?count=2", bearer(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(h.seen().empty());
}

TEST(ControlQueue, ALoopThatDoesNotAnswerIs503AfterTheTimeout) {
  ControlQueue q;  // nobody serves it
  ControlCommand cmd;
  const auto t0 = Clock::now();
  const ControlReply r = q.submit(cmd, 0.2);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_GE(seconds_since(t0), 0.19);
  // The loop still answers it later, into a future nobody reads; and close() answers the rest.
  int served = 0;
  q.serve([&](const ControlCommand&) {
    ++served;
    return ControlReply{200, "late"};
  });
  EXPECT_EQ(served, 1);
}

// ---------------------------------------------------------------------------------------------
// The queue and the store on their own

TEST(ControlQueue, CloseAnswersWaitingCommands) {
  ControlQueue q;
  ControlReply got;
  std::thread t([&] { got = q.submit(ControlCommand{}, 10); });
  // the command waits for the loop (else close() would come first and submit() be refused at once)
  const auto t0 = Clock::now();
  while (!q.pending() && seconds_since(t0) < 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(q.pending()) << "the command was not submitted within 10 s";
  q.close("the job ended");
  t.join();
  EXPECT_EQ(got.http_status, 503);
  EXPECT_EQ(got.message, "the job ended");
  EXPECT_EQ(q.submit(ControlCommand{}, 10).http_status, 503);
}

TEST(ControlQueue, NotesAreBounded) {
  ControlQueue q;
  for (int i = 0; i < 1500; ++i) q.note(std::to_string(i));
  const auto notes = q.take_notes();
  EXPECT_EQ(notes.size(), 1000u);
  EXPECT_EQ(notes.front(), "0");
  EXPECT_EQ(notes.back(), "999");
  EXPECT_TRUE(q.take_notes().empty());
}

TEST(SnapshotStore, KeepsTheLastN) {
  SnapshotStore s(3);
  EXPECT_EQ(s.latest(), nullptr);
  EXPECT_EQ(s.find(1), nullptr);
  for (std::uint64_t seq = 1; seq <= 10; ++seq) s.publish(snapshot(seq));
  ASSERT_NE(s.latest(), nullptr);
  EXPECT_EQ(s.latest()->seq, 10u);
  EXPECT_EQ(s.find(7), nullptr);
  for (std::uint64_t seq = 8; seq <= 10; ++seq) {
    ASSERT_NE(s.find(seq), nullptr) << seq;
    EXPECT_EQ(s.find(seq)->seq, seq);
    EXPECT_EQ(s.find(seq)->status_json, snapshot(seq).status_json);
  }
  EXPECT_EQ(s.find(11), nullptr);
  EXPECT_EQ(s.find(0), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Binding

/// A listening TCP socket on 127.0.0.1, bound the plain way (no SO_REUSEPORT), as another
/// program holding the port would have it.
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0) {
      ADD_FAILURE() << "could not hold a port";
      return;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~HeldPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port = 0;

 private:
  int fd_ = -1;
};

TEST(StatusServer, APortInUseIsAConfigErrorNamingTheKey) {
  HeldPort held;
  ASSERT_GT(held.port, 0);
  SnapshotStore store;
  ControlQueue control;
  ServerOptions o;
  o.listen = "127.0.0.1:" + std::to_string(held.port);
  o.listen_where = "status.listen (job.toml:42)";
  StatusServer s(o, store, control);
  try {
    s.start();
    // (start() returned once its accept loop runs, so the destructor's stop() ends it: no wait)
    ADD_FAILURE() << "bound a port already in use: " << s.url();
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("status.listen (job.toml:42)"), std::string::npos) << what;
    EXPECT_NE(what.find(o.listen), std::string::npos) << what;
  }
}

// Debian's cpp-httplib 0.11.4 sets SO_REUSEPORT on its listening sockets by default, with which
// a second ride master on the node could bind the status.listen the first one serves (and the
// kernel would split requests between the two jobs). The server sets SO_REUSEADDR alone.
TEST(StatusServer, APortServedByAnotherStatusServerIsAConfigError) {
  Harness first;
  SnapshotStore store;
  ControlQueue control;
  ServerOptions o;
  o.listen = "127.0.0.1:" + std::to_string(first.port);
  o.listen_where = "status.listen (job.toml:42)";
  StatusServer second(o, store, control);
  try {
    second.start();
    // (start() returned once its accept loop runs, so the destructor's stop() ends it: no wait)
    ADD_FAILURE() << "bound a port another StatusServer serves: " << second.url();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("status.listen (job.toml:42)"), std::string::npos) << e.what();
  }
}

// stop() right after start(): cpp-httplib 0.11's Server::stop() does nothing until the accept
// loop runs (upstream #1371), so start() waits for it; a job that ends moments after its server
// started must not hang. Run in a child with an alarm so a hang fails instead of hanging.
TEST(StatusServer, StopRightAfterStartReturns) {
  EXPECT_EXIT(
      {
        ::alarm(10);
        for (int i = 0; i < 20; ++i) {
          SnapshotStore store;
          ControlQueue control;
          StatusServer s(ServerOptions{}, store, control);
          s.start();
          s.stop();
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// An IPv6 address is written in brackets, as in a URL; the URL printed keeps them.
TEST(StatusServer, ListensOnABracketedIpv6Address) {
  SnapshotStore store;
  ControlQueue control;
  ServerOptions o;
  o.listen = "[::1]:0";
  o.listen_where = "status.listen (cli)";
  StatusServer s(o, store, control);
  try {
    s.start();
  } catch (const ConfigError& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(s.url().rfind("http://[::1]:", 0), 0u) << s.url();
  store.publish(snapshot(1));
  httplib::Client c("::1", Harness::port_of(s.url()));
  auto r = c.Get("/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  s.stop();
}

TEST(StatusServer, AHostThatIsNotThisMachinesIsAConfigError) {
  SnapshotStore store;
  ControlQueue control;
  ServerOptions o;
  o.listen = "192.0.2.1:0";  // TEST-NET-1: never an address of this machine
  o.listen_where = "status.listen (cli)";
  StatusServer s(o, store, control);
  try {
    s.start();
    FAIL() << "bound " << s.url();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("status.listen (cli)"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Concurrency: readers never see a torn snapshot

TEST(StatusServer, ConcurrentReadersSeeWholePublishedDocuments) {
  Harness h("", 16);
  constexpr std::size_t kPad = 20000;  // big enough that a torn copy would show
  h.store.publish(snapshot(1, kPad));
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> published{1};
  std::thread publisher([&] {
    std::uint64_t seq = 1;
    while (!done.load()) {
      h.store.publish(snapshot(++seq, kPad));
      published.store(seq);
      // Not synchronization: a publisher at ~5 kHz, far faster than a master's loop, so that
      // readers and publishes overlap all through the test.
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  constexpr int kClients = 16, kGets = 50;
  std::atomic<int> ok{0}, bad{0};
  std::mutex mu;
  std::vector<std::string> problems;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", h.port);
      c.set_keep_alive(i % 2 == 0);  // half reuse one connection, half connect each time
      c.set_connection_timeout(5, 0);
      c.set_read_timeout(5, 0);
      std::uint64_t last = 0;
      for (int k = 0; k < kGets; ++k) {
        auto r = c.Get("/status");
        std::string why;
        if (!r) {
          why = "no response: " + httplib::to_string(r.error());
        } else if (r->status != 200) {
          why = "status " + std::to_string(r->status);
        } else {
          const json j = json::parse(r->body, nullptr, false);
          if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned()) {
            why = "not a document (" + std::to_string(r->body.size()) + " bytes)";
          } else {
            const auto seq = j["seq"].get<std::uint64_t>();
            if (seq < 1 || seq > published.load() + 1) why = "seq " + std::to_string(seq) + " was never published";
            else if (r->body != snapshot(seq, kPad).status_json) why = "seq " + std::to_string(seq) + " differs";
            else if (seq < last) why = "seq went back from " + std::to_string(last) + " to " + std::to_string(seq);
            last = std::max(last, seq);
          }
        }
        if (why.empty()) {
          ++ok;
        } else {
          ++bad;
          std::lock_guard<std::mutex> lock(mu);
          if (problems.size() < 10) problems.push_back(why);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  done.store(true);
  publisher.join();
  EXPECT_EQ(bad.load(), 0) << (problems.empty() ? "" : problems.front());
  EXPECT_EQ(ok.load(), kClients * kGets);
  EXPECT_GT(published.load(), 1u);
}

}  // namespace
}  // namespace ride::status
