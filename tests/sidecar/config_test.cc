// sidecar.yaml parsing: defaults, every section, and errors with file:line:column.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "rocksdr/sidecar/config.h"

namespace rocksdr::sidecar {
namespace {

std::string Err(const std::string& yaml) {
  Result<SidecarConfig> c = ParseSidecarConfig(yaml, "s.yaml");
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : c.status().message();
}

TEST(SidecarConfig, FullFileAndDefaults) {
  Result<SidecarConfig> c = ParseSidecarConfig(R"(
listener:
  address: "10.1.2.3:8200"
  tls_cert_file: /etc/rocksdr/tls.crt
  tls_key_file: /etc/rocksdr/tls.key
api_addr: https://primary.example.com:8200
plugin:
  control_socket: /run/rocksdr/control.sock
log:
  level: debug
  format: json
ui: false
unauthenticated_metrics_access: true
limits:
  max_request_bytes: 65536
  max_header_bytes: 8192
  read_timeout: 10s
  write_timeout: 1m
  max_connections: 32
  max_connections_per_address: 5
  threads: 4
)",
                                               "s.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_address, "10.1.2.3:8200");
  EXPECT_EQ(c->api_addr, "https://primary.example.com:8200");
  EXPECT_EQ(c->control_socket, "/run/rocksdr/control.sock");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->log_format, "json");
  EXPECT_FALSE(c->ui);
  EXPECT_TRUE(c->unauthenticated_metrics_access);
  EXPECT_EQ(c->max_request_bytes, 65536u);
  EXPECT_EQ(c->read_timeout.count(), 10000);
  EXPECT_EQ(c->write_timeout.count(), 60000);
  EXPECT_EQ(c->max_connections, 32u);
  EXPECT_EQ(c->max_connections_per_address, 5u);
  EXPECT_EQ(c->threads, 4);

  Result<SidecarConfig> d = ParseSidecarConfig("listener: {tls_disable: true}\nplugin: {in_memory: true}\n", "d.yaml");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->listen_address, "127.0.0.1:8200");
  EXPECT_EQ(d->api_addr, "http://127.0.0.1:8200");
  EXPECT_EQ(d->max_request_bytes, size_t{1} << 20);
  EXPECT_EQ(d->log_level, "info");
  EXPECT_TRUE(d->ui);
}

TEST(SidecarConfig, ErrorsNameFileLineColumn) {
  EXPECT_EQ(Err("plugin: {in_memory: true}\nlistener: {tls_disable: true}\nbogus: 1\n"),
            "s.yaml:3:1: unknown key 'bogus' in the configuration (known: api_addr, limits, listener, log, plugin, "
            "ui, unauthenticated_metrics_access)");
  EXPECT_EQ(Err("plugin:\n  in_memory: yes please\nlistener: {tls_disable: true}\n"),
            "s.yaml:2:14: plugin.in_memory must be true or false");
  EXPECT_EQ(Err("plugin: {in_memory: true}\nlistener: {tls_disable: true}\nlimits:\n  max_connections: 0\n"),
            "s.yaml:4:20: limits.max_connections must be an integer in [1, 100000], got \"0\"");
  EXPECT_EQ(Err("plugin: {in_memory: true}\nlistener: {tls_disable: true}\nlimits:\n  read_timeout: 5x\n"),
            "s.yaml:4:17: limits.read_timeout: invalid duration unit (use ms, s, m, h or d)");
  EXPECT_EQ(Err("plugin: {in_memory: true}\nlistener: {tls_disable: true}\nlog: {level: loud}\n"),
            "s.yaml:3:14: log.level must be one of trace, debug, info, warn, error, off");
  EXPECT_EQ(Err("plugin: {in_memory: true}\nlistener:\n  address: nope\n  tls_disable: true\n"),
            "s.yaml:3:12: listener.address: address has no port (expected host:port)");
  std::string e = Err("plugin: {in_memory: true}\nlistener:\n  address: 0.0.0.0:8200\n  tls_disable: true\n");
  EXPECT_EQ(e.rfind("s.yaml:3:3: listener.tls_disable is only allowed on a loopback address", 0), 0u) << e;
  e = Err("plugin: {in_memory: true}\nlistener:\n  address: 0.0.0.0:8200\n");
  EXPECT_NE(e.find("needs tls_cert_file and tls_key_file"), std::string::npos) << e;
  e = Err("listener: {tls_disable: true}\n");
  EXPECT_NE(e.find("missing plugin"), std::string::npos) << e;
  e = Err("listener: {tls_disable: true}\nplugin: {in_memory: true, control_socket: /x}\n");
  EXPECT_NE(e.find("exactly one of control_socket and in_memory"), std::string::npos) << e;
  e = Err("plugin: {in_memory: true}\nplugin: {in_memory: true}\n");
  EXPECT_NE(e.find("s.yaml:2:1"), std::string::npos) << e;
  e = Err("listener: [1, 2\n");
  EXPECT_EQ(e.rfind("s.yaml:", 0), 0u) << e;
  e = Err("plugin: {in_memory: true}\nlistener: {tls_disable: true}\napi_addr: primary:8200\n");
  EXPECT_EQ(e, "s.yaml:3:11: api_addr must start with https:// or http://");
}

TEST(SidecarConfig, LoadFile) {
  EXPECT_EQ(LoadSidecarConfig("/nonexistent/sidecar.yaml").status().code(), Code::kIOError);
  EXPECT_EQ(LoadSidecarConfig("/nonexistent/sidecar.yaml").status().message(),
            "cannot read configuration file /nonexistent/sidecar.yaml: No such file or directory");
  const std::string path = ::testing::TempDir() + "/sidecar_config_test_" + std::to_string(::getpid()) + ".yaml";
  {
    std::ofstream out(path);
    out << "plugin: {in_memory: true}\nlistener: {tls_disable: true, address: \"[::1]:0\"}\n";
  }
  Result<SidecarConfig> c = LoadSidecarConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_address, "[::1]:0");
}

}  // namespace
}  // namespace rocksdr::sidecar
