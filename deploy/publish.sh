#!/usr/bin/env bash
# Device bundle: trimmed, self-contained publish of the worker for a Linux RID, with the models and default config,
# as a versioned tarball plus a SHA256SUMS list.
#
#   deploy/publish.sh [linux-arm64|linux-x64] [--single-file|--aot] [--gpu] [--out DIR] [--sign-key KEY.pem [--sign-password-env VAR]]
#
# --single-file  one executable (managed code compressed inside; ONNX Runtime's .so files stay beside it)
# --aot          NativeAOT executable (x64 on x64; arm64 cross-compiles with clang, lld and Debian's aarch64 cross
#                gcc/libc plus zlib1g-dev:arm64 — ../shared/notes/platform.md)
# --gpu          Jetson flavour: managed-only ONNX Runtime; bring the device's CUDA/TensorRT libonnxruntime.so (deploy/README.md)
# --sign-key     production: re-sign the bundled model manifest with the site's key (replacing the published test key's
#                signature) and leave the test public key out of the bundle; devices list the site's public key in
#                Inference:TrustedKeys (docs/model-signing.md). --sign-password-env names the variable with its password.
set -euo pipefail
cd "$(dirname "$0")/.."
rid=linux-arm64; single=0; gpu=0; aot=0; out=dist; sign_key=""; sign_pw_env=""
while [ $# -gt 0 ]; do
  case "$1" in
    linux-arm64|linux-x64) rid=$1;;
    --single-file) single=1;;
    --aot) aot=1;;
    --gpu) gpu=1;;
    --out) out=$2; shift;;
    --sign-key) sign_key=$2; shift;;
    --sign-password-env) sign_pw_env=$2; shift;;
    -h|--help) sed -n '2,12p' "$0"; exit 0;;
    *) echo "publish.sh: unknown argument '$1'" >&2; exit 2;;
  esac
  shift
done
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
flavour=$rid$([ $gpu = 1 ] && echo -gpu || true)$([ $single = 1 ] && echo -single || true)$([ $aot = 1 ] && echo -aot || true)
name=ecgedge-$version-$flavour
stage=$(mktemp -d)/$name
props=(-c Release -r "$rid" --self-contained true -p:PublishTrimmed=true -p:EcgEdgeDevice=true -p:DebugType=none
       -p:InvariantGlobalization=true -p:InformationalVersion="$version" -o "$stage")
[ $single = 1 ] && props+=(-p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=false)
[ $gpu = 1 ] && props+=(-p:EcgEdgeOnnxRuntime=Managed)
if [ $aot = 1 ]; then
  props+=(-p:PublishAot=true)
  if [ "$rid" = linux-arm64 ] && [ "$(uname -m)" != aarch64 ]; then
    cc=$(command -v clang || command -v clang-14 || true)
    [ -n "$cc" ] || { echo "publish.sh: arm64 NativeAOT needs clang (apt-get install clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross zlib1g-dev:arm64)" >&2; exit 2; }
    props+=(-p:CppCompilerAndLinker="$(basename "$cc")" -p:SysRoot=/ -p:LinkerFlavor=lld -p:ObjCopyName=aarch64-linux-gnu-objcopy)
  fi
fi
log=$(mktemp)
if ! dotnet publish src/EcgEdge "${props[@]}" >"$log" 2>&1; then cat "$log" >&2; exit 1; fi
warnings=$(grep -cE 'warning (IL|AOT)[0-9]{4}' "$log" || true)
# Nothing foreign to the target: no Windows/macOS native files (older ONNX Runtime packages copied a win-arm64 dll).
find "$stage" \( -name '*.dll' -path '*runtimes/win*' -o -name 'onnxruntime.dll' -o -name '*.dylib' -o -name '*.pdb' -o -name '*.dbg' -o -name '*.xml' \) -delete
rm -f "$stage"/libmscordaccore.so "$stage"/libmscordbi.so   # debugger support, not needed on a device
if [ -n "$sign_key" ]; then
  # Signed with the build machine's own ecgedge (the bundle may be for another architecture); the signature is part of
  # the bundle and of its SHA256SUMS. A device still configured with the default trust then refuses to start (exit 2)
  # instead of silently trusting the published test key.
  host=src/EcgEdge/bin/Release/net10.0/ecgedge
  [ -x "$host" ] || dotnet build src/EcgEdge -c Release -v q -nologo >/dev/null
  signed=$("$host" model sign "$stage/models/ecg-nat.manifest.json" --key "$sign_key" ${sign_pw_env:+--password-env "$sign_pw_env"})
  rm -f "$stage/models/keys/test-signing-key.pub.pem"
  rmdir "$stage/models/keys" 2>/dev/null || true
  echo "publish.sh: model manifest signed with $sign_key ($(echo "$signed" | grep '^key id' | tr -s ' '))"
fi
mkdir -p "$out"
(cd "$stage" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
tar -C "$(dirname "$stage")" -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "publish.sh: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1) compressed, $(du -sh "$stage" | cut -f1) unpacked, $warnings trim warnings)"
# The largest files (head closing the pipe early can SIGPIPE sort: that is not a failed publish).
du -sh "$stage"/* | sort -rh | head -6 || true
