// kiln_bench_features: the in-process feature-store benchmarks. Prints one
// JSON object on stdout; bench/run-features runs the peers beside it.
#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "features_workloads.h"

namespace {

constexpr const char* kUsage = R"(usage: kiln_bench_features WORKLOAD [options]

workloads (every one takes --label TEXT):
  pit-join         --entities data/flights-3m.csv --views DIR (from pit_join_pandas.py prepare)
                   --set single|multi --threads 2 --repeats 3 --ttl-seconds 604800 --out FILE
                   point-in-time match + gather per view, CSV reading excluded; --out
                   writes the values (float64, NaN for a miss) for pit_join_pandas.py compare
  csv-ingest       --path data/flights-3m.csv --timestamp departure --repeats 3
  make-repository  --dir DIR --rows 10000 --entities 10000 --features 50 --span-seconds 3600
                   the synthetic repository (YAML + activity.csv, fresh timestamps)
  online           --entities 10000 --features 50 --seconds 5 --threads 1,2
                   GetOnlineFeatures (1 entity × all features), cached ReadInto,
                   uncached RocksDB Read; a fresh synthetic repository in /tmp
  materialize      [--repository DIR --project P --views a,b --end ISO]
                   (default: synthetic --rows 1000000 --entities 100000 --features 50)
                   --online redis://… (default RocksDB) --threads 2
)";

}  // namespace

int main(int argc, char** argv) {
  kiln_bench::Args args(argc, argv);
  using Workload = nlohmann::json (*)(kiln_bench::Args&);
  const std::map<std::string, Workload> workloads = {
      {"pit-join", kiln_bench::PitJoin},
      {"csv-ingest", kiln_bench::CsvIngest},
      {"make-repository", kiln_bench::MakeRepository},
      {"online", kiln_bench::OnlineLookups},
      {"materialize", kiln_bench::Materialize},
  };
  auto it = workloads.find(args.command());
  if (it == workloads.end()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  nlohmann::json out = it->second(args);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out["cpu_s"] = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  out["max_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  std::cout << out.dump() << std::endl;
  return 0;
}
