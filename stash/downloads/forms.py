"""The qBittorrent settings form, used by its Settings page and the admin.

The password is write-only: the input never renders a value, an empty submit keeps the stored password,
and "clear" removes it. The library folder must exist on this machine, and when the Stash path mappings
already translate it, "as Stash sees it" must agree with them.

Saving a changed host, port, username or password first logs in with them: a rejected login refuses the
save ("Nothing was saved"); qBittorrent not answering does not (it may simply be down now) and the page
says so. Logins go through the login gate, which may refuse to try at all after repeated failures; the
"count was reset" box is how a person tells it that qBittorrent's own count is back to zero.
"""

import os

from django import forms

from stash.connection import config
from stash.connection.models import StashSettings
from stash.connection.paths import PathMapper
from stash.downloads import login
from stash.downloads.errors import DownloadsError, LoginRefused, LoginRejected, NotConfigured
from stash.downloads.models import QBittorrentSettings

CONNECTION_FIELDS = ("host", "port", "username", "password")


def mask_password(password: str) -> str:
    return "••••••••" if password else ""


class QBittorrentSettingsForm(forms.ModelForm):
    password = forms.CharField(
        label="Password",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="qBittorrent's WebUI password. Leave empty to keep the stored one.",
    )
    clear_password = forms.BooleanField(label="Clear the stored password", required=False)
    reset_login_failures = forms.BooleanField(
        label="qBittorrent's failed-login count was reset",
        required=False,
        help_text="Tick only if qBittorrent was restarted, or a login from this machine succeeded since: "
        "qBittorrent bans an address for an hour after 5 failed logins.",
    )

    class Meta:
        model = QBittorrentSettings
        fields = [
            "host",
            "port",
            "username",
            "password",
            "category",
            "handled_tag",
            "failed_tag",
            "library_path",
            "library_stash_path",
            "link_mode",
            "min_video_seconds",
        ]
        labels = {
            "host": "qBittorrent host",
            "port": "Port",
            "username": "Username",
            "category": "Category",
            "handled_tag": "Handled tag",
            "failed_tag": "Failed tag",
            "library_path": "Library folder",
            "library_stash_path": "Library folder as Stash sees it",
            "link_mode": "Place files by",
            "min_video_seconds": "Minimum video duration (s)",
        }
        help_texts = {
            "host": "Where qBittorrent's WebUI answers, e.g. localhost or https://qbittorrent.lan. Empty: not used.",
            "port": "The WebUI port (qBittorrent's default is 8080).",
            "username": "The WebUI username. Empty: qBittorrent lets this machine in without a login.",
            "category": "Only finished torrents of this category are processed.",
            "handled_tag": "Added to a torrent whose files were placed; tagged torrents are not processed again.",
            "failed_tag": "Added to a torrent that could not be placed (the reason is on the Downloads page). "
            "Remove the tag in qBittorrent to have it tried again.",
            "library_path": "Folder on this machine that files are placed in, keeping each torrent's layout. "
            "Downloads must be visible here at the paths qBittorrent reports.",
            "library_stash_path": "The same folder as Stash sees it, e.g. /data/downloads. Empty: the same path "
            "(or what the Stash path mappings say).",
            "link_mode": "Hard links take no space; across file systems a copy is made anyway. "
            "Sources are never moved or deleted.",
            "min_video_seconds": "Videos shorter than this (measured with ffprobe) are not placed. 0: no minimum.",
        }
        widgets = {
            "host": forms.TextInput(attrs={"placeholder": "localhost", "spellcheck": "false"}),
            "username": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "library_path": forms.TextInput(attrs={"placeholder": "/srv/library/downloads", "spellcheck": "false"}),
            "library_stash_path": forms.TextInput(attrs={"placeholder": "/data/downloads", "spellcheck": "false"}),
        }

    def __init__(self, *args, check_login: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.check_login = check_login
        self.stored_password = self.instance.password
        self.connection_before = tuple(getattr(self.instance, name) for name in CONNECTION_FIELDS)
        self.target_before = self.instance.base_url if self.instance.host else ""
        self.password_given = False
        self.warning = ""
        self.probe = None
        self.fields["port"].widget.attrs.update(min="1", max="65535")
        self.fields["min_video_seconds"].widget.attrs.update(min="0")
        if self.stored_password:
            self.fields["password"].widget.attrs["placeholder"] = f"{mask_password(self.stored_password)} (stored)"
        else:
            self.fields.pop("clear_password")
        gate = login.state()
        if gate.failures < login.MAX_FAILED_LOGINS and not gate.banned_until:
            self.fields.pop("reset_login_failures")

    def clean_library_path(self):
        path = self.cleaned_data.get("library_path", "")
        stripped = (path or "").strip()
        if stripped.startswith("/") and not os.path.isdir(stripped):
            raise forms.ValidationError(f"The folder {stripped} does not exist on this machine.")
        return path

    def clean(self):
        cleaned = super().clean()
        typed = cleaned.get("password") or ""
        self.password_given = bool(typed or cleaned.get("clear_password"))
        if cleaned.get("clear_password"):
            if typed:
                self.add_error("password", "Type a new password or tick “Clear the stored password”, not both.")
            cleaned["password"] = ""
        elif not typed:
            cleaned["password"] = self.stored_password
        return cleaned

    def _post_clean(self):
        # The model's clean() normalises host and paths here; the checks below need those values.
        super()._post_clean()
        if not self._errors:
            self._check_stash_view()
        if not self._errors:
            self._check_password_target()
        if self.check_login and not self._errors and self._connection_changed():
            self._check_login()

    def _connection_changed(self) -> bool:
        after = tuple(getattr(self.instance, name) for name in CONNECTION_FIELDS)
        return bool(self.instance.host) and after != self.connection_before

    def _check_password_target(self):
        """The stored password goes only to the qBittorrent it was saved for (same scheme, host and
        port): a Test or save aimed elsewhere must type it again."""
        row = self.instance
        if self.password_given or not row.password or not row.host:
            return
        if not config.same_target(row.base_url, self.target_before):
            verb = "save" if self.check_login else "test"
            self.add_error("password", f"Type the password again to {verb} a different host or port.")

    def _check_stash_view(self):
        row = self.instance
        if not row.library_path:
            return
        mapped = PathMapper.from_list(StashSettings.load().path_mappings).to_stash(row.library_path)
        if mapped != row.library_path and row.library_stash_path and mapped != row.library_stash_path:
            self.add_error(
                "library_stash_path",
                f"The Stash path mappings already translate {row.library_path} to {mapped}. "
                "Leave this empty, or change the mapping on the Stash settings page.",
            )

    def _check_login(self):
        if self.cleaned_data.get("reset_login_failures"):
            login.reset()
        try:
            self.probe = _probe(self.instance)
        except LoginRejected as exc:
            self.add_error("password" if self.instance.username else "username", f"{exc}. Nothing was saved.")
        except LoginRefused as exc:
            self.add_error(None, f"{exc}. Nothing was saved.")
        except NotConfigured:
            pass
        except DownloadsError as exc:  # unreachable or erroring qBittorrent: save anyway, and say so
            self.warning = f"Saved, but qBittorrent could not be checked: {exc}"

    def test(self):
        """Try the submitted values without saving (Test button): ("ok", Probe) or ("error", message)."""
        if not self.instance.host:
            return "error", "No qBittorrent host to test: enter one."
        if self.cleaned_data.get("reset_login_failures"):
            login.reset()
        try:
            return "ok", _probe(self.instance)
        except DownloadsError as exc:
            return "error", str(exc)


def stash_view_of_library(row: QBittorrentSettings) -> str:
    """How Stash will see the library folder (what a scan of new downloads sends)."""
    if not row.library_path:
        return ""
    return config.path_mapper().to_stash(row.library_path)


def _probe(settings_row):
    # Imported on use: the admin imports this module in every process, and qbittorrent-api (with
    # requests) is worth loading only where qBittorrent is actually asked something.
    from stash.downloads.client import probe

    return probe(settings_row)
