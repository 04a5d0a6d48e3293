#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/command_context.h"
#include "common/version.h"

namespace kiln::cli {

int RunCli(int argc, char** argv) {
  CLI::App root{"Kiln: features, training, tracking, registry, serving, experiments and monitoring in one binary",
                "kiln"};
  root.require_subcommand(1);
  root.set_version_flag("--version", kVersion);
  CommandContext context;
  AddServerCommand(root, context);
  AddServeCommand(root, context);
  AddProjectsCommand(root, context);
  AddRunsCommand(root, context);
  AddModelsCommand(root, context);
  AddTokensCommand(root, context);
  AddFeaturesCommand(root, context);
  AddTrainingCommands(root, context);
  AddStatsCommand(root, context);
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = root.exit(error);
    return code == 0 ? 0 : 2;
  }
  return context.exit_code;
}

}  // namespace kiln::cli
