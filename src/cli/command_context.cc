#include "cli/command_context.h"

#include "common/progress.h"

#include <cstdlib>
#include <iostream>

namespace kiln::cli {

void CommandContext::AddTargetOptions(CLI::App* command) {
  command->add_option("--data-dir", data_dir, "Local data directory (default ./kiln-data)");
  command->add_option("--store", store, "Metadata store URI (sqlite:///path or postgresql://...)");
  command->add_option("--server", server, "Kiln server URL, e.g. http://127.0.0.1:5000 (default $KILN_TRACKING_URI)");
  command->add_option("--token", token, "Bearer token for --server (default $KILN_TOKEN)");
  command->add_option("--online", online,
                      "Online feature store for the local data directory: rocksdb (default) or "
                      "redis://host:port (default $KILN_ONLINE_STORE)");
  command->add_flag_callback("--quiet,-q", [this] {
        quiet = true;
        Progress::SetGloballyQuiet(true);
      },
                             "No progress lines (they only show on a terminal anyway)");
}

void CommandContext::AddJsonOption(CLI::App* command) {
  command->add_flag("--json", json, "Print the API's JSON instead of a table");
}

Result<ApiClient*> CommandContext::Client() {
  if (client_) return client_.get();
  std::string url = server;
  if (url.empty() && data_dir.empty() && store.empty()) {
    if (const char* env = std::getenv("KILN_TRACKING_URI"); env != nullptr) url = env;
  }
  if (!url.empty()) {
    std::string bearer = token;
    if (bearer.empty()) {
      if (const char* env = std::getenv("KILN_TOKEN"); env != nullptr) bearer = env;
    }
    KILN_ASSIGN_OR_RETURN(client_, MakeHttpClient(url, bearer));
    return client_.get();
  }
  server::AppOptions options;
  if (!data_dir.empty()) options.data_dir = data_dir;
  options.store_uri = store;
  options.online_uri = online;
  if (options.online_uri.empty()) {
    if (const char* env = std::getenv("KILN_ONLINE_STORE"); env != nullptr) options.online_uri = env;
  }
  options.pool_size = 2;
  KILN_ASSIGN_OR_RETURN(app_, server::App::Open(options));
  client_ = MakeLocalClient(*app_);
  return client_.get();
}

void CommandContext::Fail(const Status& status) {
  std::cerr << "kiln: error: " << status.message() << "\n";
  exit_code = 1;
}

bool AuthenticationOn(const std::string& auth, const std::string& host) {
  const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
  return auth == "on" || (auth == "auto" && !loopback);
}

}  // namespace kiln::cli
