"""Pseudonymous customer ids on the warning topic (streams.privacy)."""

from __future__ import annotations

import orjson
import pytest

from streams.privacy import Pseudonymiser, pseudonymiser
from streams.settings import Secret, Settings, SettingsError

WARNING = {
    "warning_id": "5b0c1f7a9e2d4c6b8a1e3f50",
    "customer_id": "alice@example.com",
    "state": "raised",
    "level": "warning",
    "risk_score": 0.8,
    "signals": [{"kind": "silence", "current": 40.0, "baseline": 7.0}],
}


def test_the_same_key_gives_the_same_pseudonym_and_another_key_another():
    one, same, other = Pseudonymiser(Secret("k1")), Pseudonymiser(Secret("k1")), Pseudonymiser(Secret("k2"))
    assert one.customer("alice@example.com") == same.customer("alice@example.com")
    assert one.customer("alice@example.com") != other.customer("alice@example.com")
    assert one.customer("alice@example.com") != one.customer("bob@example.com")


def test_a_pseudonym_does_not_contain_the_id_and_is_not_its_plain_hash():
    import hashlib

    pseudonym = Pseudonymiser(Secret("k1")).customer("alice@example.com")
    assert "alice" not in pseudonym
    assert pseudonym.startswith("p-")
    assert pseudonym[2:] not in hashlib.sha256(b"alice@example.com").hexdigest()


def test_a_warning_keeps_everything_but_its_customer_id_which_becomes_the_key():
    p = Pseudonymiser(Secret("k1"))
    key, value = p.warning(orjson.dumps(WARNING))
    hidden = orjson.loads(value)
    assert key.decode() == hidden["customer_id"] == p.customer("alice@example.com")
    assert b"alice" not in value
    assert {k: v for k, v in hidden.items() if k != "customer_id"} == {
        k: v for k, v in WARNING.items() if k != "customer_id"}, "warning_id, evidence and the rest untouched"


def test_no_key_means_clear_ids():
    assert pseudonymiser(Settings()) is None


def test_the_key_is_read_from_a_file_without_its_trailing_newline(tmp_path):
    path = tmp_path / "key"
    path.write_text("s3cret-key\n")
    from_file = pseudonymiser(Settings(pseudonymise_key_file=path))
    assert from_file.customer("c1") == Pseudonymiser(Secret("s3cret-key")).customer("c1")


def test_an_empty_or_missing_key_file_is_refused_naming_the_variable(tmp_path):
    empty = tmp_path / "key"
    empty.write_text("")
    with pytest.raises(SettingsError, match="CHURNWATCH_PSEUDONYMISE_KEY_FILE=.*empty"):
        pseudonymiser(Settings(pseudonymise_key_file=empty))
    with pytest.raises(SettingsError, match="CHURNWATCH_PSEUDONYMISE_KEY_FILE=.*cannot read"):
        pseudonymiser(Settings(pseudonymise_key_file=tmp_path / "missing"))


def test_a_key_and_a_key_file_together_are_refused(tmp_path):
    path = tmp_path / "key"
    path.write_text("k")
    with pytest.raises(SettingsError, match="CHURNWATCH_PSEUDONYMISE_KEY and CHURNWATCH_PSEUDONYMISE_KEY_FILE"):
        Settings.from_env({"CHURNWATCH_PSEUDONYMISE_KEY": "k", "CHURNWATCH_PSEUDONYMISE_KEY_FILE": str(path)})


def test_the_key_is_never_shown():
    settings = Settings.from_env({"CHURNWATCH_PSEUDONYMISE_KEY": "distinctive-key-4711"})
    assert "distinctive-key-4711" not in repr(settings)
    assert "distinctive-key-4711" not in str(settings.shown_env())
    assert "distinctive-key-4711" not in repr(pseudonymiser(settings))
