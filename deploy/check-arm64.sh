#!/usr/bin/env bash
# Proves the trimmed linux-arm64 bundle on an x86-64 machine: runs it under qemu-user and checks that `ecgedge eval`
# on MIT-BIH 201 gives the same JSON as the linux-x64 bundle (latency fields aside), and that `model info` verifies the
# shipped model (its signature and its self-check).
# Needs qemu-user-static and arm64 libc/libstdc++/libssl/zlib (installed when root), and `unshare -m`
# to show ONNX Runtime an aarch64 /proc/cpuinfo (it parses the host's otherwise and crashes; ../shared/notes/platform.md).
#
#   deploy/check-arm64.sh [--db ../shared/data/mitdb]     exit 0 ok, 1 mismatch/failure, 77 skipped (prerequisites missing)
set -euo pipefail
cd "$(dirname "$0")/.."
db=../shared/data/mitdb
[ "${1:-}" = "--db" ] && db=$2
[ -f "$db/201.hea" ] || { echo "check-arm64: $db/201 not found; skipped"; exit 77; }
if ! command -v qemu-aarch64-static >/dev/null || ! dpkg -s libstdc++6:arm64 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    dpkg --add-architecture arm64
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static libc6:arm64 libstdc++6:arm64 libssl3:arm64 zlib1g:arm64 >/dev/null
  else
    echo "check-arm64: qemu-user-static / arm64 libraries missing and not root; skipped"; exit 77
  fi
fi
unshare -m true 2>/dev/null || { echo "check-arm64: unshare -m not permitted here; skipped"; exit 77; }
work=$(mktemp -d)
for r in arm64 x64; do
  deploy/publish.sh linux-$r --single-file --out "$work/dist" > "$work/publish-$r.log"
  head -1 "$work/publish-$r.log"
done
for r in arm64 x64; do mkdir -p "$work/$r" && tar -C "$work/$r" -xzf "$work"/dist/ecgedge-*-linux-$r-single.tar.gz; done
arm=$(ls -d "$work"/arm64/ecgedge-*); x64=$(ls -d "$work"/x64/ecgedge-*)
cat > "$work/cpuinfo" <<'CPU'
processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 1

CPU
dbabs=$(cd "$db" && pwd)
emu() { unshare -m sh -c "mount --bind '$work/cpuinfo' /proc/cpuinfo && exec qemu-aarch64-static -L / $*"; }
start=$(date +%s)
emu "$arm/ecgedge" model info --runs 2 > "$work/info.txt"
grep -E "sha256|signature|self-check|timing" "$work/info.txt"
grep -q "self-check .*passed" "$work/info.txt" || { echo "check-arm64: the model self-check did not pass under qemu"; exit 1; }
grep -q "^signature *verified" "$work/info.txt" || { echo "check-arm64: the model signature did not verify under qemu"; exit 1; }
emu "$arm/ecgedge" eval --db "$dbabs" --records 201 --mains 60 --quiet --json "$work/arm64.json" >/dev/null
echo "check-arm64: emulated eval took $(( $(date +%s) - start )) s"
"$x64/ecgedge" eval --db "$dbabs" --records 201 --mains 60 --quiet --json "$work/x64.json" >/dev/null
python3 - "$work/arm64.json" "$work/x64.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d["model"] = {k: v for k, v in d["model"].items() if not k.startswith("latency")}
same = a == b
print("check-arm64: arm64 (qemu) and x64 eval JSON", "identical" if same else "DIFFER")
if not same:
    for k in ("records", "gross", "model"):
        if a[k] != b[k]: print(" ", k, json.dumps(a[k])[:400], "\n  vs", json.dumps(b[k])[:400])
sys.exit(0 if same else 1)
PY
