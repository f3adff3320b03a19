"""Where the paper's counter-fitted table is downloaded from (issue 12 item 6)."""

from __future__ import annotations

import contextlib
import inspect
import io

import pytest

from textattack_rift.errors import ResourceMissing
from textattack_rift.threat.synonyms import counterfitted

RELEASED = "https://raw.githubusercontent.com/dongxinshuai/RIFT-NeurIPS2021/main/attack/counterfitted_neighbors.json"


def test_download_address_is_the_released_file():
    # In the authors' repository the table lives under attack/, not at the root (the old address 404s).
    assert counterfitted.URL == RELEASED
    assert inspect.signature(counterfitted.download).parameters["url"].default == RELEASED


def test_a_download_with_another_sha256_is_refused_and_not_kept(monkeypatch, tmp_path):
    # No network here: the answer of the server is replaced by a file that is not the table.
    monkeypatch.setattr(counterfitted.network, "offline_forced", lambda: False)
    monkeypatch.setattr(counterfitted.network, "hub_reachable", lambda host=None: True)
    monkeypatch.setattr(
        counterfitted.urllib.request, "urlopen", lambda url, timeout: contextlib.closing(io.BytesIO(b'{"good": ["fine"]}'))
    )
    target = tmp_path / counterfitted.FILENAME
    with pytest.raises(ResourceMissing, match="sha256 mismatch"):
        counterfitted.download(target=target)
    assert not target.exists()
