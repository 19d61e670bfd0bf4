"""Credentials of the principals `mediaflow` added to a user pool, saved on this machine:
`<state>/devices/<target>/<name>.json` = `{"username", "password", "group"}`, each file 0600 in
folders 0700, so `mediaflow devices token` and `mediaflow upload --device` can sign in later.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mediaflow.devices.state import private_dir, state_dir, write_private
from mediaflow.localcloud.user_pool import Credentials


class CredentialStore:
    """The saved credentials of one target (the local serve, or a deployed stack)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def of(cls, project: Path, target_name: str) -> CredentialStore:
        return cls(state_dir(project) / "devices" / target_name)

    def path(self, username: str) -> Path:
        return self.folder / f"{username}.json"

    def save(self, credentials: Credentials) -> Path:
        # devices/ too: no one else can even list the names of the principals.
        private_dir(self.folder.parent)
        private_dir(self.folder)
        path = self.path(credentials.username)
        write_private(
            path,
            {
                "username": credentials.username,
                "password": credentials.password,
                "group": credentials.group,
            },
        )
        return path

    def load(self, username: str) -> Credentials:
        path = self.path(username)
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return Credentials(saved["username"], saved["password"], saved.get("group", ""))
        except FileNotFoundError:
            raise LookupError(
                f"no saved credentials of {username} ({path}); `mediaflow devices add "
                f"{username}` adds a device and saves them"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise LookupError(f"the credentials in {path} cannot be read: {error}") from None

    def delete(self, username: str) -> bool:
        """Forget a principal's credentials; False when none were saved."""
        try:
            self.path(username).unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(path.stem for path in self.folder.glob("*.json"))

    def clear(self) -> None:
        """Forget every saved credential of this target (a new local pool starts empty)."""
        shutil.rmtree(self.folder, ignore_errors=True)
