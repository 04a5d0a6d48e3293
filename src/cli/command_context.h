#pragma once
// Options every API-using subcommand shares (--data-dir, --store, --server,
// --token, --json) and the client they select.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/api_client.h"
#include "server/app.h"

namespace kiln::cli {

struct CommandContext {
  std::string data_dir;
  std::string store;
  std::string server;
  std::string token;
  std::string online;
  bool json = false;
  bool quiet = false;
  int exit_code = 0;

  // Adds the target options to a subcommand.
  void AddTargetOptions(CLI::App* command);
  void AddJsonOption(CLI::App* command);

  // --server (or KILN_TRACKING_URI when neither --data-dir nor --store is
  // given) selects HTTP; otherwise the local data directory (default
  // ./kiln-data) is opened in-process.
  Result<ApiClient*> Client();

  // Prints "kiln: error: ..." and sets exit_code = 1.
  void Fail(const Status& status);

 private:
  std::unique_ptr<server::App> app_;
  std::unique_ptr<ApiClient> client_;
};

// --auth of `kiln server` and `kiln serve`: "on", "off", or "auto" (on unless
// the server listens on a loopback address).
bool AuthenticationOn(const std::string& auth, const std::string& host);

void AddServerCommand(CLI::App& root, CommandContext& context);
void AddServeCommand(CLI::App& root, CommandContext& context);
void AddProjectsCommand(CLI::App& root, CommandContext& context);
void AddRunsCommand(CLI::App& root, CommandContext& context);
void AddModelsCommand(CLI::App& root, CommandContext& context);
void AddTokensCommand(CLI::App& root, CommandContext& context);
void AddFeaturesCommand(CLI::App& root, CommandContext& context);
void AddTrainingCommands(CLI::App& root, CommandContext& context);       // training_command.cc
void AddTrainingRunCommands(CLI::App* runs, CommandContext& context);   // runs cancel|reproduce|queue
void AddModelGuardrailCommands(CLI::App* models, CommandContext& context);  // promotion_command.cc
void AddStatsCommand(CLI::App& root, CommandContext& context);

}  // namespace kiln::cli
