// kiln tokens create|list|revoke: bearer tokens for --auth on.
#include <iostream>

#include "cli/command_context.h"
#include "cli/json_view.h"
#include "cli/table.h"

namespace kiln::cli {

void AddTokensCommand(CLI::App& root, CommandContext& context) {
  CLI::App* tokens = root.add_subcommand("tokens", "API tokens (reader, writer, admin)");
  tokens->require_subcommand(1);

  auto role = std::make_shared<std::string>();
  auto description = std::make_shared<std::string>();
  CLI::App* create = tokens->add_subcommand("create", "Issue a token; its secret is printed once");
  create->add_option("--role", *role, "reader, writer or admin")->required();
  create->add_option("--description", *description, "What the token is for");
  context.AddTargetOptions(create);
  context.AddJsonOption(create);
  create->callback([&context, role, description] {
    auto api = context.Client();
    if (!api.ok()) return context.Fail(api.status());
    auto created = (*api)->Call("POST", "/api/kiln/tokens/create", {{"role", *role}, {"description", *description}});
    if (!created.ok()) return context.Fail(created.status());
    if (context.json) return PrintJson(*created);
    std::cout << Str(*created, "token") << "\n";
    std::cerr << "token " << Str(*created, "token_id") << " (" << *role
              << "): store the secret above now; it is not shown again\n";
  });

  CLI::App* list = tokens->add_subcommand("list", "List tokens (never their secrets)");
  context.AddTargetOptions(list);
  context.AddJsonOption(list);
  list->callback([&context] {
    auto api = context.Client();
    if (!api.ok()) return context.Fail(api.status());
    auto listed = (*api)->Call("GET", "/api/kiln/tokens/list", Json::object());
    if (!listed.ok()) return context.Fail(listed.status());
    if (context.json) return PrintJson(*listed);
    Table table({"ID", "ROLE", "CREATED", "DESCRIPTION"});
    for (const Json& t : Array(*listed, "tokens")) {
      table.AddRow({Str(t, "token_id"), Str(t, "role"), FormatTime(Int(t, "created_time")), Str(t, "description")});
    }
    std::cout << table.Render();
  });

  auto token_id = std::make_shared<std::string>();
  CLI::App* revoke = tokens->add_subcommand("revoke", "Revoke a token");
  revoke->add_option("token_id", *token_id, "Token id (from 'kiln tokens list')")->required();
  context.AddTargetOptions(revoke);
  revoke->callback([&context, token_id] {
    auto api = context.Client();
    if (!api.ok()) return context.Fail(api.status());
    auto revoked = (*api)->Call("POST", "/api/kiln/tokens/revoke", {{"token_id", *token_id}});
    if (!revoked.ok()) return context.Fail(revoked.status());
    std::cout << "revoked token " << *token_id << "\n";
  });
}

}  // namespace kiln::cli
