"""`admin_app.crypto`: authenticated encryption under keys derived from SECRET_KEY."""

from __future__ import annotations

import pytest

from admin_app.crypto import Keyring, UndecryptableError, derive_key, is_encrypted, keyring
from tests.conftest import make_settings

OLD, NEW = "the-old-key-" + "o" * 40, "the-new-key-" + "n" * 40


def test_a_value_round_trips_and_is_not_readable_at_rest():
    ring = Keyring((NEW,), "totp-secret")
    sealed = ring.encrypt("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed and is_encrypted(sealed)
    assert ring.decrypt(sealed) == "JBSWY3DPEHPK3PXP"
    assert ring.encrypt("JBSWY3DPEHPK3PXP") != sealed, "each encryption has its own IV"
    assert not is_encrypted("JBSWY3DPEHPK3PXP"), "a base32 secret is told apart from a token"


def test_each_purpose_has_its_own_key():
    assert derive_key(NEW, "totp-secret") != derive_key(NEW, "other")
    assert derive_key(NEW, "totp-secret") != derive_key(OLD, "totp-secret")
    assert derive_key(NEW, "totp-secret") == derive_key(NEW, "totp-secret")
    sealed = Keyring((NEW,), "totp-secret").encrypt("x")
    with pytest.raises(UndecryptableError):
        Keyring((NEW,), "other").decrypt(sealed)


def test_a_tampered_value_fails_instead_of_decrypting_to_garbage():
    sealed = Keyring((NEW,), "p").encrypt("secret")
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    for bad in (flipped, sealed[:-4], "gAAAAAnonsense", ""):
        with pytest.raises(UndecryptableError):
            Keyring((NEW,), "p").decrypt(bad)


def test_fallback_keys_decrypt_and_the_current_key_encrypts():
    under_old = Keyring((OLD,), "p").encrypt("kept")
    rotating = Keyring((OLD, NEW), "p")
    assert rotating.decrypt(under_old) == "kept"
    assert not rotating.is_current(under_old)
    fresh = rotating.encrypt("new")
    assert rotating.is_current(fresh)
    assert Keyring((NEW,), "p").decrypt(fresh) == "new", "new values use the current key"
    with pytest.raises(UndecryptableError):
        Keyring((NEW,), "p").decrypt(under_old)


def test_settings_list_the_fallbacks_first_and_the_current_key_last():
    settings = make_settings(secret_key=NEW, secret_key_fallbacks=f" {OLD} ,, {NEW}")
    assert settings.secret_keys == [OLD, NEW], "blanks and the current key itself are dropped"
    assert OLD not in repr(settings), "keys never appear in a settings dump"
    assert keyring(settings, "p").decrypt(Keyring((OLD,), "p").encrypt("x")) == "x"
    assert make_settings(secret_key=NEW).secret_keys == [NEW]
