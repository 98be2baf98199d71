// Tests of the LibTorch runtime description and thread setting.
#include "measure/torch_info.h"

#include <gtest/gtest.h>

#include <regex>
#include <stdexcept>
#include <string>

namespace lj {
namespace {

TEST(TorchInfoTest, VersionIsMajorMinorPatch) {
  const std::string version = TorchVersion();
  EXPECT_TRUE(std::regex_match(version, std::regex(R"(\d+\.\d+\.\d+.*)"))) << version;
}

TEST(TorchInfoTest, BlasIsFoundAndNamed) {
  // LibTorch is linked against a BLAS (Debian: libblas.so.3), so sgemm_ must resolve.
  const std::string blas = BlasInfo();
  EXPECT_NE(blas, "none loaded");
  EXPECT_TRUE(blas.rfind("OpenBLAS", 0) == 0 || blas.rfind("MKL", 0) == 0 ||
              blas.rfind("BLIS", 0) == 0 || blas.rfind("ATLAS", 0) == 0 ||
              blas.rfind("reference BLAS", 0) == 0 || blas.rfind("unknown BLAS", 0) == 0)
      << blas;
  if (blas.rfind("OpenBLAS", 0) == 0) {
    // "OpenBLAS 0.3.21 (pthread, Haswell)": version and threading model are reported.
    EXPECT_TRUE(std::regex_search(
        blas, std::regex(R"(^OpenBLAS \d+\.\d+\.\d+ \((sequential|pthread|openmp))")))
        << blas;
  }
}

TEST(TorchInfoTest, SetTorchThreadsChangesIntraOpThreads) {
  SetTorchThreads(1);
  EXPECT_EQ(TorchThreads(), 1);
  EXPECT_NE(ParallelInfo().find("intra-op threads 1 "), std::string::npos) << ParallelInfo();
  EXPECT_NE(ParallelInfo().find("inter-op threads 1"), std::string::npos) << ParallelInfo();
  EXPECT_NE(ParallelInfo().find("OMP_WAIT_POLICY "), std::string::npos) << ParallelInfo();
  SetTorchThreads(2);
  EXPECT_EQ(TorchThreads(), 2);
  EXPECT_NE(ParallelInfo().find("intra-op threads 2 "), std::string::npos) << ParallelInfo();
  if (BlasInfo().rfind("OpenBLAS", 0) == 0) {
    EXPECT_NE(ParallelInfo().find("OpenBLAS threads 2"), std::string::npos) << ParallelInfo();
  }
}

TEST(TorchInfoTest, RejectsZeroThreads) { EXPECT_THROW(SetTorchThreads(0), std::invalid_argument); }

}  // namespace
}  // namespace lj
