// fake_powercap: runs a command in a private mount namespace that holds an emulated RAPL
// powercap tree at /sys/class/powercap, whose energy counters advance at given powers.
//
//   fake_powercap [--sockets 2] [--package-w 40,25] [--dram-w 3,2] [--psys-w 80]
//                 [--max-range-uj N] [--start-uj N | --wrap-after-s S] [--stuck]
//                 [--stuck-dram] [--reset-every-s S] [--vanish-after-s S] -- CMD ARGS...
//
// Defaults: 2 sockets, package power 40 W for socket 0 and 25 W for every other socket, no dram,
// no psys, max_energy_range_uj 262143328850, counters starting at 0. A single value of
// --package-w or --dram-w applies to every socket.
//
// The tree has the files and layout of intel_rapl_common that libpowercap 0.6 reads (paths are
// /sys/class/powercap/intel-rapl/intel-rapl:N[/intel-rapl:N:M], ids in hex, plus the
// /sys/class/powercap/intel-rapl:N[:M] symlinks):
//   intel-rapl/enabled                              control type, "1"
//   intel-rapl:N        name "package-N"            one per socket (--sockets)
//     intel-rapl:N:0    name "core"                 nested, half the package power (never to
//                                                   be added to the package: it is inside it)
//     intel-rapl:N:1    name "dram"                 nested, only with --dram-w
//   intel-rapl:S        name "psys"                 S = sockets, only with --psys-w
// Each zone has name, energy_uj (mode 0400, root only as since Linux 5.10), max_energy_range_uj,
// enabled, and constraint_K_{name,power_limit_uw,time_window_us,max_power_uw} (long_term,
// short_term for package and psys, long_term for core and dram).
//
// Counters: every 1 ms energy_uj = (start + floor(P * t * 1e6)) mod (max + 1), t the true time
// since the tree was built (CLOCK_MONOTONIC), so the total energy is exactly power * time to
// 1 uJ. Each value is written in place with one pwrite(2) of a fixed-width, space-padded
// decimal (libpowercap keeps the file open and reads it with pread at offset 0, so a rename()
// would leave it reading the old inode). On tmpfs the writer holds the page lock while it
// copies, and the reader takes that lock before copying; a stress test of 2e7 reads against a
// writer rewriting in a tight loop saw no torn value.
//
// Faults (the fault suite, issue 11): --stuck freezes every counter, --stuck-dram only the dram
// zones; --reset-every-s S sets every counter back to its start every S seconds, as a reboot or
// driver reload does (it then reads as a huge wraparound); --vanish-after-s S truncates every
// energy_uj to empty after S seconds and stops updating them, as a driver unload does
// (libpowercap's read then fails).
//
// State file for tests: /sys/class/powercap/.fake_powercap holds "<seq> <elapsed_ns>\n"
// (fixed width). seq is odd while a tick is writing counters and even once all counters
// correspond to elapsed_ns, so a reader can take a consistent snapshot seqlock-style. The
// child gets LJ_FAKE_POWERCAP=<that path> in its environment.
//
// Exit status: CMD's (128 + signal if it was killed); 2 for a usage error; 77 when RAPL cannot be
// emulated (not root, no mount namespaces), after printing
// "fake_powercap: cannot emulate RAPL: <call> failed: <strerror> (needs root and mount
// namespaces)".
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitCannotEmulate = 77;
constexpr uint64_t kDefaultMaxRangeUj = 262143328850;  // 0xffffffff * 61.035 uJ, common Intel
constexpr const char* kPowercap = "/sys/class/powercap";
constexpr const char* kStateFile = "/sys/class/powercap/.fake_powercap";
constexpr long kTickNs = 1000000;

struct Options {
  int sockets = 2;
  std::vector<double> package_w;  // empty: 40 W for package-0, 25 W for every other socket
  std::vector<double> dram_w;     // empty: no dram zones
  bool has_psys = false;
  double psys_w = 0;
  uint64_t max_range_uj = kDefaultMaxRangeUj;
  uint64_t start_uj = 0;
  double wrap_after_s = -1;  // < 0: use start_uj
  bool stuck = false;
  bool stuck_dram = false;
  double reset_every_s = -1;   // < 0: never
  double vanish_after_s = -1;  // < 0: never
  std::vector<char*> command;
};

// One emulated energy counter.
struct Counter {
  std::string dir;
  double power_w = 0;
  uint64_t start_uj = 0;
  bool dram = false;
  int fd = -1;  // energy_uj, opened for writing
};

[[noreturn]] void UsageError(const std::string& msg) {
  std::fprintf(stderr,
               "fake_powercap: %s\n"
               "usage: fake_powercap [--sockets N] [--package-w W[,W...]] [--dram-w W[,W...]]\n"
               "         [--psys-w W] [--max-range-uj N] [--start-uj N | --wrap-after-s S]\n"
               "         [--stuck] [--stuck-dram] [--reset-every-s S] [--vanish-after-s S]\n"
               "         -- CMD [ARGS...]\n",
               msg.c_str());
  std::exit(kExitUsage);
}

[[noreturn]] void CannotEmulate(const std::string& call) {
  std::fprintf(stderr,
               "fake_powercap: cannot emulate RAPL: %s failed: %s (needs root and mount "
               "namespaces)\n",
               call.c_str(), std::strerror(errno));
  std::exit(kExitCannotEmulate);
}

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "fake_powercap: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

double ParseDouble(const std::string& flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno != 0 || !std::isfinite(v) || v < 0) {
    UsageError(flag + " expects a number >= 0, got '" + text + "'");
  }
  return v;
}

uint64_t ParseU64(const std::string& flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  if (text[0] == '-') UsageError(flag + " expects an integer >= 0, got '" + text + "'");
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0) {
    UsageError(flag + " expects an integer >= 0, got '" + text + "'");
  }
  return v;
}

std::vector<double> ParseList(const std::string& flag, const char* text) {
  std::vector<double> values;
  std::string all = text;
  size_t pos = 0;
  while (true) {
    const size_t comma = all.find(',', pos);
    const std::string item = all.substr(pos, comma == std::string::npos ? comma : comma - pos);
    values.push_back(ParseDouble(flag, item.c_str()));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return values;
}

// A per-socket list: one value applies to every socket, otherwise one value per socket.
std::vector<double> PerSocket(const std::string& flag, const std::vector<double>& values,
                              int sockets) {
  if (values.size() == 1) return std::vector<double>(sockets, values[0]);
  if (values.size() != static_cast<size_t>(sockets)) {
    UsageError(flag + " has " + std::to_string(values.size()) + " values for " +
               std::to_string(sockets) + " sockets (give 1 or one per socket)");
  }
  return values;
}

Options ParseOptions(int argc, char** argv) {
  Options opt;
  bool have_start = false;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--stuck") {
      opt.stuck = true;
      continue;
    }
    if (arg == "--stuck-dram") {
      opt.stuck_dram = true;
      continue;
    }
    if (i + 1 >= argc) UsageError("unknown option or missing value: " + arg);
    const char* value = argv[++i];
    if (arg == "--sockets") {
      const uint64_t n = ParseU64(arg, value);
      if (n > 64) UsageError("--sockets must be <= 64, got " + std::string(value));
      opt.sockets = static_cast<int>(n);
    } else if (arg == "--package-w") {
      opt.package_w = ParseList(arg, value);
    } else if (arg == "--dram-w") {
      opt.dram_w = ParseList(arg, value);
    } else if (arg == "--psys-w") {
      opt.has_psys = true;
      opt.psys_w = ParseDouble(arg, value);
    } else if (arg == "--max-range-uj") {
      opt.max_range_uj = ParseU64(arg, value);
      if (opt.max_range_uj == 0) UsageError("--max-range-uj must be > 0");
    } else if (arg == "--start-uj") {
      opt.start_uj = ParseU64(arg, value);
      have_start = true;
    } else if (arg == "--wrap-after-s") {
      opt.wrap_after_s = ParseDouble(arg, value);
    } else if (arg == "--reset-every-s") {
      opt.reset_every_s = ParseDouble(arg, value);
      if (!(opt.reset_every_s > 0)) UsageError("--reset-every-s must be > 0");
    } else if (arg == "--vanish-after-s") {
      opt.vanish_after_s = ParseDouble(arg, value);
    } else {
      UsageError("unknown option: " + arg);
    }
  }
  for (; i < argc; ++i) opt.command.push_back(argv[i]);
  if (opt.command.empty()) UsageError("no command given after --");
  opt.command.push_back(nullptr);
  if (have_start && opt.wrap_after_s >= 0) {
    UsageError("--start-uj and --wrap-after-s exclude each other");
  }
  if (opt.start_uj > opt.max_range_uj) {
    UsageError("--start-uj " + std::to_string(opt.start_uj) + " exceeds --max-range-uj " +
               std::to_string(opt.max_range_uj));
  }
  if (opt.sockets > 0) {
    if (opt.package_w.empty()) {
      opt.package_w.assign(opt.sockets, 25.0);
      opt.package_w[0] = 40.0;
    }
    opt.package_w = PerSocket("--package-w", opt.package_w, opt.sockets);
    if (!opt.dram_w.empty()) opt.dram_w = PerSocket("--dram-w", opt.dram_w, opt.sockets);
  }
  return opt;
}

void MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) Fatal("mkdir " + path);
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) Fatal("create " + path);
  if (write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    Fatal("write " + path);
  }
  if (fchmod(fd, mode) != 0) Fatal("chmod " + path);  // not subject to the umask
  close(fd);
}

// energy_uj as the kernel would print it, but right-aligned to a fixed width so that every
// update rewrites the same 21 bytes (strtoull skips the leading blanks).
void WriteCounter(int fd, uint64_t value_uj) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%20" PRIu64 "\n", value_uj);
  if (pwrite(fd, buf, n, 0) != n) Fatal("pwrite energy_uj");
}

void WriteState(int fd, uint64_t seq, uint64_t elapsed_ns) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof(buf), "%20" PRIu64 " %20" PRIu64 "\n", seq, elapsed_ns);
  if (pwrite(fd, buf, n, 0) != n) Fatal("pwrite " + std::string(kStateFile));
}

std::string Hex(int v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%x", v);
  return buf;
}

// Writes one zone directory with its files; returns its energy counter.
Counter MakeZone(const std::string& dir, const std::string& name, double power_w,
                 int num_constraints, const Options& opt) {
  MakeDir(dir);
  WriteFile(dir + "/name", name + "\n", 0444);
  WriteFile(dir + "/max_energy_range_uj", std::to_string(opt.max_range_uj) + "\n", 0444);
  WriteFile(dir + "/enabled", "1\n", 0644);
  const char* constraint_names[] = {"long_term", "short_term"};
  const double limit_w = std::max(power_w * 2, 1.0);
  for (int k = 0; k < num_constraints; ++k) {
    const std::string prefix = dir + "/constraint_" + std::to_string(k) + "_";
    WriteFile(prefix + "name", std::string(constraint_names[k]) + "\n", 0444);
    WriteFile(prefix + "power_limit_uw",
              std::to_string(static_cast<uint64_t>(limit_w * 1e6)) + "\n", 0644);
    WriteFile(prefix + "time_window_us", k == 0 ? "999424\n" : "2440\n", 0644);
    WriteFile(prefix + "max_power_uw",
              std::to_string(static_cast<uint64_t>(limit_w * 1.5e6)) + "\n", 0444);
  }
  Counter counter;
  counter.dir = dir;
  counter.power_w = power_w;
  counter.dram = name == "dram";
  if (opt.wrap_after_s >= 0) {
    // Start wrap_after_s seconds (of this zone's power) before the counter reaches 0 again.
    const unsigned __int128 modulus = static_cast<unsigned __int128>(opt.max_range_uj) + 1;
    const auto until_wrap_uj = static_cast<unsigned __int128>(
        std::floor(static_cast<long double>(power_w) * opt.wrap_after_s * 1e6L));
    counter.start_uj = static_cast<uint64_t>((modulus - until_wrap_uj % modulus) % modulus);
  } else {
    counter.start_uj = opt.start_uj;
  }
  const std::string energy = dir + "/energy_uj";
  WriteFile(energy, "0\n", 0400);
  counter.fd = open(energy.c_str(), O_WRONLY);
  if (counter.fd < 0) Fatal("open " + energy);
  WriteCounter(counter.fd, counter.start_uj);
  return counter;
}

void Symlink(const std::string& target, const std::string& link) {
  if (symlink(target.c_str(), link.c_str()) != 0) Fatal("symlink " + link);
}

std::vector<Counter> BuildTree(const Options& opt) {
  const std::string type_dir = std::string(kPowercap) + "/intel-rapl";
  MakeDir(type_dir);
  WriteFile(type_dir + "/enabled", "1\n", 0644);
  std::vector<Counter> counters;
  for (int s = 0; s < opt.sockets; ++s) {
    const std::string zone = "intel-rapl:" + Hex(s);
    const std::string dir = type_dir + "/" + zone;
    counters.push_back(MakeZone(dir, "package-" + std::to_string(s), opt.package_w[s], 2, opt));
    Symlink("intel-rapl/" + zone, std::string(kPowercap) + "/" + zone);
    std::vector<std::pair<std::string, double>> nested = {{"core", opt.package_w[s] * 0.5}};
    if (!opt.dram_w.empty()) nested.push_back({"dram", opt.dram_w[s]});
    for (size_t m = 0; m < nested.size(); ++m) {
      const std::string sub = zone + ":" + Hex(static_cast<int>(m));
      counters.push_back(MakeZone(dir + "/" + sub, nested[m].first, nested[m].second, 1, opt));
      Symlink("intel-rapl/" + zone + "/" + sub, std::string(kPowercap) + "/" + sub);
    }
  }
  if (opt.has_psys) {
    const std::string zone = "intel-rapl:" + Hex(opt.sockets);
    counters.push_back(MakeZone(type_dir + "/" + zone, "psys", opt.psys_w, 2, opt));
    Symlink("intel-rapl/" + zone, std::string(kPowercap) + "/" + zone);
  }
  return counters;
}

// Puts a tmpfs at /sys/class/powercap in this (private) mount namespace. Where the directory
// does not exist (no powercap driver at all) the tmpfs goes on /sys/class and the other class
// directories (net, block, ...) are bind-mounted back, best effort.
void MountPowercapTmpfs() {
  if (unshare(CLONE_NEWNS) != 0) CannotEmulate("unshare(CLONE_NEWNS)");
  if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    CannotEmulate("mount(/, MS_REC|MS_PRIVATE)");
  }
  struct stat st {};
  if (stat(kPowercap, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (mount("fake_powercap", kPowercap, "tmpfs", 0, "mode=0755,size=4m") != 0) {
      CannotEmulate(std::string("mount(tmpfs, ") + kPowercap + ")");
    }
    return;
  }
  char stash[] = "/tmp/fake_powercap.XXXXXX";
  const bool have_stash = mkdtemp(stash) != nullptr &&
                          mount("/sys/class", stash, nullptr, MS_BIND | MS_REC, nullptr) == 0;
  if (mount("fake_powercap", "/sys/class", "tmpfs", 0, "mode=0755,size=4m") != 0) {
    CannotEmulate("mount(tmpfs, /sys/class)");
  }
  if (have_stash) {
    if (DIR* dir = opendir(stash)) {
      while (const dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        if (name == "." || name == ".." || name == "powercap") continue;
        const std::string from = std::string(stash) + "/" + name;
        const std::string to = "/sys/class/" + name;
        if (mkdir(to.c_str(), 0755) != 0 ||
            mount(from.c_str(), to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
          std::fprintf(stderr, "fake_powercap: warning: cannot re-expose %s: %s\n", to.c_str(),
                       std::strerror(errno));
        }
      }
      closedir(dir);
    }
    umount2(stash, MNT_DETACH);
  }
  rmdir(stash);
  MakeDir(kPowercap);
}

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// (start + floor(P * t)) mod (max + 1), computed from the total elapsed time so that rounding
// never accumulates. P [W] * t [ns] * 1e-3 = uJ.
uint64_t CounterValue(const Counter& c, uint64_t elapsed_ns, uint64_t max_range_uj) {
  const long double energy_uj = std::floor(static_cast<long double>(c.power_w) *
                                           static_cast<long double>(elapsed_ns) * 1e-3L);
  const unsigned __int128 modulus = static_cast<unsigned __int128>(max_range_uj) + 1;
  const unsigned __int128 total =
      static_cast<unsigned __int128>(c.start_uj) + static_cast<unsigned __int128>(energy_uj);
  return static_cast<uint64_t>(total % modulus);
}

volatile sig_atomic_t g_child_pid = 0;

void ForwardSignal(int sig) {
  if (g_child_pid > 0) kill(g_child_pid, sig);
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = ParseOptions(argc, argv);
  MountPowercapTmpfs();
  std::vector<Counter> counters = BuildTree(opt);
  const int state_fd = open(kStateFile, O_WRONLY | O_CREAT | O_TRUNC, 0444);
  if (state_fd < 0) Fatal(std::string("create ") + kStateFile);
  uint64_t seq = 0;
  WriteState(state_fd, seq, 0);
  const uint64_t start_ns = NowNs();

  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child < 0) Fatal("fork");
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // the counters stop if we die: stop the command too
    if (getppid() != parent) _exit(1);
    for (const Counter& c : counters) close(c.fd);
    close(state_fd);
    setenv("LJ_FAKE_POWERCAP", kStateFile, 1);
    execvp(opt.command[0], opt.command.data());
    std::fprintf(stderr, "fake_powercap: cannot run %s: %s\n", opt.command[0],
                 std::strerror(errno));
    _exit(127);
  }
  g_child_pid = child;
  struct sigaction sa {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);

  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  bool truncated = false;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return 1;
    }
    if (done < 0 && errno != EINTR) Fatal("waitpid");

    // One tick: seq odd while writing, even with the elapsed time all counters correspond to.
    const uint64_t elapsed_ns = NowNs() - start_ns;
    const bool vanished = opt.vanish_after_s >= 0 && elapsed_ns >= opt.vanish_after_s * 1e9;
    if (vanished && !truncated) {
      for (const Counter& c : counters) {
        if (ftruncate(c.fd, 0) != 0) Fatal("ftruncate " + c.dir + "/energy_uj");
      }
      truncated = true;
    }
    // Energy since the last reset (all of it without --reset-every-s).
    const uint64_t reset_ns =
        opt.reset_every_s > 0 ? static_cast<uint64_t>(opt.reset_every_s * 1e9) : 0;
    const uint64_t counted_ns = reset_ns > 0 ? elapsed_ns % reset_ns : elapsed_ns;
    if (!opt.stuck && !vanished) {
      WriteState(state_fd, ++seq, elapsed_ns);
      for (const Counter& c : counters) {
        if (opt.stuck_dram && c.dram) continue;
        WriteCounter(c.fd, CounterValue(c, counted_ns, opt.max_range_uj));
      }
    } else {
      ++seq;
    }
    WriteState(state_fd, ++seq, elapsed_ns);

    next.tv_nsec += kTickNs;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      ++next.tv_sec;
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec)) {
      next = now;  // fell behind (loaded machine): do not try to catch up with a burst
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
  }
}
