"""Rewrite the network part of a manifest's training_records (what `eval` and `analyze` use to say a figure comes from
training data) from validate.network_training_signatures, leaving every other byte of the manifest's content as it was,
and sign it.

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/rhythm/training_records.py MANIFEST [--data ../shared/data]
        [--sign-key KEY.pem]

For a manifest whose network's training data did not change but whose list did: on 2026-12-08 the list gained QTDB's
excerpts of MIT-BIH training records (sel102/104/114/116/223/230), which `eval` had reported as unseen.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from ecgnat import add_data_argument  # noqa: E402
from ecgnat import signing  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    add_data_argument(ap)
    signing.add_arguments(ap)
    a = ap.parse_args(argv)
    signing.check_arguments(ap, a)
    import validate
    with open(a.manifest) as f:
        m = json.load(f)
    old = m.get("training_records", {}).get("network", [])
    new = validate.network_training_signatures(a.data)
    m.setdefault("training_records", {})["network"] = new
    with open(a.manifest, "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    print(f"training_records.network: {len(old)} -> {len(new)} records; added {sorted(set(new) - set(old))}; "
          f"removed {sorted(set(old) - set(new))}")
    signing.finish(a.manifest, a.sign_key, a.sign_password_env)


if __name__ == "__main__":
    main()
