// Stand-alone `ride plan` until the lead wires plan_main into the ride executable:
//   cam2_plan_tool --requirements R.csv --scenario S.csv [options]   (same flags as `ride plan`)
#include <iostream>
#include <string>
#include <vector>

#include "plan/plan_cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return ride::plan::plan_main(args, std::cout, std::cerr);
}
