"""The address guard's decisions, on IP literals and names that need no network."""

import pytest

from registry.netguard import AddressRefused, check_address, refusal_reason, resolve


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),
    ],
)
def test_guard_refuses_addresses_that_are_not_public(address, reason):
    assert refusal_reason(address, allow_private=False) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_guard_allows_public_addresses(address):
    assert refusal_reason(address, allow_private=False) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fc00::1", "100.64.0.1"])
def test_allowing_private_addresses_lifts_the_guard_for_them(address):
    assert refusal_reason(address, allow_private=True) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1", "ff02::1"])
def test_unspecified_and_multicast_stay_refused_when_private_is_allowed(address):
    assert refusal_reason(address, allow_private=True) is not None


def test_refusal_names_the_host_its_address_and_the_setting():
    with pytest.raises(AddressRefused) as caught:
        check_address("intranet.example", "10.0.0.7", allow_private=False)

    assert str(caught.value) == (
        "refused to connect to intranet.example (10.0.0.7): it is a private address; "
        "set OAWEB_HTTP_ALLOW_PRIVATE=true to allow private addresses"
    )


def test_resolve_refuses_a_name_for_a_loopback_address():
    with pytest.raises(AddressRefused, match=r"localhost \(127\.0\.0\.1\): it is a loopback address"):
        resolve("localhost", 80, allow_private=False)


def test_resolve_returns_vetted_addresses_when_allowed():
    assert "127.0.0.1" in resolve("localhost", 80, allow_private=True)


def test_resolve_of_an_ip_literal_needs_no_lookup():
    assert resolve("8.8.8.8", 443, allow_private=False) == ["8.8.8.8"]
