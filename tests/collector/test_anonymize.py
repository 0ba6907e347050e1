from __future__ import annotations

import pytest

from collector.anonymize import anonymize_ip


@pytest.mark.parametrize(
    ("address", "anonymized"),
    [
        ("198.51.100.23", "198.51.100.0"),
        ("10.0.0.255", "10.0.0.0"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1::"),
        ("::ffff:192.0.2.77", "192.0.2.0"),
        ("", ""),
        ("not an address", ""),
    ],
)
def test_the_last_octet_or_80_bits_are_zeroed(address, anonymized):
    assert anonymize_ip(address) == anonymized
