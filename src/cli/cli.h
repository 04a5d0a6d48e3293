#pragma once
// The `kiln` command line. One file per subcommand group; each registers its
// subcommands on the root CLI11 app and calls module functions through an
// ApiClient, so local (data dir) and remote (--server) modes behave alike.

namespace kiln::cli {

// Parses argv and runs the chosen subcommand; returns the process exit code
// (0 ok, 1 failure, 2 usage error).
int RunCli(int argc, char** argv);

}  // namespace kiln::cli
