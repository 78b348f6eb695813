#!/usr/bin/env bash
# Installs (or upgrades) an EcgEdge bundle from deploy/publish.sh on a device, idempotently:
#   sudo deploy/install.sh ecgedge-<version>-linux-arm64-single.tar.gz
# - verifies the tarball against its .sha256 (when present) and the files against SHA256SUMS;
# - unpacks to /opt/ecgedge/<version>, points /opt/ecgedge/current at it (the previous target stays for rollback:
#   `sudo ln -sfn /opt/ecgedge/<old> /opt/ecgedge/current && sudo systemctl restart ecgedge`);
# - creates the system user `ecgedge` (groups spi, gpio when they exist), /etc/ecgedge/ecgedge.json (kept if present);
# - installs the systemd unit and (re)starts the service.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 2; }
tarball=${1:?usage: install.sh BUNDLE.tar.gz}
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$tarball.sha256" ]; then (cd "$(dirname "$tarball")" && sha256sum -c "$(basename "$tarball").sha256" --quiet); fi
name=$(basename "$tarball" .tar.gz)
dest=/opt/ecgedge/$name
if [ ! -d "$dest" ]; then
  tmp=$(mktemp -d)
  tar -C "$tmp" -xzf "$tarball"
  (cd "$tmp/$name" && sha256sum -c SHA256SUMS --quiet)
  mkdir -p /opt/ecgedge
  mv "$tmp/$name" "$dest"
  rmdir "$tmp"
fi
getent group ecgedge >/dev/null || groupadd --system ecgedge
id ecgedge >/dev/null 2>&1 || useradd --system --gid ecgedge --home-dir /var/lib/ecgedge --shell /usr/sbin/nologin ecgedge
for g in spi gpio; do getent group "$g" >/dev/null && usermod -aG "$g" ecgedge; done
install -d -m 0750 -o root -g ecgedge /etc/ecgedge
[ -f /etc/ecgedge/ecgedge.json ] || install -m 0640 -o root -g ecgedge /dev/stdin /etc/ecgedge/ecgedge.json <<'JSON'
{
  "Pipeline": { "Source": "Ads1298" },
  "Conditioning": { "MainsHz": 50 },
  "Inference": { "TrustedKeys": [ "/etc/ecgedge/model-signing.pub.pem" ] },
  "Mqtt": { "Mode": "External", "DeviceId": "CHANGE-ME", "Endpoints": [ "mqtts://broker.example:8883" ],
            "Tls": { "RequireTls": true, "CaCertificateFile": "/etc/ecgedge/fleet-ca.pem",
                     "ClientCertificateFile": "/etc/ecgedge/device.pem", "ClientKeyFile": "/etc/ecgedge/device.key" },
            "Outbox": { "Directory": "/var/lib/ecgedge/mqtt-outbox" } }
}
JSON
ln -sfn "$dest" /opt/ecgedge/current
install -m 0644 "$here/systemd/ecgedge.service" /etc/systemd/system/ecgedge.service
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable ecgedge.service >/dev/null
  systemctl restart ecgedge.service
  systemctl --no-pager --lines=5 status ecgedge.service || true
else
  echo "install.sh: systemd is not running here; unit installed, not started"
fi
echo "install.sh: /opt/ecgedge/current -> $dest"
