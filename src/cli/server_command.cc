// kiln server: the tracking/registry/artifacts HTTP server.
#include <iostream>

#include "cli/command_context.h"
#include "server/http_server.h"
#include "server/token_store.h"

#include <cstdlib>
#include "storage/database.h"

namespace kiln::cli {
namespace {

struct ServerFlags {
  std::string host = "127.0.0.1";
  int port = 5000;
  std::string data_dir = "./kiln-data";
  std::string store;
  std::string auth = "auto";
  double max_body_mb = 32;
  int threads = 0;
  std::string sync = "full";
  std::string online;
  int local_runs = 2;
  int slurm_runs = 4;
  std::string slurm_partition;
};

int RunServer(const ServerFlags& flags) {
  server::AppOptions options;
  options.data_dir = flags.data_dir;
  options.store_uri = flags.store;
  options.online_uri = flags.online;
  if (options.online_uri.empty()) {
    if (const char* env = std::getenv("KILN_ONLINE_STORE"); env != nullptr) options.online_uri = env;
  }
  options.durable_commits = flags.sync != "normal";
  options.local_concurrency = flags.local_runs;
  options.slurm_concurrency = flags.slurm_runs;
  options.slurm_partition = flags.slurm_partition;
  options.pool_size = 16;
  auto app = server::App::Open(options);
  if (!app.ok()) {
    std::cerr << "kiln: error: " << app.status().message() << "\n";
    return 1;
  }
  bool auth_on = AuthenticationOn(flags.auth, flags.host);
  server::AllowAllAuthenticator allow_all;
  server::TokenAuthenticator token_authenticator((*app)->tokens());
  server::Authenticator& authenticator =
      auth_on ? static_cast<server::Authenticator&>(token_authenticator) : allow_all;

  server::HttpServerOptions http;
  http.host = flags.host;
  http.port = flags.port;
  http.max_body_bytes = static_cast<uint64_t>(flags.max_body_mb * 1024 * 1024);
  http.temp_dir = (*app)->temp_dir();
  http.threads = flags.threads;
  server::HttpServer http_server((*app)->router(), authenticator, http);
  Status started = http_server.Start();
  if (!started.ok()) {
    std::cerr << "kiln: error: " << started.message() << "\n";
    return 1;
  }
  std::cerr << "kiln server listening on http://" << flags.host << ":" << http_server.port()
            << " (store " << (*app)->database().Describe() << ", auth " << (auth_on ? "on" : "off")
            << ")" << std::endl;
  http_server.Wait();
  std::cerr << "kiln server stopped" << std::endl;
  return 0;
}

}  // namespace

void AddServerCommand(CLI::App& root, CommandContext& context) {
  auto flags = std::make_shared<ServerFlags>();
  CLI::App* command = root.add_subcommand("server", "Run the tracking, registry and artifacts server");
  command->add_option("--host", flags->host, "Address to listen on")->capture_default_str();
  command->add_option("--port", flags->port, "Port to listen on (0 picks a free one)")->capture_default_str();
  command->add_option("--data-dir", flags->data_dir, "Data directory (SQLite store, artifacts)")
      ->capture_default_str();
  command->add_option("--store", flags->store, "Metadata store URI (default: SQLite in --data-dir)");
  command->add_option("--online", flags->online,
                      "Online feature store: rocksdb (default, in --data-dir) or redis://host:port "
                      "(default $KILN_ONLINE_STORE)");
  command->add_option("--auth", flags->auth, "Bearer-token authentication: on, off, or auto (off on loopback)")
      ->check(CLI::IsMember({"on", "off", "auto"}))
      ->capture_default_str();
  command->add_option("--max-body-mb", flags->max_body_mb, "Largest JSON request body accepted (413 beyond)")
      ->capture_default_str();
  command->add_option("--threads", flags->threads, "I/O threads (0: automatic)");
  command->add_option("--local-runs", flags->local_runs, "Training runs at once in local sandboxes")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  command->add_option("--slurm-runs", flags->slurm_runs, "Training runs at once on Slurm")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  command->add_option("--slurm-partition", flags->slurm_partition, "Slurm partition for runs that name none");
  command->add_option("--sync", flags->sync, "SQLite commit durability: full (power-loss safe) or normal")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  command->callback([flags, &context] { context.exit_code = RunServer(*flags); });
}

}  // namespace kiln::cli
