"""Red-team pass on web_fetch: more spellings of local, private and metadata addresses.

Every host here is refused where the connection is made (before any byte is sent), without a
rule naming it; a wildcard rule does not open it either.
"""

from __future__ import annotations

import pytest
from allos_web.netguard import non_public_reason
from allos_web.tools import web_fetch

HOSTS = [
    "0x7f.1",
    "0177.0.0.1",
    "127.000.000.001",
    "0x7f000001",
    "017700000001",
    "[::1]",
    "[0:0:0:0:0:ffff:7f00:1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "LOCALHOST",
    "localhost.",
    "169.254.169.254",
    "0xa9fea9fe",
    "[::ffff:169.254.169.254]",
    "[fd00:ec2::254]",
    "[64:ff9b::a9fe:a9fe]",
    "10.0.0.1",
    "192.168.0.1",
    "100.100.100.200",
    "[fec0::1]",
    "[2002:7f00:1::1]",
    "[2002:a9fe:a9fe::1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
]


@pytest.mark.parametrize("host", HOSTS)
async def test_local_private_and_metadata_spellings_are_refused(host, make_context):
    result = await web_fetch.invoke({"url": f"http://{host}/latest/meta-data/"}, make_context())
    assert result.is_error
    assert "refused so that fetched pages cannot reach" in result.content, result.content


@pytest.mark.parametrize(
    "address",
    [
        "fec0::1",
        "fed0::5",
        "2002:7f00:1::1",
        "2002:a00:1::",
        "2002:a9fe:a9fe::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ],  # fmt: skip
)
def test_site_local_6to4_and_teredo_wrapping_a_private_address_are_not_public(address):
    assert non_public_reason(address) is not None


def test_public_addresses_stay_public():
    for address in ("93.184.216.34", "2606:4700::1111", "2002:5db8:d822::1"):
        assert non_public_reason(address) is None
