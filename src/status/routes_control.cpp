// POST /control/...: job control behind a bearer token. The request is checked here (token,
// form); what it asks is decided and carried out by the master's loop (ControlQueue), and its
// answer is the response.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <string>

#include "status/status_server.h"

namespace ride::status::routes {

namespace {

std::string caller_of(const httplib::Request& req) {
  std::string c = req.remote_addr + ":" + std::to_string(req.remote_port);
  const std::string agent = req.get_header_value("User-Agent");
  if (!agent.empty()) c += " (" + agent.substr(0, 80) + ")";
  return c;
}

void reply(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"ok", status >= 200 && status < 300}, {"message", message}}.dump() + "\n",
                  "application/json");
}

/// Constant time in the token's length: how much of a guess matched must not show in the timing.
bool same_token(const std::string& a, const std::string& b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

/// The token check every control request passes first; false (and the response set) if refused.
bool authorized(const httplib::Request& req, httplib::Response& res, ControlQueue& control,
                const ServerOptions& opts) {
  auto refuse = [&](int status, const std::string& why) {
    control.note("refused " + req.method + " " + req.path + " from " + caller_of(req) + ": " + why);
    if (status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"ride\"");
    reply(res, status, why);
    return false;
  };
  if (opts.token.empty()) return refuse(403, "control is disabled (status.token = off)");
  const std::string auth = req.get_header_value("Authorization");
  if (auth.empty()) return refuse(401, "missing Authorization: Bearer TOKEN (printed at start-up, or status.token)");
  // The scheme is case-insensitive (RFC 7235); the token is not.
  const std::string scheme = "bearer ";
  std::string given = auth.substr(0, std::min(auth.size(), scheme.size()));
  for (char& ch : given) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (auth.size() <= scheme.size() || given != scheme) return refuse(401, "Authorization must be: Bearer TOKEN");
  if (!same_token(auth.substr(scheme.size()), opts.token)) return refuse(401, "wrong token");
  return true;
}

/// The request's body, read here and not by the library: cpp-httplib 0.11 reads a POST without
/// Content-Length until the client closes (curl -X POST sends none), so a body is read only
/// when one is announced. Control bodies are small: over 64 KB is refused.
bool read_body(const httplib::Request& req, const httplib::ContentReader& reader, std::string& body) {
  const bool announced = req.has_header("Transfer-Encoding") ||
                         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
  if (!announced) return true;
  return reader([&body](const char* data, std::size_t n) {
    if (body.size() + n > 65536) return false;
    body.append(data, n);
    return true;
  });
}

/// The worker count of POST /control/stages/NAME/workers: ?count=N, a form body count=N, a
/// JSON body {"count": N}, or a bare number as the body.
bool parse_count(const httplib::Request& req, const std::string& body, int& count, std::string& error) {
  std::string text;
  if (req.has_param("count") || req.has_param("workers")) {
    text = req.get_param_value(req.has_param("count") ? "count" : "workers");
  } else if (body.rfind("count=", 0) == 0 || body.rfind("workers=", 0) == 0) {
    text = body.substr(body.find('=') + 1);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  } else if (!body.empty() && body.find_first_not_of(" \t\r\n") != std::string::npos) {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object()) {
      auto it = j.find("count");
      if (it == j.end()) it = j.find("workers");  // {"workers": N} reads as naturally
      if (it == j.end()) {
        error = "the JSON body has no \"count\"";
        return false;
      }
      if (!it->is_number_integer()) {
        error = "\"count\" must be an integer";
        return false;
      }
      const auto v = it->get<long long>();
      if (v < 1 || v > 1000000) {
        error = "count must be at least 1";
        return false;
      }
      count = static_cast<int>(v);
      return true;
    }
    if (j.is_number_integer()) {
      text = std::to_string(j.get<long long>());
    } else {
      error = "the body must be {\"count\": N}, a number, or count=N";
      return false;
    }
  } else {
    error = "say how many workers: {\"count\": N}, ?count=N, or count=N in the body";
    return false;
  }
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    if (v < 1 || v > 1000000) {
      error = "count must be at least 1";
      return false;
    }
    count = static_cast<int>(v);
    return true;
  } catch (const std::exception&) {
    error = "count must be an integer, got \"" + text.substr(0, 40) + "\"";
    return false;
  }
}

}  // namespace

/// A malformed command (after the token check): answered 400 and logged with its caller.
void malformed(const httplib::Request& req, httplib::Response& res, ControlQueue& control, const std::string& why) {
  control.note("malformed " + req.method + " " + req.path + " from " + caller_of(req) + ": " + why);
  reply(res, 400, why);
}

void add_control(httplib::Server& http, ControlQueue& control, const ServerOptions& opts) {
  // Every route takes the body itself (read_body): see there why.
  using Reader = httplib::ContentReader;
  auto submit = [&control, &opts](ControlCommand c, const httplib::Request& req, httplib::Response& res) {
    c.caller = caller_of(req);
    const ControlReply r = control.submit(std::move(c), opts.control_timeout_s);
    reply(res, r.http_status, r.message);
  };
  auto prologue = [&control, &opts](const httplib::Request& req, httplib::Response& res, const Reader& reader,
                                    std::string& body) {
    if (!read_body(req, reader, body)) {
      reply(res, 413, "the body is too large or broken off (control bodies are small JSON)");
      return false;
    }
    return authorized(req, res, control, opts);
  };
  http.Post("/control/drain", [prologue, submit](const httplib::Request& req, httplib::Response& res, const Reader& reader) {
    std::string body;
    if (!prologue(req, res, reader, body)) return;
    submit(ControlCommand{ControlCommand::Kind::drain, 0, {}, 0, {}}, req, res);
  });
  http.Post(R"(/control/streams/([^/]+)/([^/]+))",
            [prologue, submit, &control](const httplib::Request& req, httplib::Response& res, const Reader& reader) {
              std::string body;
              if (!prologue(req, res, reader, body)) return;
              const std::string id = req.matches[1], verb = req.matches[2];
              ControlCommand c;
              if (verb == "pause") c.kind = ControlCommand::Kind::pause;
              else if (verb == "resume") c.kind = ControlCommand::Kind::resume;
              else return reply(res, 404, "no such command: streams/<id>/pause or /resume");
              try {
                std::size_t used = 0;
                const unsigned long v = std::stoul(id, &used);
                if (used != id.size() || id[0] == '-' || v > 0xffffffffUL) throw std::invalid_argument(id);
                c.stream = static_cast<std::uint32_t>(v);
              } catch (const std::exception&) {
                return malformed(req, res, control,
                                 "a stream id is a number (the stream's index in the job), got \"" + id.substr(0, 40) + "\"");
              }
              submit(std::move(c), req, res);
            });
  http.Post(R"(/control/stages/([^/]+)/workers)",
            [prologue, submit, &control](const httplib::Request& req, httplib::Response& res, const Reader& reader) {
              std::string body;
              if (!prologue(req, res, reader, body)) return;
              ControlCommand c;
              c.kind = ControlCommand::Kind::workers;
              c.stage = req.matches[1];
              std::string error;
              if (!parse_count(req, body, c.count, error)) return malformed(req, res, control, error);
              submit(std::move(c), req, res);
            });
  http.Post(R"(/control/.*)", [prologue](const httplib::Request& req, httplib::Response& res, const Reader& reader) {
    std::string body;
    if (!prologue(req, res, reader, body)) return;
    reply(res, 404,
          "no such command; there are POST /control/drain, /control/streams/ID/pause, "
          "/control/streams/ID/resume and /control/stages/NAME/workers");
  });
}

}  // namespace ride::status::routes
