"""Progressive profiling: after signing in, an existing user missing an attribute the profile
enrollment policy asks for at sign-in gets `profile-update` (posted to /idp/idx/enroll/new, as
Okta's responses show); what they give is kept on their profile. `skip` only when every attribute
asked is optional."""

from embedded.simulator import SIMULATOR, create_simulator_app, demo_org
from embedded.simulator.org import ProfileAttribute

from .conftest import Idx, field_messages, names, remediation

PETRA, PETRA_PASSWORD = "petra@example.com", "Petra-Passw0rd!"


def user_profile(doc: dict) -> dict:
    form = remediation(doc, "profile-update")
    box = next(f for f in form["value"] if f["name"] == "userProfile")
    return {f["name"]: f for f in box["form"]["value"]}


async def test_petra_is_asked_for_her_department_and_it_is_kept(client, state):
    flow = Idx(client)
    doc = await flow.password_signin(PETRA, PETRA_PASSWORD)
    assert names(doc) == ["profile-update"]  # required: no skip
    assert remediation(doc, "profile-update")["href"].endswith("/idp/idx/enroll/new")
    fields = user_profile(doc)
    assert list(fields) == ["department"]
    assert fields["department"]["label"] == "Department" and fields["department"]["required"] is True
    assert fields["department"]["maxLength"] == 50 and fields["department"]["desc"]
    assert doc["user"]["value"]["identifier"] == PETRA and "authenticators" not in doc

    doc = await flow.submit("profile-update", userProfile={"department": "  "})
    assert flow.status == 400 and "model.validation.field.blank" in field_messages(doc)
    doc = await flow.submit("profile-update", userProfile={"department": "x" * 51})
    assert flow.status == 400 and "model.validation.field.invalid" in field_messages(doc)
    doc = await flow.submit("profile-update", userProfile={"department": "Research", "isAdmin": True})
    assert "successWithInteractionCode" in doc
    assert state.org.user(PETRA).profile == {"department": "Research"}  # only what was asked is kept
    assert (await flow.exchange()).status == 200

    again = Idx(client)
    assert "successWithInteractionCode" in await again.password_signin(PETRA, PETRA_PASSWORD)


async def test_skip_is_offered_when_every_attribute_asked_is_optional(aiohttp_client):
    org = demo_org()
    org.profile_enrollment.attributes = [a for a in org.profile_enrollment.attributes if a.name != "department"]
    org.profile_enrollment.attributes.append(
        ProfileAttribute("nickname", "Nickname", registration=False, sign_in="optional")
    )
    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client)
    doc = await flow.password_signin(PETRA, PETRA_PASSWORD)
    assert names(doc) == ["profile-update", "skip"]
    assert user_profile(doc)["nickname"]["required"] is False
    doc = await flow.submit("skip")
    assert "successWithInteractionCode" in doc
    # Skipped, not answered: asked again at the next sign-in; blank answers are fine too.
    again = Idx(client)
    doc = await again.password_signin(PETRA, PETRA_PASSWORD)
    doc = await again.submit("profile-update", userProfile={"nickname": ""})
    assert "successWithInteractionCode" in doc


async def test_skip_is_refused_when_an_attribute_is_required(client):
    flow = Idx(client)
    doc = await flow.password_signin(PETRA, PETRA_PASSWORD)
    r = await client.post("/idp/idx/skip", json={"stateHandle": doc["stateHandle"]})
    assert r.status == 400


async def test_users_outside_the_progressive_groups_are_not_asked(client):
    flow = Idx(client)
    assert "successWithInteractionCode" in await flow.password_signin("alice@example.com", "Alice-Passw0rd!")


async def test_the_attribute_is_not_on_the_registration_form(idx):
    await idx.start()
    doc = await idx.submit("select-enroll-profile")
    profile = remediation(doc, "enroll-profile")["value"][0]["form"]["value"]
    assert "department" not in [f["name"] for f in profile]


async def test_a_built_in_attribute_works_too(aiohttp_client):
    """A required last name asked of a user who has none (as social sign-ins create them)."""
    org = demo_org()
    org.profile_enrollment.progressive_groups = []
    org.profile_enrollment.attributes = [a for a in org.profile_enrollment.attributes if a.name != "department"]
    next(a for a in org.profile_enrollment.attributes if a.name == "lastName").sign_in = "required"
    org.user("alice@example.com").last_name = ""
    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client)
    doc = await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    assert list(user_profile(doc)) == ["lastName"]
    doc = await flow.submit("profile-update", userProfile={"lastName": "Anders"})
    assert "successWithInteractionCode" in doc
    assert client.server.app[SIMULATOR].org.user("alice@example.com").last_name == "Anders"
    bob = Idx(client)  # everyone else has a last name already
    doc = await bob.password_signin("bob@example.com", "Bob-Passw0rd!")
    assert names(doc) == ["challenge-authenticator"]
