// kiln features skew: recompute logged predictions' features offline and
// report mismatches per feature (docs/features/skew.md).
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/features_command.h"
#include "cli/json_view.h"
#include "cli/table.h"
#include "common/progress.h"

namespace kiln::cli {
namespace {

struct SkewFlags {
  std::string model;
  int64_t version = 0;
  int64_t sample = 1000;
  int64_t seed = 1;
};

std::string FormatSeconds(double seconds) {
  char buffer[32];
  if (seconds >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%.1f h", seconds / 3600);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f s", seconds);
  }
  return buffer;
}

std::string FormatValue(const Json& value) {
  if (value.is_null()) return "null";
  return FormatNumber(value.get<double>());
}

Status Skew(CommandContext& context, const SkewFlags& flags) {
  KILN_ASSIGN_OR_RETURN(ApiClient * api, context.Client());
  Json request = {{"model", flags.model}, {"sample", flags.sample}, {"seed", flags.seed}};
  if (flags.version > 0) request["version"] = flags.version;
  KILN_ASSIGN_OR_RETURN(Json response, api->Call("POST", "/api/features/skew", request));
  if (context.json) {
    PrintJson(response);
    return Status::Ok();
  }
  std::cout << Str(response, "model") << " v" << Int(response, "version") << " on feature service "
            << Str(response, "feature_service") << " (project " << Str(response, "project") << "): "
            << FormatCount(Int(response, "predictions")) << " of " << FormatCount(Int(response, "logged"))
            << " logged predictions recomputed offline; " << FormatCount(Int(response, "mismatches"))
            << " mismatches\n";
  if (Int(response, "dropped") > 0) {
    std::cout << "note: the log reports " << FormatCount(Int(response, "dropped"))
              << " predictions dropped (queue full)\n";
  }
  std::cout << "online store lag behind prediction time: median "
            << FormatSeconds(Number(response, "staleness_p50_seconds")) << ", max "
            << FormatSeconds(Number(response, "staleness_max_seconds")) << "\n";
  Table table({"FEATURE", "COMPARED", "MISMATCHES", "MAX |DIFF|", "EXAMPLE (ONLINE vs OFFLINE)"});
  for (const Json& feature : Array(response, "features")) {
    std::string example = "-";
    const Json& examples = feature["examples"];
    if (examples.is_array() && !examples.empty()) {
      const Json& first = examples[0];
      example = Str(first, "prediction_id") + " " + Str(first, "entity") + ": " + FormatValue(first["online"]) +
                " vs " + FormatValue(first["offline"]);
    }
    table.AddRow({Str(feature, "feature"), FormatCount(Int(feature, "compared")),
                  FormatCount(Int(feature, "mismatches")), FormatNumber(Number(feature, "max_abs_difference")),
                  example});
  }
  std::cout << table.Render();
  return Status::Ok();
}

}  // namespace

void AddSkewCommand(CLI::App* features, CommandContext& context) {
  auto flags = std::make_shared<SkewFlags>();
  CLI::App* skew = features->add_subcommand(
      "skew", "Recompute logged predictions' features offline and report training/serving mismatches");
  skew->add_option("--model", flags->model, "Registered model whose predictions to check")->required();
  skew->add_option("--version", flags->version, "Model version (default: the most logged one in the sample)");
  skew->add_option("--sample", flags->sample, "How many logged predictions to recompute")->capture_default_str();
  skew->add_option("--seed", flags->seed, "Seed of the random sample")->capture_default_str();
  context.AddTargetOptions(skew);
  context.AddJsonOption(skew);
  BindCommand(skew, context, [&context, flags] { return Skew(context, *flags); });
}

}  // namespace kiln::cli
