"""The stream pins cannot move without a CHANGELOG entry: the newest release's 'stream pins:' line
is the digest of the pins in the tree, and the version in fastinit/_version.py is that release's."""
import hashlib
import json
import re
from pathlib import Path

import fastinit

ROOT = Path(__file__).resolve().parents[1]


def pins_digest() -> str:
    from test_stream_pins import PINS
    return hashlib.sha256(json.dumps(PINS, sort_keys=True).encode()).hexdigest()[:16]


def test_newest_release_names_the_pins_in_the_tree_and_the_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## (\S+) .*?$\n\nstream pins: ([0-9a-f]{16})", text, re.M)
    assert releases, "CHANGELOG.md: no release with a 'stream pins:' line"
    version, digest = releases[0]
    assert version == fastinit.__version__, (version, fastinit.__version__)
    assert digest == pins_digest(), (
        f"tests/test_stream_pins.py's pins are {pins_digest()}, CHANGELOG.md's newest release says {digest}: "
        "a changed pin is a stream change, which needs a new major version and an entry under 'Streams'")
