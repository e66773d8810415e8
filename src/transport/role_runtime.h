#pragma once
/// @brief What every role's loop shares: the start-up handshake and the final report.
#include <string>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/role_layout.h"
#include "transport/transport.h"

namespace ride {

/// Everything a role needs; passed by reference into each role's run function.
struct RoleContext {
  transport::Transport& net;
  const JobConfig& cfg;
  const RoleLayout& layout;
  Role role;
};

/// Sends HELLO (role, pid, host) to the master.
void send_hello(RoleContext& ctx);
/// Sends a JSON final report to the master and waits (bounded) for the send to complete.
void send_final_report(RoleContext& ctx, const nlohmann::json& report);
/// Reports a fatal error text to the master (best effort, bounded wait).
void send_error(RoleContext& ctx, const std::string& what);

/// JSON body helpers for the rare control messages that carry structured data.
Buffer json_body(const nlohmann::json& j);
nlohmann::json parse_json_body(const Buffer& b);

}  // namespace ride
