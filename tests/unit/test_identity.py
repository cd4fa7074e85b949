"""nta_pipeline.identity: the authentication rules Django and Flask share (modes, header names, user names, the
ALB's signed token). The ALB's side is made by the tests (tests/fixtures/alb.py): a real key server over HTTP on
127.0.0.1 and tokens minted with `cryptography`; nothing of the verification is mocked."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nta_pipeline import identity
from nta_pipeline.errors import NtaError
from nta_pipeline.identity import (
    AuthConfig,
    AuthConfigError,
    KeysUnavailable,
    Unauthenticated,
    key_url,
    user_from,
    verify_alb_token,
)
from tests.fixtures.alb import ARN, OTHER_ARN, KeyServer, Signer, closed_port_template, pem, running_key_server

HEAVY = ("pandas", "numpy", "matplotlib", "requests", "xlsxwriter", "jwt", "cryptography")


def test_import_pulls_in_nothing_heavy() -> None:
    # A fresh interpreter: the Flask image has nta_pipeline without its dependencies, and both services import it.
    probe = f"import json, sys, nta_pipeline.identity\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_defaults_and_normalisation() -> None:
    assert (AuthConfig().mode, AuthConfig().header) == ("off", "X-Auth-Request-User")
    config = AuthConfig.from_env({"NTA_AUTH": " Header ", "NTA_AUTH_HEADER": " X-Forwarded-User "})
    assert (config.mode, config.header) == ("header", "X-Forwarded-User")
    assert AuthConfig.from_env({"NTA_AUTH": "", "NTA_AUTH_HEADER": ""}) == AuthConfig()


@pytest.mark.parametrize(("env", "message"), [
    ({"NTA_AUTH": "django"}, "NTA_AUTH must be off, header or alb, got 'django'"),
    ({"NTA_AUTH": "yes"}, "NTA_AUTH must be off, header or alb, got 'yes'"),
    ({"NTA_AUTH_HEADER": "X_Auth_User"}, "NTA_AUTH_HEADER must be a header name like X-Auth-Request-User"),
    ({"NTA_AUTH_HEADER": "X-User: admin"}, "NTA_AUTH_HEADER must be a header name"),
    ({"NTA_AUTH_HEADER": "-X"}, "NTA_AUTH_HEADER must be a header name"),
])  # fmt: skip
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(AuthConfigError, match=message) as caught:
        AuthConfig.from_env(env)
    assert isinstance(caught.value, NtaError)  # the services turn NtaError into their own configuration error


def _headers(values: dict[str, str]):
    lowered = {k.lower(): v for k, v in values.items()}
    return lambda name: lowered.get(name.lower())


def test_off_names_nobody_whatever_the_request_says() -> None:
    assert user_from(_headers({"X-Auth-Request-User": "alice"}), AuthConfig()) is None


def test_header_mode_takes_the_configured_header_only() -> None:
    config = AuthConfig(mode="header", header="X-Forwarded-User")
    assert user_from(_headers({"x-forwarded-user": "  alice@example.org "}), config) == "alice@example.org"
    with pytest.raises(Unauthenticated, match="no valid X-Forwarded-User header"):
        user_from(_headers({"X-Auth-Request-User": "alice"}), config)


@pytest.mark.parametrize("value", ["", "   ", "ali\tce", "a\x00b", "a\x7fb", "a\nb", "a" * 257])
def test_not_an_identity(value: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        user_from(_headers({"X-Auth-Request-User": value}), AuthConfig(mode="header"))
    assert value.strip() == "" or value not in str(caught.value)  # the reason never repeats the value


@pytest.mark.parametrize("value", ["a", "a" * 256, "Ünïcødé user", "CN=x, O=y"])
def test_identity(value: str) -> None:
    assert user_from(_headers({"X-Auth-Request-User": value}), AuthConfig(mode="header")) == value


# -- NTA_AUTH=alb: configuration ------------------------------------------------------------------------------

ALB_ENV = {"NTA_AUTH": "alb", "NTA_AUTH_ALB_ARN": ARN}


def test_alb_defaults_come_from_the_arn() -> None:
    config = AuthConfig.from_env(ALB_ENV)
    assert (config.mode, config.alb_region, config.alb_claim) == ("alb", "eu-west-1", "sub")
    assert key_url(config, "abc-123") == "https://public-keys.auth.elb.eu-west-1.amazonaws.com/abc-123"
    # GovCloud serves its keys elsewhere: the template is the knob
    gov = AuthConfig.from_env({**ALB_ENV, "NTA_AUTH_ALB_KEYS_URL": "https://s3-us-gov-west-1.amazonaws.com/"
                               "aws-elb-public-keys-prod-us-gov-west-1/{kid}"})  # fmt: skip
    assert key_url(gov, "k1").endswith("/aws-elb-public-keys-prod-us-gov-west-1/k1")


@pytest.mark.parametrize(("env", "message"), [
    ({"NTA_AUTH": "alb"}, "NTA_AUTH=alb needs NTA_AUTH_ALB_ARN"),
    ({**ALB_ENV, "NTA_AUTH_ALB_ARN": "my-alb"}, "NTA_AUTH_ALB_ARN must be an Application Load Balancer's ARN"),
    ({**ALB_ENV, "NTA_AUTH_ALB_ARN": ARN.replace("/app/", "/net/")}, "NTA_AUTH_ALB_ARN must be"),
    ({**ALB_ENV, "NTA_AUTH_ALB_REGION": "us-east-1"}, "set it to eu-west-1 or leave it empty"),
    ({**ALB_ENV, "NTA_AUTH_ALB_KEYS_URL": "http://keys.example.org/{kid}"}, "NTA_AUTH_ALB_KEYS_URL must be an https"),
    ({**ALB_ENV, "NTA_AUTH_ALB_KEYS_URL": "https://keys.example.org/key"}, "NTA_AUTH_ALB_KEYS_URL must be"),
    ({**ALB_ENV, "NTA_AUTH_ALB_KEYS_URL": "https://keys.example.org/{kid}/{user}"}, "NTA_AUTH_ALB_KEYS_URL must be"),
    ({**ALB_ENV, "NTA_AUTH_ALB_CLAIM": "e mail"}, "NTA_AUTH_ALB_CLAIM must name a claim"),
])  # fmt: skip
def test_bad_alb_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        AuthConfig.from_env(env)


def test_the_alb_settings_do_not_matter_in_other_modes() -> None:
    assert AuthConfig.from_env({"NTA_AUTH": "header", "NTA_AUTH_ALB_ARN": "my-alb"}).mode == "header"


# -- NTA_AUTH=alb: verification against a real key server -----------------------------------------------------


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    with running_key_server() as server:
        yield server


@pytest.fixture
def alb(key_server: KeyServer) -> tuple[AuthConfig, Signer, KeyServer]:
    config = AuthConfig(mode="alb", alb_arn=ARN, alb_keys_url=key_server.url_template, alb_timeout=0.5)
    return config, key_server.publish(Signer()), key_server


def _alb_user(config: AuthConfig, token: str | None) -> str | None:
    return user_from(_headers({"x-amzn-oidc-data": token} if token is not None else {}), config)


def test_a_padded_alb_token_names_its_user(alb) -> None:
    config, signer, server = alb
    token = signer.token({"sub": "alice@example.org"})
    assert "=" in token  # the ALB's form: every segment keeps its base64 padding (here at least one has some)
    assert _alb_user(config, token) == "alice@example.org"
    assert verify_alb_token(token, config)["email"] == "alice@example.org"
    assert server.requests == [f"/{signer.kid}"]  # fetched once, then cached
    assert _alb_user(config, signer.token({"sub": "bob"})) == "bob"
    assert server.requests == [f"/{signer.kid}"]


def test_an_unpadded_token_verifies_too(alb) -> None:
    config, signer, _ = alb
    assert _alb_user(config, signer.token(padded=False)) == "alice@example.org"


def test_the_claim_is_configurable(key_server: KeyServer) -> None:
    signer = key_server.publish(Signer())
    config = AuthConfig(mode="alb", alb_arn=ARN, alb_keys_url=key_server.url_template, alb_claim="email")
    assert _alb_user(config, signer.token({"sub": "x-123", "email": "carol@example.org"})) == "carol@example.org"
    with pytest.raises(Unauthenticated, match="no valid 'email' claim"):
        _alb_user(config, signer.token({"email": 42}))


@pytest.mark.parametrize(("make", "reason"), [
    (lambda s: None, "no X-Amzn-Oidc-Data header"),
    (lambda s: "", "no X-Amzn-Oidc-Data header"),
    (lambda s: "not a token", "is not a JWT"),
    (lambda s: s.token() + " ", "is not a JWT"),
    (lambda s: s.token().replace(".", "!.", 1), "is not a JWT"),
    (lambda s: s.token() + "." + s.token(), "is not a JWT"),
    (lambda s: "x" * 20_000, "longer than"),
    (lambda s: s.token(signer=OTHER_ARN), "not signed by NTA_AUTH_ALB_ARN's load balancer"),
    (lambda s: s.token(header={"signer": None}), "not signed by NTA_AUTH_ALB_ARN's load balancer"),
    (lambda s: s.token(key=ec.generate_private_key(ec.SECP256R1())), "bad signature"),
    (lambda s: s.token(expires_in=-60), "has expired"),
    (lambda s: s.token({"exp": int(time.time()) - 60}), "has expired"),  # the IdP's exp, the header's still valid
    (lambda s: s.token(header={"exp": int(time.time()) - 60}), "has expired"),  # and the other way round
    (lambda s: s.token(header={"exp": "soon"}), "malformed expiry"),
    (lambda s: s.hs256_forgery(), "is not signed with ES256"),
    (lambda s: s.unsigned(), "is not signed with ES256"),
    (lambda s: s.token(alg="ES384"), "is not signed with ES256"),
    (lambda s: s.token({"sub": "a" * 257}), "no valid 'sub' claim"),
    (lambda s: s.token({"sub": "ali\x00ce"}), "no valid 'sub' claim"),
    (lambda s: s.token({"sub": "ali\nce"}), "no valid 'sub' claim"),
    (lambda s: s.token({"sub": ""}), "no valid 'sub' claim"),
    (lambda s: s.token({"sub": None}), "no valid 'sub' claim"),  # no sub at all
    (lambda s: s.token({"sub": 42}), "InvalidSubjectError"),  # PyJWT's own check of sub
    (lambda s: s.token(kid="../../etc/passwd"), "no valid key id"),
    (lambda s: s.token(kid="a/b"), "no valid key id"),
    (lambda s: s.token(kid="a%2Fb"), "no valid key id"),
    (lambda s: s.token(kid="k" * 129), "no valid key id"),
    (lambda s: s.token(kid=7), "readable JWT header|no valid key id"),
    (lambda s: s.token(kid="unknown-kid"), "which the key server does not have"),
])  # fmt: skip
def test_refused(alb, make, reason: str) -> None:
    config, signer, server = alb
    token = make(signer)
    with pytest.raises(Unauthenticated, match=reason) as caught:
        _alb_user(config, token)
    if token:
        assert token not in str(caught.value) and token[:30] not in str(caught.value)  # never quoted
    # Nothing but the token's own kid (when it is a plain id) is ever asked of the key server.
    assert set(server.requests) <= {f"/{signer.kid}", "/unknown-kid"}


def test_a_token_without_any_expiry_is_refused(alb) -> None:
    config, signer, _ = alb
    token = signer.token({"exp": None}, header={"exp": None})
    with pytest.raises(Unauthenticated, match="no expiry"):
        _alb_user(config, token)


def test_a_key_server_that_is_down_is_a_503_not_a_401(alb) -> None:
    _, signer, _ = alb
    config = AuthConfig(mode="alb", alb_arn=ARN, alb_keys_url=closed_port_template(), alb_timeout=0.5)
    with pytest.raises(KeysUnavailable, match="did not answer .* HTTPS egress") as caught:
        _alb_user(config, signer.token())
    assert signer.kid in str(caught.value)  # the URL asked, so the operator can try it


def test_a_key_server_that_hangs_times_out_quickly(alb) -> None:
    config, signer, server = alb
    server.hang.set()
    started = time.monotonic()
    with pytest.raises(KeysUnavailable, match="within 0.5 s"):
        _alb_user(config, signer.token())
    assert time.monotonic() - started < 3


def test_a_key_server_answering_garbage_is_a_503(alb) -> None:
    config, signer, server = alb
    server.keys[signer.kid] = b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"
    with pytest.raises(KeysUnavailable, match="not a P-256 public key"):
        _alb_user(config, signer.token())
    server.keys[signer.kid] = pem(ec.generate_private_key(ec.SECP384R1()))  # a real key, of the wrong curve
    with pytest.raises(KeysUnavailable, match="not a P-256 public key"):
        _alb_user(config, signer.token())


def test_the_key_cache_is_bounded(key_server: KeyServer) -> None:
    config = AuthConfig(mode="alb", alb_arn=ARN, alb_keys_url=key_server.url_template)
    signers = [key_server.publish(Signer()) for _ in range(identity.KEY_CACHE_SIZE + 3)]
    for signer in signers:
        assert _alb_user(config, signer.token()) == "alice@example.org"
    assert len(identity._KEYS) <= identity.KEY_CACHE_SIZE
    key_server.requests.clear()
    _alb_user(config, signers[-1].token())  # recent: still cached
    _alb_user(config, signers[0].token())  # the oldest was evicted: fetched again
    assert key_server.requests == [f"/{signers[0].kid}"]
