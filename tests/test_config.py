"""SiteConfig: the one place that reads the environment."""

import pytest

from experiment.config import ConfigError, SiteConfig


def test_defaults_put_sqlite_and_secret_in_data_dir(tmp_path):
    config = SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path)})
    assert config.data_dir == tmp_path
    assert config.database_url == f"sqlite:///{tmp_path / 'glyphlab.sqlite3'}"
    assert config.is_sqlite
    assert len(config.secret_key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_survives_restart(tmp_path):
    first = SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path)})
    second = SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_environment_overrides(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/glyphlab"
    config = SiteConfig.from_env(
        {
            "GLYPHLAB_DATA_DIR": str(tmp_path),
            "GLYPHLAB_DATABASE_URL": url,
            "GLYPHLAB_SECRET_KEY": "k" * 32,
        }
    )
    assert config.database_url == url
    assert not config.is_sqlite
    assert config.secret_key == "k" * 32


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GLYPHLAB_DATABASE_URL", "glyphlab.sqlite3", "is not a database URL"),
        ("GLYPHLAB_SECRET_KEY", "short", "at least 16 characters"),
    ],
)
def test_bad_settings_are_refused_with_a_message(tmp_path, variable, value, message):
    with pytest.raises(ConfigError, match=message):
        SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path), variable: value})


def test_config_is_frozen(tmp_path):
    config = SiteConfig.from_env({"GLYPHLAB_DATA_DIR": str(tmp_path)})
    with pytest.raises(AttributeError):
        config.secret_key = "x" * 20
