"""The demo's users and settings for consent, progressive profiling, keep-me-signed-in, expiring
activation links and step-up are described where people look: describe_org (printed at start-up
and on the simulator's home page) and the comments of demo_org.toml."""

from embedded.simulator import demo_org, describe_org
from embedded.simulator.org import DEMO_ORG_FILE


def test_describe_org_names_each_journey_and_its_user():
    text = describe_org(demo_org())
    lines = {line.split(":")[0].strip().split(" ")[0]: line for line in text.splitlines() if "@example.com" in line}
    assert "consent page at first sign-in" in lines["connie@example.com"]
    assert "Department (required)" in lines["petra@example.com"]
    assert "Stay signed in?" in lines["kim@example.com"]
    assert "already expired" in lines["sam@example.com"]
    assert "offline_access (optional)" in text and "orders:read (optional)" in text
    assert "urn:okta:loa:2fa:any" in text and "/_sim/sessions" in text and "Activation links work 7 days" in text


def test_the_org_file_comments_say_how_to_reach_them():
    comments = "\n".join(line for line in DEMO_ORG_FILE.read_text().splitlines() if "#" in line)
    for words in (
        "connie",
        "petra",
        "kim",
        "already expired",
        "acr_values",
        "post_auth_kmsi",
        "consent_pending",
        "progressive",
    ):
        assert words in comments, words
