#pragma once
// Flags of `kiln features …`; the subcommands live in features_command.cc
// (definitions) and features_data_command.cc (data plane).

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/command_context.h"

namespace kiln::cli {

struct TrainingSetFlags {
  std::string project;
  std::string service;
  std::vector<std::string> features;
  std::string entities;
  std::string entities_source;
  std::string timestamp_column = "event_timestamp";
  std::vector<std::string> labels;
  std::string run_id;
  std::string name;
  std::string output;
  bool created_before_entity = false;
};

struct MaterializeFlags {
  std::string project;
  std::vector<std::string> views;
  std::string start;
  std::string end;
  bool incremental = false;
};

struct OnlineFlags {
  std::string project;
  std::string service;
  std::vector<std::string> features;
  std::vector<std::string> entities;
  std::vector<std::string> request;
  std::string entities_json;
  std::string as_of;
};

struct PushFlags {
  std::string project;
  std::string source;
  std::string file;
  std::string to = "online";
};

void AddFeatureDataCommands(CLI::App* features, CommandContext& context);
void AddSkewCommand(CLI::App* features, CommandContext& context);  // skew_command.cc

// Runs `fn` (returning a Status) as the command's callback; a failure is
// printed and sets the exit code.
template <typename Fn>
void BindCommand(CLI::App* command, CommandContext& context, Fn fn) {
  command->callback([&context, fn] {
    Status status = fn();
    if (!status.ok()) context.Fail(status);
  });
}

}  // namespace kiln::cli
