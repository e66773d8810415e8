#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "plan/model.h"

namespace rp = ride::plan;

namespace {
// Expects `fn` to throw ride::ConfigError whose message contains every string in `parts`.
template <class F>
void expect_error(F&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    FAIL() << "no exception";
  } catch (const ride::ConfigError& e) {
    const std::string m = e.what();
    for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "missing '" << p << "' in: " << m;
  }
}
}  // namespace

TEST(PlanCsv, CatalogParsesCommentsOptionalColumnsAndUnlimited) {
  const auto c = rp::parse_catalog(
      "# comment\n\nname,vcpus,mem_gb,hourly_usd,max_count,gpus\n"
      "a,4,16,0.25,,1\n  # indented comment\nb,8,30.5,0.5,3,\n",
      "cat.csv");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].name, "a");
  EXPECT_DOUBLE_EQ(c[0].vcpus, 4);
  EXPECT_DOUBLE_EQ(c[0].mem_gb, 16);
  EXPECT_DOUBLE_EQ(c[0].gpus, 1);
  EXPECT_EQ(c[0].max_count, 0);  // empty = unlimited
  EXPECT_DOUBLE_EQ(c[1].mem_gb, 30.5);
  EXPECT_EQ(c[1].max_count, 3);
  EXPECT_DOUBLE_EQ(c[1].gpus, 0);
}

TEST(PlanCsv, BuiltinCatalogIsTable2AndMatchesConfigFile) {
  const auto c = rp::builtin_catalog();
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].name, "m4.xlarge");
  EXPECT_DOUBLE_EQ(c[2].hourly_usd, 0.209);
  EXPECT_DOUBLE_EQ(c[5].mem_gb, 61.0);
  std::ifstream f(std::string(RIDE_SOURCE_DIR) + "/configs/catalogs/aws_table2.csv");
  ASSERT_TRUE(f) << "configs/catalogs/aws_table2.csv missing";
  std::ostringstream os;
  os << f.rdbuf();
  EXPECT_EQ(os.str(), rp::builtin_catalog_csv());
  const auto g = rp::read_catalog(std::string(RIDE_SOURCE_DIR) + "/configs/catalogs/gpu_example.csv");
  EXPECT_GT(g.size(), 3u);
  bool any_gpu = false;
  for (const auto& t : g) any_gpu = any_gpu || t.gpus > 0;
  EXPECT_TRUE(any_gpu);
}

TEST(PlanCsv, CatalogErrorsNameFileLineColumn) {
  const std::string h = "name,vcpus,mem_gb,gpus,hourly_usd,max_count\n";
  expect_error([&] { rp::parse_catalog(h + "a,4,16,0,0.2,0\nb,-4,16,0,0.2,0\n", "c.csv"); },
               {"c.csv:3", "column 'vcpus'", "-4"});
  expect_error([&] { rp::parse_catalog(h + "a,4,,0,0.2,0\n", "c.csv"); }, {"c.csv:2", "column 'mem_gb'", "missing"});
  expect_error([&] { rp::parse_catalog(h + "a,4,16,0,abc,0\n", "c.csv"); },
               {"c.csv:2", "column 'hourly_usd'", "not a number"});
  expect_error([&] { rp::parse_catalog(h + "a,4,16,0,0.2,1.5\n", "c.csv"); }, {"c.csv:2", "column 'max_count'"});
  expect_error([&] { rp::parse_catalog(h + "a,4,16,0,0.2,0\na,4,16,0,0.2,0\n", "c.csv"); },
               {"c.csv:3", "column 'name'", "duplicate"});
  expect_error([&] { rp::parse_catalog(h + "a,4,16,0,0.2\n", "c.csv"); }, {"c.csv:2", "expected 6 columns"});
  expect_error([&] { rp::parse_catalog(h, "c.csv"); }, {"c.csv", "no data rows"});
  expect_error([&] { rp::parse_catalog("", "c.csv"); }, {"c.csv", "no header"});
  expect_error([&] { rp::parse_catalog("name,vcpus,hourly_usd\na,1,1\n", "c.csv"); },
               {"c.csv:1", "column 'mem_gb'", "missing from header"});
  expect_error([&] { rp::parse_catalog("name,vcpus,mem_gb,hourly_usd,color\na,1,1,1,red\n", "c.csv"); },
               {"c.csv:1", "column 'color'", "unknown"});
  expect_error([&] { rp::parse_catalog(h + "a,4,16,0,nan,0\n", "c.csv"); }, {"c.csv:2", "column 'hourly_usd'"});
  expect_error([&] { rp::parse_catalog(h + "a,0,16,0,0.2,0\n", "c.csv"); }, {"c.csv:2", "column 'vcpus'", "> 0"});
  expect_error([&] { rp::read_catalog("/nonexistent/cat.csv"); }, {"/nonexistent/cat.csv", "cannot open"});
}

TEST(PlanCsv, RequirementsAndScenario) {
  const auto r = rp::parse_requirements(
      "program,width,height,cpu_per_fps,cpu_base,mem_gb,gpu\nHD,640,480,2,0.1,0.5,0.25\nFT,640,480,0.1,0,0.3,\n",
      "r.csv");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_DOUBLE_EQ(r[0].gpu, 0.25);
  EXPECT_DOUBLE_EQ(r[1].gpu, 0);
  EXPECT_EQ(r[1].source, "r.csv:3");
  const auto s = rp::parse_scenario("program,fps,cameras,width,height\nHD,0.5,10,640,480\n", "s.csv");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].cameras, 10);
  EXPECT_EQ(s[0].source, "s.csv:2");

  const std::string rh = "program,width,height,cpu_per_fps,cpu_base,mem_gb\n";
  expect_error([&] { rp::parse_requirements(rh + "HD,640,480,2,0.1,-0.5\n", "r.csv"); },
               {"r.csv:2", "column 'mem_gb'"});
  expect_error([&] { rp::parse_requirements(rh + "HD,640.5,480,2,0.1,0.5\n", "r.csv"); }, {"r.csv:2", "column 'width'"});
  expect_error([&] { rp::parse_requirements(rh + "HD,640,0,2,0.1,0.5\n", "r.csv"); }, {"r.csv:2", "column 'height'"});
  expect_error([&] { rp::parse_requirements(rh + "HD,640,480,2,0.1,0.5\nHD,640,480,1,0,1\n", "r.csv"); },
               {"r.csv:3", "duplicate"});
  expect_error([&] { rp::parse_requirements(rh + ",640,480,2,0.1,0.5\n", "r.csv"); }, {"r.csv:2", "column 'program'"});
  const std::string sh = "program,fps,cameras,width,height\n";
  expect_error([&] { rp::parse_scenario(sh + "HD,0,10,640,480\n", "s.csv"); }, {"s.csv:2", "column 'fps'"});
  expect_error([&] { rp::parse_scenario(sh + "HD,1,-1,640,480\n", "s.csv"); }, {"s.csv:2", "column 'cameras'"});
  expect_error([&] { rp::parse_scenario(sh + "HD,1,2.5,640,480\n", "s.csv"); }, {"s.csv:2", "column 'cameras'"});
}
