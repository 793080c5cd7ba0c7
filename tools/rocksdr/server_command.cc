// `rocksdr server -config FILE` and `rocksdr server -dev` — runs the sidecar until SIGINT/SIGTERM.
//
//   -config FILE                sidecar.yaml (config.h); errors print "file:line:column: reason"
//   -dev                        in-memory stores, initialized with one unseal key and unsealed;
//                               prints the unseal key and root token (stdout) like `vault server -dev`
//   -dev-listen-address ADDR    default 127.0.0.1:8200 (port 0 picks a free port)
//   -address-file FILE          writes the bound API address (e.g. http://127.0.0.1:41234) to FILE
//                               once listening (for scripts and tests)
// Logs go to stderr (spdlog; level and format from the config, info/text in dev mode) and never
// contain tokens or keys; the dev banner goes to stdout.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <sys/resource.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "sidecar_lock.h"
#include "rocksdr/crypto/encoding.h"
#include "rocksdr/sidecar/config.h"
#include "rocksdr/sidecar/dr_handlers.h"
#include "rocksdr/sidecar/memory_plugin_control.h"
#include "rocksdr/sidecar/net_address.h"
#include "rocksdr/sidecar/plugin_control_client.h"
#include "rocksdr/sidecar/sidecar.h"

namespace rocksdr::cli {

namespace {

struct ServerFlags {
  std::string config;
  bool dev = false;
  std::string dev_listen = "127.0.0.1:8200";
  std::string address_file;
};

void SetUpLogging(const sidecar::SidecarConfig& c) {
  auto logger = spdlog::stderr_color_mt("rocksdr");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(c.log_level));
  if (c.log_format == "json") {
    spdlog::set_pattern(R"({"@timestamp":"%Y-%m-%dT%H:%M:%S.%fZ","@level":"%l","@message":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ [%l] %v", spdlog::pattern_time_type::utc);
  }
}

void RunServer(Context& ctx, ServerFlags& f) {
  if (f.dev == !f.config.empty()) return Fail(ctx, "Exactly one of -config FILE and -dev is required");
  sidecar::SidecarConfig config;
  if (f.dev) {
    // Dev mode serves plain HTTP and prints its root token: the same loopback-only rule as
    // listener.tls_disable in a config file.
    Result<sidecar::HostPort> hp = sidecar::ParseHostPort(f.dev_listen);
    if (!hp.ok()) return Fail(ctx, "Error: -dev-listen-address: " + hp.status().message());
    if (!sidecar::IsLoopbackHost(hp->host)) {
      return Fail(ctx, "Error: -dev-listen-address " + f.dev_listen +
                           " is reachable from other machines, and dev mode serves plain HTTP with its root token "
                           "printed: use a loopback address (127.0.0.1, ::1, localhost), or a config file with TLS");
    }
    config.listen_address = f.dev_listen;
    config.tls_disable = true;
    config.in_memory = true;
  } else {
    Result<sidecar::SidecarConfig> loaded = sidecar::LoadSidecarConfig(f.config);
    if (!loaded.ok()) return Fail(ctx, "Error loading configuration: " + loaded.status().message());
    config = std::move(loaded).value();
  }
  SetUpLogging(config);
  // The unsealed root key, keyring and tokens live in this process's memory: a core dump would
  // write them to disk (Vault's production hardening says the same). RLIMIT_CORE 0 turns it off.
  const struct rlimit no_core = {0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    spdlog::warn("cannot disable core dumps ({}): a crash could write unsealed keys to disk", std::strerror(errno));
  }
  SidecarLock lock;  // held until the server returns
  if (!config.in_memory) {
    if (Status st = lock.Acquire(config.control_socket); !st.ok()) return Fail(ctx, "Error: " + st.message());
    if (!lock.note().empty()) spdlog::info("{}", lock.note());
  }
  std::unique_ptr<sidecar::PluginControl> control;
  if (config.in_memory) {
    control = std::make_unique<sidecar::MemoryPluginControl>();
  } else {
    // Connect lazily: the sidecar may start before the application that hosts the plugin.
    sidecar::PluginControlClientOptions co;
    co.connect_now = false;
    Result<std::unique_ptr<sidecar::PluginControl>> c = sidecar::ConnectPluginControl(config.control_socket, co);
    if (!c.ok()) return Fail(ctx, "Error: plugin.control_socket " + config.control_socket + ": " + c.status().message());
    control = std::move(c).value();
  }

  // Block the signals in every thread; the main thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // With a real plugin, re-arm its runtime after an application restart (README "Restarts").
  sidecar::DrOptions dr_options;
  if (!config.in_memory) dr_options.rearm_interval = std::chrono::seconds(1);
  Result<std::unique_ptr<sidecar::Sidecar>> started = sidecar::Sidecar::Start(
      config, std::move(control),
      {[dr_options](sidecar::Router& r, sidecar::Core& c) { return sidecar::RegisterDrRoutesWithOptions(r, c, dr_options); }});
  if (!started.ok()) return Fail(ctx, "Error starting the server: " + started.status().message());
  std::unique_ptr<sidecar::Sidecar> server = std::move(started).value();

  *ctx.out << "==> rocksdr server configuration:\n\n"
           << "             Api Address: " << server->core().api_addr() << "\n"
           << "                Listener: tcp (addr: \"" << server->address() << "\", tls: \""
           << (config.tls_disable ? "disabled" : "enabled") << "\")\n"
           << "                 Storage: " << (config.in_memory ? "inmem" : "plugin at " + config.control_socket) << "\n"
           << "                 Version: rocksdr v" << kVersion << "\n\n";
  if (f.dev) {
    Result<sidecar::InitOutput> dev = server->InitializeAndUnsealForDev();
    if (!dev.ok()) return Fail(ctx, "Error initializing dev mode: " + dev.status().message());
    *ctx.out << "WARNING! dev mode is enabled! In this mode, rocksdr runs entirely in-memory\n"
             << "and starts unsealed with a single unseal key.\n\n"
             << "You may need to set the following environment variables:\n\n"
             << "    $ export ROCKSDR_ADDR='" << server->address() << "'\n\n"
             << "The unseal key and root token are displayed below in case you want to\n"
             << "seal/unseal the server or re-authenticate.\n\n"
             << "Unseal Key: " << crypto::Base64Encode(crypto::AsStringView(dev->keys.at(0))) << "\n"
             << "Root Token: " << dev->root_token << "\n\n"
             << "Development mode should NOT be used in production installations!\n\n";
  }
  *ctx.out << "==> rocksdr server started! Log data will stream in below:\n" << std::flush;
  if (!f.address_file.empty()) {
    // Scripts wait for this file: a server that cannot write it stops at once, saying why,
    // instead of serving while they time out.
    const std::string tmp = f.address_file + ".tmp";
    errno = 0;
    bool written = false;
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << server->address() << "\n";
      out.flush();
      written = static_cast<bool>(out);
    }
    const int write_errno = errno;
    if (!written || std::rename(tmp.c_str(), f.address_file.c_str()) != 0) {
      const std::string why = std::strerror(written ? errno : write_errno);
      std::remove(tmp.c_str());
      server->Stop();
      server->core().seal().Seal();
      return Fail(ctx, "cannot write the address file " + f.address_file + ": " + why + "; the server stopped");
    }
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server->Stop();
  server->core().seal().Seal();
  spdlog::info("stopped");
  spdlog::shutdown();
}

}  // namespace

void RegisterServerCommand(CLI::App& root, Context& ctx) {
  auto f = std::make_shared<ServerFlags>();
  CLI::App* cmd = root.add_subcommand("server", "Start the rocksdr sidecar server");
  cmd->add_option("--config", f->config, "Path to the sidecar YAML configuration");
  cmd->add_flag("--dev", f->dev, "Development mode: in-memory, initialized and unsealed");
  cmd->add_option("--dev-listen-address", f->dev_listen, "Listen address in dev mode")->capture_default_str();
  cmd->add_option("--address-file", f->address_file, "Write the bound API address to this file");
  cmd->callback([&ctx, f] { RunServer(ctx, *f); });
}

}  // namespace rocksdr::cli
