"""Downloads from qBittorrent into the library.

client.py talks to qBittorrent (through qbittorrent-api) and login.py keeps its failed logins below the
ban threshold; placement.py decides where a file goes and puts it there without ever leaving the library
folder or touching the source; media.py measures video durations; processing.py is the whole run of the
`process_downloads` job; scanning.py tracks which placed files a Stash scan still has to cover.
models.py holds the settings row and the ledger of handled files; the Downloads page and the qBittorrent
settings page are views.py, forms.py (with validation.py), admin.py and urls.py.
"""
