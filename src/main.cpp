#include "cli/commands.h"

int main(int argc, char** argv) { return seer::cli::run_cli(argc, argv); }
