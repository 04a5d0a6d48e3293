// The `kiln` binary: every capability behind one command line.
#include "cli/cli.h"

int main(int argc, char** argv) { return kiln::cli::RunCli(argc, argv); }
