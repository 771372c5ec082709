"""Which roles the provider owns: exactly those `OIDC_ROLE_MAP` names, for any map and claims."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from admin_app.auth.sso import mapped_access


@given(
    current=st.frozensets(st.sampled_from(["Support", "Sales", "Auditor", "Ops"])),
    values=st.frozensets(st.sampled_from(["admins", "support", "sales", "x", "cn=a,o=b"])),
    role_map=st.dictionaries(
        st.sampled_from(["admins", "support", "sales", "cn=a,o=b"]),
        st.sampled_from(["Superuser", "Support", "Sales", "Ops"]),
    ),
)
def test_the_provider_owns_exactly_the_roles_its_map_names(current, values, role_map):
    names, superuser = mapped_access(current, values, role_map)
    managed = set(role_map.values())
    wanted = {role_map[v] for v in values if v in role_map}
    assert names - managed == current - managed, "roles the map does not name are kept"
    assert names & managed == wanted - {"Superuser"}, "mapped roles follow the claim values"
    assert "Superuser" not in names, "Superuser is the flag, never a role"
    if "Superuser" in managed:
        assert superuser == ("Superuser" in wanted)
    else:
        assert superuser is None, "without Superuser in the map the flag is not the provider's"
