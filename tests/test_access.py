"""The operator's settings: what a step's caller may name."""

import os

import pytest

from llama_vision_block.access import (
    ALLOWED_BASE_URLS_ENV,
    ALLOWED_DEVICES_ENV,
    CUSTOM_PYTHON_ENV,
    MODEL_ROOTS_ENV,
    check_base_url,
    check_device,
    check_model_path,
    closed_server_defaults,
)
from llama_vision_block.errors import ConfigurationError


@pytest.mark.parametrize("setting", [None, "*", "http://a:1/v1,*"])
def test_unset_or_star_allows_any_http_url(setting, monkeypatch):
    if setting is None:
        monkeypatch.delenv(ALLOWED_BASE_URLS_ENV, raising=False)
    else:
        monkeypatch.setenv(ALLOWED_BASE_URLS_ENV, setting)
    assert check_base_url("http://anything:8000/v1") == "http://anything:8000/v1"


def test_a_list_allows_exactly_its_urls(monkeypatch):
    monkeypatch.setenv(ALLOWED_BASE_URLS_ENV, " http://gpu:8000/v1/ , https://llm.example/v1")
    assert check_base_url("http://gpu:8000/v1")
    assert check_base_url("https://llm.example/v1/")
    for other in ("http://gpu:8001/v1", "http://gpu:8000/v2", "https://gpu:8000/v1"):
        with pytest.raises(ConfigurationError, match=ALLOWED_BASE_URLS_ENV):
            check_base_url(other)


def test_empty_allows_none(monkeypatch):
    monkeypatch.setenv(ALLOWED_BASE_URLS_ENV, "")
    with pytest.raises(ConfigurationError, match="not one of the servers this server's operator allows"):
        check_base_url("http://localhost:8000/v1")


def test_model_paths_must_lie_in_a_root_even_through_a_symlink(tmp_path, monkeypatch):
    root, outside = tmp_path / "models", tmp_path / "elsewhere"
    (root / "llama").mkdir(parents=True)
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    monkeypatch.setenv(MODEL_ROOTS_ENV, os.pathsep.join([str(root), str(tmp_path / "more")]))
    assert check_model_path((root / "llama").resolve())
    for probe in (outside, (root / "escape").resolve(), (root / ".." / "elsewhere").resolve()):
        with pytest.raises(ConfigurationError) as caught:
            check_model_path(probe)
        assert str(probe) not in str(caught.value) and MODEL_ROOTS_ENV in str(caught.value)


def test_without_roots_any_path_is_the_scripts_to_choose(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_ROOTS_ENV, raising=False)
    assert check_model_path(tmp_path) == tmp_path


def test_devices(monkeypatch):
    monkeypatch.setenv(ALLOWED_DEVICES_ENV, "cuda:0, cuda:1")
    assert check_device("CUDA:1") == "CUDA:1"
    with pytest.raises(ConfigurationError, match=ALLOWED_DEVICES_ENV):
        check_device("cpu")
    monkeypatch.delenv(ALLOWED_DEVICES_ENV)
    assert check_device("cpu") == "cpu"


def test_closed_defaults_keep_what_the_operator_set():
    environ = {"LLAMA_VISION_OLLAMA_BASE_URL": "http://box:11434/v1", ALLOWED_DEVICES_ENV: "cuda:0", CUSTOM_PYTHON_ENV: "True"}
    assert closed_server_defaults(environ) == {ALLOWED_BASE_URLS_ENV: "http://box:11434/v1", MODEL_ROOTS_ENV: ""}
