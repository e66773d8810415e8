#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "plan/plan.h"
#include "plan/plan_cli.h"

namespace rp = ride::plan;

namespace {
const std::string kDir = std::string(RIDE_SOURCE_DIR) + "/bench/plan/";

std::vector<rp::InstanceType> xlarge_only() {
  std::vector<rp::InstanceType> out;
  for (const auto& t : rp::builtin_catalog())
    if (t.name.find("2xlarge") == std::string::npos) out.push_back(t);
  return out;
}

int types_used(const rp::PlanResult& r) { return static_cast<int>(rp::instance_counts(r).size()); }

std::string tmp_path(const std::string& name) {
  return ::testing::TempDir() + "ride_plan_" + name;
}
void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
}  // namespace

class PlanStrategies : public ::testing::TestWithParam<std::string> {};

TEST_P(PlanStrategies, PaperRelationsHoldOnDerivedRequirements) {
  const auto reqs = rp::read_requirements(kDir + "requirements_cam2_derived.csv");
  const auto scen = rp::read_scenario(kDir + GetParam());
  for (const auto& catalog : {xlarge_only(), rp::builtin_catalog()}) {
    for (auto solver : {rp::SolverKind::kHybrid, rp::SolverKind::kFfod}) {
      std::map<rp::Strategy, rp::PlanResult> res;
      for (auto st : {rp::Strategy::kST1, rp::Strategy::kST2, rp::Strategy::kST3, rp::Strategy::kST4,
                      rp::Strategy::kST5}) {
        rp::PlanOptions o;
        o.strategy = st;
        o.solver = solver;
        res.emplace(st, rp::make_plan(catalog, reqs, scen, o));
        const auto& r = res.at(st);
        ASSERT_NO_THROW(rp::check_packing(r.problem, r.packing));  // every camera once, no bin > 70 %
        for (const auto& b : r.packing.bins) {
          const auto u = rp::utilization(r, b);
          EXPECT_LE(u[0], 0.7 + 1e-9);
          EXPECT_LE(u[1], 0.7 + 1e-9);
        }
      }
      EXPECT_EQ(rp::instance_counts(res.at(rp::Strategy::kST1)).at(0).first, "m4.xlarge");
      EXPECT_EQ(rp::instance_counts(res.at(rp::Strategy::kST2)).at(0).first, "c4.xlarge");
      EXPECT_EQ(rp::instance_counts(res.at(rp::Strategy::kST3)).at(0).first, "r3.xlarge");
      for (auto st : {rp::Strategy::kST1, rp::Strategy::kST2, rp::Strategy::kST3})
        EXPECT_EQ(types_used(res.at(st)), 1);
      const double st5 = res.at(rp::Strategy::kST5).packing.cost;
      if (solver == rp::SolverKind::kHybrid) {
        for (auto st : {rp::Strategy::kST1, rp::Strategy::kST2, rp::Strategy::kST3, rp::Strategy::kST4})
          EXPECT_LE(st5, res.at(st).packing.cost + 1e-9) << rp::to_string(st);
      }
      EXPECT_GE(res.at(rp::Strategy::kST4).packing.cost, st5 - 1e-9);
      if (solver == rp::SolverKind::kHybrid) {
        // Every bound is below its own plan; ST5's (all types, sharing) is below ST4's, the
        // restriction of it; ST1-ST3's are below their plans too.
        for (auto st : {rp::Strategy::kST1, rp::Strategy::kST2, rp::Strategy::kST3, rp::Strategy::kST4,
                        rp::Strategy::kST5}) {
          const auto& pk = res.at(st).packing;
          ASSERT_TRUE(std::isfinite(pk.lower_bound)) << rp::to_string(st);
          EXPECT_LE(pk.lower_bound, pk.cost + 1e-7) << rp::to_string(st);
        }
        EXPECT_LE(res.at(rp::Strategy::kST5).packing.lower_bound,
                  res.at(rp::Strategy::kST4).packing.lower_bound + 1e-7);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cam2Scenarios, PlanStrategies,
                         ::testing::Values("scenario_table8.csv", "scenario_table10.csv", "scenario_table12.csv",
                                           "scenario_table5_A.csv", "scenario_table5_B.csv",
                                           "scenario_table5_C.csv"));

TEST(PlanStrategy, St4DoesNotShareInstancesBetweenPrograms) {
  const auto reqs = rp::read_requirements(kDir + "requirements_cam2_derived.csv");
  const auto scen = rp::read_scenario(kDir + "scenario_table12.csv");
  rp::PlanOptions o;
  o.strategy = rp::Strategy::kST4;
  const auto r = rp::make_plan(rp::builtin_catalog(), reqs, scen, o);
  std::map<std::string, std::set<int>> types_of_program;
  for (const auto& b : r.packing.bins) {
    std::set<std::string> progs;
    for (std::size_t i = 0; i < b.counts.size(); ++i)
      if (b.counts[i] > 0) {
        progs.insert(r.classes[i].program);
        types_of_program[r.classes[i].program].insert(b.type);
      }
    EXPECT_EQ(progs.size(), 1u);
  }
  for (const auto& [prog, types] : types_of_program) EXPECT_EQ(types.size(), 1u) << prog;
}

TEST(PlanStrategy, FixedTypeFallbackAndOverride) {
  std::vector<rp::InstanceType> cat = {{"gp", 4, 16, 0, 0.2, 0}, {"cpu", 4, 8, 0, 0.18, 0},
                                       {"mem", 4, 32, 0, 0.3, 0}, {"big", 16, 64, 0, 0.9, 0}};
  EXPECT_EQ(rp::fixed_type_index(cat, rp::Strategy::kST1, ""), 0u);
  EXPECT_EQ(rp::fixed_type_index(cat, rp::Strategy::kST2, ""), 1u);
  EXPECT_EQ(rp::fixed_type_index(cat, rp::Strategy::kST3, ""), 2u);
  EXPECT_EQ(rp::fixed_type_index(cat, rp::Strategy::kST3, "big"), 3u);
  EXPECT_THROW(rp::fixed_type_index(cat, rp::Strategy::kST1, "nope"), ride::ConfigError);
  EXPECT_THROW(rp::fixed_type_index({}, rp::Strategy::kST1, ""), ride::ConfigError);
}

TEST(PlanStrategy, ClassesMergeAndUnknownProgramOrResolutionNameScenarioLine) {
  const auto reqs = rp::parse_requirements(
      "program,width,height,cpu_per_fps,cpu_base,mem_gb\nHD,640,480,2,0.1,0.5\n", "r.csv");
  auto cls = rp::build_classes(
      reqs, rp::parse_scenario("program,fps,cameras,width,height\nHD,0.5,3,640,480\nHD,0.5,4,640,480\n", "s.csv"));
  ASSERT_EQ(cls.size(), 1u);
  EXPECT_EQ(cls[0].cameras, 7);
  EXPECT_DOUBLE_EQ(cls[0].cpu, 2 * 0.5 + 0.1);
  try {
    rp::build_classes(reqs, rp::parse_scenario("program,fps,cameras,width,height\nHD,1,1,640,480\nXX,1,1,640,480\n", "s.csv"));
    FAIL();
  } catch (const ride::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("s.csv:3: column 'program'"), std::string::npos) << e.what();
  }
  try {
    rp::build_classes(reqs, rp::parse_scenario("program,fps,cameras,width,height\nHD,1,1,1280,720\n", "s.csv"));
    FAIL();
  } catch (const ride::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("s.csv:2: column 'width'"), std::string::npos) << e.what();
  }
}

TEST(PlanCli, JsonCsvSbatchAndErrors) {
  const std::string req = tmp_path("req.csv"), scen = tmp_path("scen.csv"), js = tmp_path("out.json"),
                    csv = tmp_path("out.csv"), sb = tmp_path("out.sbatch"), cat = tmp_path("cat.csv");
  write(req, "program,width,height,cpu_per_fps,cpu_base,mem_gb\nHD,640,480,2,0.1,0.5\nME,640,480,0.1,0,0.2\n");
  write(scen, "program,fps,cameras,width,height\nHD,0.5,10,640,480\nME,0.2,30,640,480\n");
  std::ostringstream out, err;
  ASSERT_EQ(rp::plan_main({"--requirements", req, "--scenario", scen, "--strategy", "st5", "--solver", "exact",
                           "--target-util", "0.7", "--json", js, "--csv", csv, "--sbatch", sb},
                          out, err),
            0)
      << err.str();
  EXPECT_NE(out.str().find("hourly cost"), std::string::npos);
  std::ifstream jf(js);
  const auto j = nlohmann::json::parse(jf);
  double sum = 0;
  int n = 0;
  for (const auto& i : j.at("instances")) {
    n += i.at("count").get<int>();
    sum += i.at("count").get<int>() * i.at("hourly_usd").get<double>();
  }
  EXPECT_NEAR(j.at("hourly_cost").get<double>(), sum, 1e-9);
  EXPECT_EQ(static_cast<int>(j.at("placement").size()), n);
  long cameras = 0;
  for (const auto& inst : j.at("placement"))
    for (const auto& s : inst.at("streams")) cameras += s.at("count").get<long>();
  EXPECT_EQ(cameras, 40);
  std::ifstream cf(csv);
  std::string header;
  std::getline(cf, header);
  EXPECT_EQ(header.rfind("instance,type,program", 0), 0u);
  std::ifstream sf(sb);
  std::stringstream sbs;
  sbs << sf.rdbuf();
  EXPECT_NE(sbs.str().find("#SBATCH --nodes="), std::string::npos);
  EXPECT_NE(sbs.str().find("#SBATCH --mem="), std::string::npos);

  // --help, bad flags, bad files
  std::ostringstream o2, e2;
  EXPECT_EQ(rp::plan_main({"--help"}, o2, e2), 0);
  EXPECT_NE(o2.str().find("--catalog"), std::string::npos);
  EXPECT_EQ(rp::plan_main({"--requirements", req}, o2, e2), 2);
  EXPECT_EQ(rp::plan_main({"--bogus"}, o2, e2), 2);
  std::ostringstream e3;
  EXPECT_EQ(rp::plan_main({"--requirements", req, "--scenario", scen, "--strategy", "st9"}, o2, e3), 2);
  EXPECT_NE(e3.str().find("st9"), std::string::npos);
  std::ostringstream e4;
  EXPECT_EQ(rp::plan_main({"--requirements", req, "--scenario", scen, "--target-util", "1.5"}, o2, e4), 2);
  write(cat, "name,vcpus,mem_gb,gpus,hourly_usd,max_count\nsmall,1,1,0,0.1,0\n");
  std::ostringstream e5;
  EXPECT_EQ(rp::plan_main({"--catalog", cat, "--requirements", req, "--scenario", scen}, o2, e5), 2);
  EXPECT_NE(e5.str().find(scen + ":2"), std::string::npos) << e5.str();  // HD stream fits no type
  write(cat, "name,vcpus,mem_gb,gpus,hourly_usd,max_count\n");
  std::ostringstream e6;
  EXPECT_EQ(rp::plan_main({"--catalog", cat, "--requirements", req, "--scenario", scen}, o2, e6), 2);
  EXPECT_NE(e6.str().find("no data rows"), std::string::npos) << e6.str();
  write(cat, "name,vcpus,mem_gb,gpus,hourly_usd,max_count\nm4.xlarge,4,16,0,0.239,1\n");
  std::ostringstream e7;  // the limit of 1 instance cannot hold 10 HD streams
  EXPECT_EQ(rp::plan_main({"--catalog", cat, "--requirements", req, "--scenario", scen}, o2, e7), 2);
  EXPECT_NE(e7.str().find("limit"), std::string::npos) << e7.str();
  for (const auto& f : {req, scen, js, csv, sb, cat}) std::remove(f.c_str());
}
