#!/usr/bin/env bash
# CI smoke of the rhythm stage (tools/train/rhythm): the device's evidence exported from a few records of each kind,
# the leave-one-database-out validation and the fit on them, and the fitted manifest loaded and run by the device
# (`ecgedge model info`, `ecgedge eval`), signed with the published test key as the device requires (docs/model-signing.md).
# Temporary output; models/ is not touched. Skips (exit 0) without the data.
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
data="${ECGEDGE_SHARED_DATA:-$here/../shared/data}"
exe="$here/src/EcgEdge/bin/Release/net10.0/ecgedge"
py="${ECGNAT_PYTHON:-/usr/bin/python3}"
if [ ! -d "$data/mitdb" ] || [ ! -d "$data/cpsc2021-sample" ] || [ ! -d "$data/aftdb" ] || [ ! -d "$data/qtdb" ]; then
  echo "rhythm smoke: shared data not found at $data; skipped"; exit 0
fi
[ -x "$exe" ] || dotnet build "$here/src/EcgEdge" -c Release -v q -nologo >/dev/null
export ECGEDGE="$exe"   # the signing step of validate.py --sign-key runs this build (tools/train/ecgnat/signing.py)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/f/beats" "$out/m"
run() { "$exe" analyze --db "$1" --mains "$2" --records "$3" --jobs 1 --quiet --rhythm-features "$out/f/$4.csv" --beat-features "$out/f/beats/$4.csv" >/dev/null; }
run "$data/mitdb" 60 201,203,101 mitdb
run "$data/cpsc2021-sample" 50 data_101_6,data_0_2,data_8_2 cpsc2021
run "$data/aftdb/learning-set" 60 n01,s01 aftdb
run "$data/qtdb" 60 sel16265,sel16272 qtdb
cp "$here"/models/ecg-nat-*.onnx "$out/m/"
cp -r "$here/models/reference" "$out/m/"
PYTHONPATH="$here/tools/train" "$py" "$here/tools/train/rhythm/validate.py" --features "$out/f" --data "$data" \
  --young short --network-below-s 15 --fit "$here/models/ecg-nat.manifest.json" --out "$out/m/ecg-nat.manifest.json" --version 0.0.0-smoke \
  --sign-key "$here/models/keys/test-signing-key.pem"
PYTHONPATH="$here/tools/train" "$py" "$here/tools/train/beats/validate.py" --features "$out/f" --data "$data" >/dev/null
"$py" -c "import json,sys; f=json.load(open(sys.argv[1]))['rhythm_fusion']; assert f['young']=='short' and f['network_below_s']==15.0, f" "$out/m/ecg-nat.manifest.json"
# the device runs only a signed manifest: the fitted one verifies under the (default-trusted) test key
"$exe" model verify "$out/m/ecg-nat.manifest.json" >/dev/null
"$exe" model info "$out/m/ecg-nat.manifest.json" --runs 3 >/dev/null
"$exe" eval --db "$data/mitdb" --records 201 --mains 60 --model "$out/m/ecg-nat.manifest.json" --quiet --json "$out/eval.json" >/dev/null
"$py" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['model']['version']=='0.0.0-smoke'; assert '+sha256:' in d['model']['label']; assert d['model']['signed_by']=='8726efb4413fcccf'; assert 'af' in d['gross']['episodes']" "$out/eval.json"
echo "rhythm smoke: passed"
