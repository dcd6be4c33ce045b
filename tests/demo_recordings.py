"""The demo org's recorded sign-ins that the package ships (embedded/testing/demo-recordings/), so
a host's tests replay them with the package alone:
`idx_replay.play_recorded(embedded.testing.DEMO_RECORDINGS, "password")`.

    .venv/bin/python tests/demo_recordings.py      record them again from the simulator

They are recorded as the project's own corpus is (tests/corpus.py: the same journeys, through the
app and the recording proxy, redacted), and the manifest's `people` names who each stand-in is:
the demo org's people are made up, so a host's test types `alice@example.com` and the replay
checks it exactly. tests/test_record.py replays them as the live journeys end.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from embedded.testing import DEMO_RECORDINGS
from embedded.testing.script import MANIFEST

# A password sign-in, a wrong password then the right one, an unknown person, an emailed code as a
# second factor, an Okta Verify push: what a host's own tests most often need.
SHIPPED = ("password", "password-wrong-then-right", "unknown-user", "email-code", "okta-verify-push")


async def record_shipped(out: Path) -> None:
    from corpus import record

    for old in sorted(out.glob("**/*"), reverse=True):
        old.rmdir() if old.is_dir() else old.unlink()
    _, recorder = await record(list(SHIPPED), out)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.json")))
    manifest["people"] = {k: v for k, v in sorted(recorder.stand_ins().items()) if k in text}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    asyncio.run(record_shipped(DEMO_RECORDINGS))
    print(f"{', '.join(SHIPPED)} recorded into {DEMO_RECORDINGS}")
