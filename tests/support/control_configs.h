// The role-change arguments of the plugin control interface (rocksdr/sidecar/plugin_control.h)
// with credentials from a TestPki, epoch 1: what a sidecar would pass to enable_primary / promote
// and to enable_secondary / update_primary. For tests that drive nodes through their control
// socket (standing in for the sidecar).
//
// Who may call: tests only; any thread (pure functions of their arguments).
#pragma once

#include <string>
#include <vector>

#include "rocksdr/sidecar/plugin_control.h"
#include "support/replication_pki.h"

namespace rocksdr::testing {

// A primary of `cluster` with pki's server certificate; the registry allows `allowed_secondary_ids`.
inline sidecar::PrimaryConfig ControlPrimaryConfig(const TestPki& pki, const std::string& cluster,
                                                   std::vector<std::string> allowed_secondary_ids) {
  const auto tls = pki.Server(cluster);
  sidecar::PrimaryConfig c;
  c.cluster_id = cluster;
  c.epoch = 1;
  c.ca_cert_pem = tls.ca_pem;
  c.server_cert_pem = tls.cert_pem;
  c.server_key_pem = tls.key_pem;
  c.allowed_secondary_ids = std::move(allowed_secondary_ids);
  return c;
}

// The activation bundle of secondary `id` of `cluster` (a client certificate from pki), following
// the primary's replication listener at `replication_addr` ("host:port"); `api_addr` is the
// primary sidecar's API address it records.
inline sidecar::ActivationBundle ControlBundle(const TestPki& pki, const std::string& cluster, const std::string& id,
                                               const std::string& replication_addr, const std::string& api_addr) {
  const auto tls = pki.Client(id, cluster);
  sidecar::ActivationBundle b;
  b.cluster_id = cluster;
  b.secondary_id = id;
  b.primary_replication_addrs = {replication_addr};
  b.primary_api_addr = api_addr;
  b.ca_cert_pem = tls.ca_pem;
  b.client_cert_pem = tls.cert_pem;
  b.client_key_pem = tls.key_pem;
  b.epoch = 1;
  return b;
}

}  // namespace rocksdr::testing
