"""The sender reference data and the owner's declarations (`dmarc_model.senders.reference`, `owner`): how
domains, selectors and netblocks match (label suffix, anchored pattern, prefix), and a clear
configuration error for a file that does not read."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmarc_model.errors import ConfigurationError
from dmarc_model.senders.owner import OwnerDeclarations, load_owner
from dmarc_model.senders.reference import Netblocks, Reference, SuffixIndex, load_reference

SERVICE = {"id": "mail-co", "name": "Mail Co", "kind": "esp", "dkim_domains": ["mail.example"]}


@pytest.mark.parametrize(
    ("domain", "found"),
    [
        ("mail.example", "svc"),
        ("a.b.mail.example", "svc"),
        ("MAIL.EXAMPLE.", "svc"),
        ("xmail.example", None),
        ("mail.example.evil", None),
        ("example", None),
        ("", None),
        (None, None),
    ],
)
def test_a_domain_matches_by_label_suffix_never_by_substring(domain: str | None, found: str | None) -> None:
    assert SuffixIndex([("mail.example", "svc")]).find(domain) == found


def test_the_longest_listed_suffix_wins() -> None:
    index = SuffixIndex([("example", "broad"), ("mail.example", "narrow")])
    assert (index.find("a.mail.example"), index.find("b.example")) == ("narrow", "broad")


@given(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True))
@settings(max_examples=50, deadline=None, derandomize=True)
def test_a_selector_pattern_is_anchored(extra: str) -> None:
    reference = Reference.from_data({"service": [{**SERVICE, "selectors": ["k[1-3]"]}]})
    service = reference.services["mail-co"]
    assert service.selector_matches("K2")
    assert not service.selector_matches("k2" + extra)
    assert not service.selector_matches(extra + "k2")


def test_netblocks_answer_by_prefix_for_both_families_and_mapped_v4() -> None:
    blocks = Netblocks([("192.0.2.0/24", "a"), ("192.0.2.128/25", "b"), ("2001:db8::/32", "c")])
    assert blocks.services("192.0.2.200") == ["b", "a"]
    assert blocks.services("192.0.2.1") == ["a"]
    assert blocks.services("::ffff:192.0.2.1") == ["a"]
    assert blocks.services("2001:db8::1") == ["c"]
    assert blocks.services("198.51.100.1") == []
    assert blocks.services("not an ip") == []
    assert len(blocks) == 3


def test_the_shipped_reference_loads_with_its_version(tmp_path: Path) -> None:
    reference = load_reference()
    assert reference.version
    assert len(reference.services) >= 40
    assert all(platform.asns for platform in reference.platforms.values())


@pytest.mark.parametrize(
    "content",
    [
        "not toml [",
        '[[service]]\nid = "Bad Id"\nname = "x"\nkind = "esp"\n',
        '[[service]]\nid = "ok"\nname = "x"\nkind = "nope"\n',
        '[[service]]\nid = "ok"\nname = "x"\nkind = "esp"\nselectors = ["("]\n',
        '[[netblocks]]\nservice = "missing"\nranges = []\n',
        '[[service]]\nid = "ok"\nname = "x"\nkind = "esp"\n'
        '[[netblocks]]\nservice = "ok"\nranges = ["nope"]\n',
        '[[service]]\nname = "no id"\nkind = "esp"\n',
    ],
)
def test_rules_that_do_not_read_are_a_configuration_error_naming_the_file(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=r"sender rules .*rules\.toml"):
        load_reference(path)


def test_a_missing_rules_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="sender rules"):
        load_reference(tmp_path / "missing.toml")


def test_owner_ranges_hold_addresses_of_their_own_family_only() -> None:
    owner = OwnerDeclarations.from_data(
        {
            "services": ["sendgrid"],
            "own": [{"id": "hq", "name": "HQ", "ranges": ["192.0.2.0/24", "2001:db8::/48"]}],
        }
    )
    found = owner.own_servers("192.0.2.9")
    assert found is not None
    assert found[0].name == "HQ"
    assert owner.own_servers("2001:db8::1") is not None
    assert owner.own_servers("198.51.100.1") is None
    assert owner.own_servers("garbage") is None
    assert owner.services == frozenset({"sendgrid"})


@pytest.mark.parametrize(
    "content",
    [
        "[[own]]\nid = 'hq'\nranges = ['300.1.1.1/8']\n",
        "[[own]]\nid = 'hq'\n",
        "[own\n",
        "[[own]]\nid = 'Not ok'\nranges=[]\n",
    ],
)
def test_a_senders_file_that_does_not_read_is_a_configuration_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "senders.toml"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match="senders file"):
        load_owner(path)


def test_no_senders_file_declares_nothing() -> None:
    assert load_owner(None) == OwnerDeclarations()


@given(st.one_of(st.ip_addresses().map(str), st.text(max_size=45), st.from_regex(r"[0-9a-f:.%/ ]{0,45}")))
@settings(max_examples=500, deadline=None, derandomize=True)
def test_the_fast_address_parser_agrees_with_ipaddress(text: str) -> None:
    import ipaddress

    from dmarc_model.senders.addresses import address_number

    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        assert address_number(text) is None
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        assert address_number(text) == (4, int(address.ipv4_mapped))
    else:
        assert address_number(text) == (address.version, int(address))
