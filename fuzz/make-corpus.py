#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (fuzz/corpus/<target>/) from the repository's own small files.

Deterministic: running it again gives the same bytes. The MIT-BIH fragments are cut from record 201 in
src/EcgEdge/Resources/mitdb/ (PhysioNet, ODC-By 1.0; see fuzz/corpus/README.md for the attribution)."""
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
MITDB = os.path.join(ROOT, "src", "EcgEdge", "Resources", "mitdb")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as f:
        return f.read()


# WFDB headers: record 201's header (it names 201.dat; the harness's 201.dat is a 3600-byte stand-in) and headers
# over the harness's a.dat/b.dat in several formats, with offsets, skew, checksums, multi-frame and base time/date.
write("wfdb-header", "mitdb-201.hea", read("src", "EcgEdge", "Resources", "mitdb", "201.hea"))
write("wfdb-header", "two-files.hea", "rec 3 360/720(5) 0 10:30:00 25/12/2020\na.dat 16x1:0+0 200(0)/mV 16 0 0 0 0 I\na.dat 16 100/uV 16 0 0 0 0 II\n201.dat 212+3 200 12 0 0 0 0 V1\n")
write("wfdb-header", "formats.hea", "rec 3 500 1000\na.dat 24 200 24 0 0 0 0 I\nb.dat 80 200 8 0 0 0 0 II\n# comment\n201.dat 61 200 16 0 5 -77 0 V1\n")
write("wfdb-header", "min.hea", "rec 1\nb.dat 80\n")
write("wfdb-header", "two-signals.hea", "rec 2 360\na.dat 16 200 16 0\na.dat 16 200(0)/mV 16 0 0 0 0 II\n")

# WFDB signal files: [header selector, buffer selector] + 600 bytes of 201.dat (format 212, 2 signals: 400 frames).
dat = read("src", "EcgEdge", "Resources", "mitdb", "201.dat")[:600]
for selector, name in [(0, "212-unknown-length"), (1, "212-with-checksums"), (2, "212-offset"), (3, "16-unknown-length"),
                       (9, "32-unknown-length"), (30, "two-files"), (32, "24-three-signals")]:
    write("wfdb-signal", f"mitdb-201-as-{name}", bytes([selector, 41]) + dat)

# WFDB annotations: record 201's full annotation file (4.3 kB) and its first 200 bytes with the end-of-file word.
atr = read("src", "EcgEdge", "Resources", "mitdb", "201.atr")
write("wfdb-annotation", "mitdb-201.atr", atr)
write("wfdb-annotation", "mitdb-201-head.atr", atr[:200] + b"\x00\x00")

# Model manifest: the shipped manifest without its 44-kB list of training records and its prose (still a complete,
# valid manifest for every check before the model file's hash).
manifest = json.loads(read("models", "ecg-nat.manifest.json"))
for k in ("training_records", "training_data", "quantization", "lead_mapping_notes", "normalisation", "signal_chain",
          "beat_query", "beat_assignment", "decision"):
    manifest.pop(k, None)
write("manifest", "shipped-trimmed.json", json.dumps(manifest, indent=1))
minimal = {k: manifest[k] for k in ("name", "version", "opset", "inputs", "outputs", "beat_classes", "rhythm_classes",
                                     "sample_rate_hz", "window_samples", "hop_samples", "channel_order", "token_stride",
                                     "fine_tokens", "files") if k in manifest}
write("manifest", "shipped-minimal.json", json.dumps(minimal))

# Manifest signature: the shipped one, and the same compacted.
sig = read("models", "ecg-nat.manifest.json.sig")
write("manifest-signature", "shipped.sig", sig)
write("manifest-signature", "shipped-compact.sig", json.dumps(json.loads(sig), separators=(",", ":")))

# Configuration: the shipped defaults and a few small files using nested objects, lists and comments.
write("config", "appsettings.json", read("src", "EcgEdge", "appsettings.json"))
write("config", "mqtt-tls.json", '{\n  // device of a fleet\n  "Mqtt": {"Mode": "External", "Endpoints": ["mqtts://broker:8883"], "DeviceId": "ward-a-bed-3",\n    "Tls": {"RequireTls": true}, "Outbox": {"Directory": "/var/lib/ecgedge"}},\n  "Events": {"AsystoleS": 4, "TachyBpm": 160},\n}\n')
write("config", "replay.json", '{"Pipeline": {"Source": "Replay", "SampleRateHz": 500}, "Replay": {"Record": "Resources/mitdb/201", "Leads": "II,V1", "Loop": true},\n "Inference": {"Enabled": false, "TrustedKeys": ["models/keys/test-signing-key.pub.pem"]}, "Ads1298": {"DataRateHz": 500}}')
write("config", "empty.json", "{}")

# Alerts: the web page's fixture (a real alert from record 201), the same without its strip, and a minimal one.
alert = json.loads(read("web", "test", "fixtures", "alert-201-af-onset.json"))
strip = alert["strip"]
values = strip["data"].split(" ")[: 2 * 40]
strip["data"] = " ".join(values)
write("alert", "mitdb-201-af-onset-40-frames.json", json.dumps(alert, separators=(",", ":")))
no_strip = dict(alert)
no_strip.pop("strip")
write("alert", "no-strip.json", json.dumps(no_strip, separators=(",", ":")))
write("alert", "minimal.json", '{"id":"a","strip":{"periodMs":4,"factor":1,"unit":"uV","leads":["II"],"dimensions":1,"data":"1 2 3"}}')

# ADS1298 frames: [channels, output delta, scale selector] + frames (status word 1100 + lead-off bits, 24-bit codes).
def frame(channels, status, codes):
    b = bytes([(status >> 16) & 0xFF, (status >> 8) & 0xFF, status & 0xFF])
    for c in codes[:channels]:
        b += struct.pack(">i", c)[1:]
    return b

write("ads1298", "8ch-two-frames", bytes([8, 1, 0x55]) + frame(8, 0xC00000, [0, 1, -1, 0x7FFFFF, -0x800000, 1000, -1000, 42])
      + frame(8, 0xC0FF00, [5] * 8))
write("ads1298", "8ch-invalid-status", bytes([8, 1, 0xFF]) + frame(8, 0x000000, [7] * 8))
write("ads1298", "4ch-short-output", bytes([4, 0, 0x00]) + frame(4, 0xC00001, [1, 2, 3, 4]))
write("ads1298", "12ch", bytes([12, 2, 0xAA]) + frame(12, 0xC01234, list(range(-6, 6))))
