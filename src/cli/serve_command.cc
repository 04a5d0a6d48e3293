// kiln serve: the prediction server (docs/serving/serve.md).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "cli/command_context.h"
#include "server/http_server.h"
#include "server/serve_app.h"
#include "server/token_store.h"
#include "serving/prediction_log.h"

namespace kiln::cli {
namespace {

struct ServeFlags {
  std::string models;
  std::string config;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string data_dir = "./kiln-data";
  std::string store;
  std::string online;
  std::string auth = "auto";
  int threads = 0;
  size_t max_batch_rows = 1000;
  size_t log_queue = 100'000;
  int reload_ms = 250;
  std::string prediction_log = "auto";
};

// A YAML file with the same settings as the flags (models as a list);
// flags given on the command line win.
Status ReadConfig(const std::string& path, ServeFlags& flags, const CLI::App& command) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& error) {
    return InvalidArgument("cannot read serve config " + path + ": " + error.what());
  }
  if (!root.IsMap()) return InvalidArgument(path + ": expected a mapping of settings");
  auto given = [&](const char* flag) { return command.count(flag) > 0; };
  try {
    for (const auto& item : root) {
      const std::string key = item.first.as<std::string>();
      const YAML::Node& value = item.second;
      if (key == "models") {
        if (given("--models")) continue;
        std::string list;
        if (value.IsSequence()) {
          for (const auto& model : value) list += (list.empty() ? "" : ",") + model.as<std::string>();
        } else {
          list = value.as<std::string>();
        }
        flags.models = list;
      } else if (key == "host") {
        if (!given("--host")) flags.host = value.as<std::string>();
      } else if (key == "port") {
        if (!given("--port")) flags.port = value.as<int>();
      } else if (key == "data_dir") {
        if (!given("--data-dir")) flags.data_dir = value.as<std::string>();
      } else if (key == "store") {
        if (!given("--store")) flags.store = value.as<std::string>();
      } else if (key == "online") {
        if (!given("--online")) flags.online = value.as<std::string>();
      } else if (key == "threads") {
        if (!given("--threads")) flags.threads = value.as<int>();
      } else if (key == "max_batch_rows") {
        if (!given("--max-batch-rows")) flags.max_batch_rows = value.as<size_t>();
      } else if (key == "log_queue") {
        if (!given("--log-queue")) flags.log_queue = value.as<size_t>();
      } else if (key == "reload_ms") {
        if (!given("--reload-ms")) flags.reload_ms = value.as<int>();
      } else if (key == "prediction_log") {
        if (!given("--prediction-log")) flags.prediction_log = value.as<std::string>();
      } else if (key == "auth") {
        if (!given("--auth")) flags.auth = value.as<std::string>();
      } else {
        return InvalidArgument(path + ":" + std::to_string(item.first.Mark().line + 1) + ": unknown setting '" + key +
                               "' (models, host, port, data_dir, store, online, auth, threads, max_batch_rows, "
                               "log_queue, reload_ms, prediction_log)");
      }
    }
  } catch (const YAML::Exception& error) {
    return InvalidArgument(path + ":" + std::to_string(error.mark.line + 1) + ": " + error.msg);
  }
  return Status::Ok();
}

int RunServe(ServeFlags flags, const CLI::App& command) {
  auto fail = [](const std::string& message) {
    std::cerr << "kiln: error: " << message << "\n";
    return 1;
  };
  if (!flags.config.empty()) {
    Status read = ReadConfig(flags.config, flags, command);
    if (!read.ok()) return fail(read.message());
  }
  server::ServeOptions options;
  auto refs = serving::ParseModelRefs(flags.models);
  if (!refs.ok()) return fail(refs.status().message());
  options.models = std::move(*refs);
  options.data_dir = flags.data_dir;
  options.store_uri = flags.store;
  options.online_uri = flags.online;
  if (options.online_uri.empty()) {
    if (const char* env = std::getenv("KILN_ONLINE_STORE"); env != nullptr) options.online_uri = env;
  }
  options.reload_ms = flags.reload_ms;
  options.max_batch_rows = flags.max_batch_rows;
  options.log_capacity = flags.log_queue;
  options.prediction_log = flags.prediction_log;
  if (flags.max_batch_rows == 0 || flags.reload_ms <= 0 || flags.log_queue == 0) {
    return fail("--max-batch-rows, --reload-ms and --log-queue must be positive");
  }
  auto app = server::ServeApp::Open(options);
  if (!app.ok()) return fail(app.status().message());

  bool auth_on = AuthenticationOn(flags.auth, flags.host);
  server::AllowAllAuthenticator allow_all;
  server::TokenAuthenticator token_authenticator((*app)->tokens());
  server::Authenticator& authenticator =
      auth_on ? static_cast<server::Authenticator&>(token_authenticator) : allow_all;
  server::HttpServerOptions http;
  http.host = flags.host;
  http.port = flags.port;
  // One I/O thread per core: requests are CPU work, never blocking I/O.
  http.threads = flags.threads > 0 ? flags.threads : std::max(2u, std::thread::hardware_concurrency());
  http.max_body_bytes = 64ull << 20;
  server::HttpServer http_server((*app)->router(), authenticator, http);
  Status started = http_server.Start();
  if (!started.ok()) return fail(started.message());
  std::cerr << "kiln serve listening on http://" << flags.host << ":" << http_server.port() << " ("
            << (*app)->Describe() << ", auth " << (auth_on ? "on" : "off") << ")" << std::endl;
  http_server.Wait();  // SIGTERM/SIGINT: stop accepting, finish in-flight requests
  Status closed = (*app)->Close();
  if (serving::PredictionLog* log = (*app)->prediction_log(); log != nullptr) {
    serving::PredictionLogStats stats = log->stats();
    std::cerr << "kiln serve stopped: prediction log drained (" << stats.written << " written, " << stats.dropped
              << " dropped, " << stats.write_errors << " lost to write errors)" << std::endl;
  } else {
    std::cerr << "kiln serve stopped" << std::endl;
  }
  if (!closed.ok()) return fail(closed.message());
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& root, CommandContext& context) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* command = root.add_subcommand("serve", "Serve registered models by alias (Open Inference Protocol v2 and "
                                                   "/api/predict with online features)");
  command->add_option("--models", flags->models, "Models to serve: NAME@ALIAS[,NAME@ALIAS...]");
  command->add_option("--config", flags->config, "YAML file with these settings (flags win)");
  command->add_option("--host", flags->host, "Address to listen on")->capture_default_str();
  command->add_option("--port", flags->port, "Port to listen on (0 picks a free one)")->capture_default_str();
  command->add_option("--data-dir", flags->data_dir, "Data directory of the Kiln deployment")->capture_default_str();
  command->add_option("--store", flags->store, "Metadata store URI (default: SQLite in --data-dir)");
  command->add_option("--online", flags->online,
                      "Online store: rocksdb (read-only beside kiln server, default) or redis://host:port");
  command->add_option("--auth", flags->auth, "Bearer-token authentication: on, off, or auto (off on loopback)")
      ->capture_default_str();
  command->add_option("--threads", flags->threads, "I/O threads (0: one per core)");
  command->add_option("--max-batch-rows", flags->max_batch_rows, "Rows per request (413 beyond)")
      ->capture_default_str();
  command->add_option("--log-queue", flags->log_queue, "Predictions queued for the log before drops are counted")
      ->capture_default_str();
  command->add_option("--reload-ms", flags->reload_ms, "How often aliases are checked for moves")
      ->capture_default_str();
  command->add_option("--prediction-log", flags->prediction_log,
                      "auto (table with PostgreSQL, else files in DATA_DIR/predictions), file, sql or off")
      ->capture_default_str();
  command->callback([flags, command, &context] { context.exit_code = RunServe(*flags, *command); });
}

}  // namespace kiln::cli
