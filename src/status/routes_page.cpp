// GET /: the live page (src/status/page.html, no build step), which polls /status.
#include <httplib.h>

#include "status/status_server.h"

namespace ride::status::routes {

void add_page(httplib::Server& http) {
  auto page = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(kPageHtml, "text/html; charset=utf-8");
  };
  http.Get("/", page);
  http.Get("/index.html", page);
}

}  // namespace ride::status::routes
